"""Notes on disk, one JSON file each, in a folder per user."""

from __future__ import annotations

import asyncio
import json
import os


async def save_note(root: str, user: str, note_id: str, body: str) -> str:
    """PROBLEM: os.makedirs and open() run on the event loop."""
    folder = os.path.join(root, user)
    os.makedirs(folder, exist_ok=True)  # PROBLEM: blocks the loop
    path = os.path.join(folder, f"{note_id}.json")
    with open(path, "w", encoding="utf-8") as f:  # PROBLEM: blocks the loop
        json.dump({"id": note_id, "body": body}, f)
    return path


def _write_note(root: str, user: str, note_id: str, body: str) -> str:
    folder = os.path.join(root, user)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{note_id}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"id": note_id, "body": body}, f)
    return path


async def save_note_in_thread(root: str, user: str, note_id: str, body: str) -> str:
    """OK: the same file work, in a worker thread."""
    return await asyncio.to_thread(_write_note, root, user, note_id, body)


def _read_note(path: str) -> dict[str, str]:
    with open(path, encoding="utf-8") as f:
        data: dict[str, str] = json.load(f)
    return data


async def load_note(path: str) -> dict[str, str]:
    """OK: reading happens in a worker thread too."""
    return await asyncio.to_thread(_read_note, path)
