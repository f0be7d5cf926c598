"""7.3: CPU-heavy steps keep the loop responsive."""

import pytest
from notes_service.indexer import build_index, build_index_in_thread

pytestmark = pytest.mark.requirement("7.3")
NOTES = ["buy milk", "call Ada", "ship the release"]


async def test_build_index():
    assert sorted((await build_index(NOTES)).values()) == sorted(NOTES)


async def test_build_index_in_thread():
    assert sorted((await build_index_in_thread(NOTES)).values()) == sorted(NOTES)


@pytest.mark.stall_threshold(2.0)
async def test_build_index_nightly_batch():
    # The nightly batch job runs alone on its loop: a longer stall is fine there.
    assert len(await build_index(NOTES)) == 3
