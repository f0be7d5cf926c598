"""7.1: file I/O in async handlers."""

import json

import pytest
from notes_service import legacy_export, storage

pytestmark = pytest.mark.requirement("7.1")


async def test_save_note(tmp_path):
    path = await storage.save_note(str(tmp_path), "ada", "n1", "buy milk")
    with open(path) as f:  # the test's own I/O: outside asyncguard_scope
        assert json.load(f)["body"] == "buy milk"


async def test_save_note_in_thread(tmp_path):
    path = await storage.save_note_in_thread(str(tmp_path), "ada", "n1", "buy milk")
    assert (await storage.load_note(path))["body"] == "buy milk"


async def test_legacy_export(tmp_path):
    # Blocks, but pytest.ini allows notes_service.legacy_export.* (asyncguard_allow_in).
    count = await legacy_export.export_csv(str(tmp_path / "out" / "notes.csv"), {"n1": "milk"})
    assert count == 1
