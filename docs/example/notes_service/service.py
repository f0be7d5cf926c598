"""NotesService: the async API the agent talks to."""

from __future__ import annotations

import asyncio

from notes_service import storage
from notes_service.breaker import CircuitBreaker
from notes_service.cache import EmbeddingCache
from notes_service.sdk import EmbeddingClient


class NotesService:
    def __init__(self, root: str, cache: EmbeddingCache | None = None) -> None:
        self.root = root
        self.cache = cache or EmbeddingCache()
        self.client = EmbeddingClient()
        self.breaker = CircuitBreaker()

    async def embed(self, text: str) -> list[float]:
        """PROBLEM: the sync SDK runs on the loop, through the breaker."""
        cached = await self.cache.get(text)
        if cached is not None:
            return cached
        vec = self.breaker.call(self.client.embed, text)  # PROBLEM: blocks the loop
        await self.cache.put(text, vec)
        return vec

    async def embed_in_thread(self, text: str) -> list[float]:
        """OK: the breaker and the SDK run in a worker thread."""
        return await asyncio.to_thread(self.breaker.call, self.client.embed, text)

    async def add_note(self, user: str, note_id: str, body: str) -> str:
        path = await storage.save_note(self.root, user, note_id, body)
        await self.embed(body)
        return path
