"""Retrying flaky calls with exponential backoff."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def retry_blocking(
    fn: Callable[[], Awaitable[T]], attempts: int = 3, base_delay: float = 0.01
) -> T:
    """PROBLEM: the backoff sleeps with time.sleep, so the whole loop sleeps."""
    for attempt in range(attempts):
        try:
            return await fn()
        except ConnectionError:
            if attempt == attempts - 1:
                raise
            time.sleep(base_delay * 2**attempt)  # PROBLEM: blocks the loop
    raise AssertionError("unreachable")


async def retry(fn: Callable[[], Awaitable[T]], attempts: int = 3, base_delay: float = 0.01) -> T:
    """OK: the same loop with await asyncio.sleep()."""
    for attempt in range(attempts):
        try:
            return await fn()
        except ConnectionError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(base_delay * 2**attempt)  # OK: other tasks run meanwhile
    raise AssertionError("unreachable")
