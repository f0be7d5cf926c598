import os
import sqlite3
import time

import pytest


@pytest.mark.asyncio
@pytest.mark.allow_blocking("sqlite3.*", reason="the cache moves to aiosqlite in #123")
async def test_cache_warm_up() -> None:
    db = sqlite3.connect(":memory:")
    assert db.execute("SELECT 1").fetchone() == (1,)
    db.close()


@pytest.mark.asyncio
@pytest.mark.allow_blocking(reason="exercises the legacy sync client on purpose")
async def test_legacy_client() -> None:
    time.sleep(0.01)
    assert os.getcwd()


@pytest.mark.asyncio
@pytest.mark.stall_threshold(1.0)
async def test_report_rendering() -> None:
    sum(i * i for i in range(200_000))  # a known, accepted CPU step


@pytest.mark.asyncio
@pytest.mark.requirement("7.1", "7.3")
async def test_checkout_stays_responsive() -> None:
    assert True
