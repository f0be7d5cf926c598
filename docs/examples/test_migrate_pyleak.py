# Before: pyleak's marker on each test. After: drop the marker; asyncguard checks
# every test (leaked-task, task-exception, loop-stall, blocking-call).
import asyncio

import pytest

pytest.importorskip("pyleak")


@pytest.mark.no_leaks("tasks", "blocking")
@pytest.mark.asyncio
async def test_ping() -> None:
    await asyncio.sleep(0)
