import asyncio
import time

import pytest


async def fetch_profile(user_id: int) -> dict[str, int]:
    time.sleep(0.05)  # a slow call: the whole event loop waits here
    return {"id": user_id}


async def fetch_profile_fixed(user_id: int) -> dict[str, int]:
    await asyncio.sleep(0.05)  # other tasks run meanwhile
    return {"id": user_id}


@pytest.mark.asyncio
async def test_fetch_profile() -> None:
    assert (await fetch_profile(7))["id"] == 7


@pytest.mark.asyncio
async def test_fetch_profile_fixed() -> None:
    assert (await fetch_profile_fixed(7))["id"] == 7
