"""An embedding cache in SQLite behind async methods."""

from __future__ import annotations

import asyncio
import json
import sqlite3


class EmbeddingCache:
    """PROBLEM: every method runs sqlite3 on the event loop."""

    def __init__(self, path: str = ":memory:") -> None:
        # check_same_thread=False: AsyncEmbeddingCache below uses worker threads.
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("CREATE TABLE IF NOT EXISTS emb (text TEXT PRIMARY KEY, vec TEXT)")

    async def get(self, text: str) -> list[float] | None:
        row = self.db.execute("SELECT vec FROM emb WHERE text = ?", (text,)).fetchone()
        return None if row is None else json.loads(row[0])

    async def put(self, text: str, vec: list[float]) -> None:
        self.db.execute("INSERT OR REPLACE INTO emb VALUES (?, ?)", (text, json.dumps(vec)))
        self.db.commit()


class AsyncEmbeddingCache(EmbeddingCache):
    """OK: the same queries, run in a worker thread with asyncio.to_thread()."""

    async def get(self, text: str) -> list[float] | None:
        return await asyncio.to_thread(self._get, text)

    async def put(self, text: str, vec: list[float]) -> None:
        await asyncio.to_thread(self._put, text, vec)

    def _get(self, text: str) -> list[float] | None:
        row = self.db.execute("SELECT vec FROM emb WHERE text = ?", (text,)).fetchone()
        return None if row is None else json.loads(row[0])

    def _put(self, text: str, vec: list[float]) -> None:
        self.db.execute("INSERT OR REPLACE INTO emb VALUES (?, ?)", (text, json.dumps(vec)))
        self.db.commit()
