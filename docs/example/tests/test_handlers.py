"""7.5: handlers the framework requires to be async."""

import pytest
from notes_service.handlers import PingHandler, TagHandler, normalise_title, service_version

pytestmark = pytest.mark.requirement("7.5")


async def test_ping():
    assert await PingHandler().handle({"type": "ping"}) == "pong"


async def test_tags():
    assert await TagHandler().handle({"tags": "b, a,"}) == "a,b"


async def test_helpers():
    assert await normalise_title("  weekly   plan ") == "Weekly plan"
    assert await service_version() == "1.0"
