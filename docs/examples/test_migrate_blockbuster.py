# Before: blockbuster as an autouse fixture in conftest.py (it raises BlockingError
# at the blocking call). After: delete this fixture and run pytest -p asyncguard.
import asyncio
from collections.abc import Iterator

import pytest
from blockbuster import BlockBuster, blockbuster_ctx


@pytest.fixture(autouse=True)
def blockbuster() -> Iterator[BlockBuster]:
    with blockbuster_ctx() as bb:
        yield bb


@pytest.mark.asyncio
async def test_ping() -> None:
    await asyncio.sleep(0)
