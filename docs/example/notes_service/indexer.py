"""Building the search index: a CPU-bound step."""

from __future__ import annotations

import asyncio
import hashlib
import time

#: The demo's stand-in for real tokenising and scoring work. It hashes for at
#: least this long, so that it stalls the loop on fast machines too.
WORK_SECONDS = 0.25


def _fingerprints(texts: list[str]) -> list[str]:
    out = []
    deadline = time.perf_counter() + WORK_SECONDS
    for text in texts:
        digest = text.encode()
        while True:
            for _ in range(2_000):
                digest = hashlib.sha256(digest).digest()
            if time.perf_counter() >= deadline:
                break
        out.append(digest.hex()[:16])
        deadline = time.perf_counter()  # only the first text is slow
    return out


async def build_index(texts: list[str]) -> dict[str, str]:
    """PROBLEM: the hashing runs on the loop; nothing else runs meanwhile."""
    return dict(zip(_fingerprints(texts), texts, strict=True))


async def build_index_in_thread(texts: list[str]) -> dict[str, str]:
    """OK: the CPU work runs in a worker thread and the loop stays responsive."""
    fingerprints = await asyncio.to_thread(_fingerprints, texts)
    return dict(zip(fingerprints, texts, strict=True))
