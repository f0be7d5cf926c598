"""7.1: a synchronous SDK called through a circuit breaker."""

import pytest

pytestmark = pytest.mark.requirement("7.1")


async def test_embed(service):
    vec = await service.embed("hello")
    assert len(vec) == 8
    assert await service.embed("hello") == vec  # the second call hits the cache
    assert service.client.calls == 1


async def test_embed_in_thread(service):
    assert len(await service.embed_in_thread("hello")) == 8
