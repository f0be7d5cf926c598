"""7.1: a SQLite cache behind async methods."""

import pytest
from notes_service.cache import EmbeddingCache

pytestmark = pytest.mark.requirement("7.1")


@pytest.fixture
def cache():
    return EmbeddingCache()


async def test_cache_roundtrip(cache):
    await cache.put("hello", [0.5, 0.25])
    assert await cache.get("hello") == [0.5, 0.25]


@pytest.mark.allow_blocking("sqlite3.*", reason="in-memory cache; aiosqlite migration is NOTES-12")
async def test_cache_roundtrip_accepted(cache):
    await cache.put("hello", [0.5])
    assert await cache.get("hello") == [0.5]


async def test_threaded_cache_roundtrip(threaded_cache):
    await threaded_cache.put("hello", [0.5, 0.25])
    assert await threaded_cache.get("hello") == [0.5, 0.25]
