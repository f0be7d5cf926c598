"""7.2: retries back off without blocking the loop."""

import pytest
from notes_service.retry import retry, retry_blocking

pytestmark = pytest.mark.requirement("7.2")


def flaky(failures):
    calls = []

    async def fetch():
        calls.append(1)
        if len(calls) <= failures:
            raise ConnectionError("reset by peer")
        return len(calls)

    return fetch


async def test_retry_blocking_recovers():
    assert await retry_blocking(flaky(2)) == 3


async def test_retry_recovers():
    assert await retry(flaky(2)) == 3
