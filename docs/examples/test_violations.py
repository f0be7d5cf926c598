import asyncio
import hashlib

import pytest


async def crunch() -> str:
    digest = b"seed"
    for _ in range(400_000):  # CPU work: nothing else runs on the loop meanwhile
        digest = hashlib.sha256(digest).digest()
    return digest.hex()


async def refresh() -> None:
    await asyncio.sleep(0)


async def fail() -> None:
    raise ConnectionError("upstream went away")


@pytest.mark.asyncio
@pytest.mark.stall_threshold(0.01)
async def test_loop_stall() -> None:
    assert len(await crunch()) == 64


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
async def test_never_awaited() -> None:
    refresh()  # the missing await: refresh() never runs


@pytest.mark.asyncio
async def test_task_exception() -> None:
    asyncio.create_task(fail())  # noqa: RUF006 - nobody keeps or awaits this task
    await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_leaked_task() -> None:
    asyncio.create_task(asyncio.sleep(10))  # noqa: RUF006 - still pending at the end
