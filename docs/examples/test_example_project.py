"""Run the demo project (docs/example) the way its README does, and check what it shows.

The demo's tests fail under asyncguard on purpose, so the outer run never collects
them (see docs/conftest.py); this test runs them in a subprocess instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "example"


def run_demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_demo_fails_under_asyncguard_and_reports_everything(tmp_path: Path) -> None:
    md = tmp_path / "asyncguard-report.md"
    js = tmp_path / "asyncguard-report.json"
    result = run_demo(
        tmp_path, "-p", "asyncguard", f"--asyncguard-md={md}", f"--asyncguard-json={js}"
    )
    out = result.stdout
    assert result.returncode == 1, out + result.stderr

    # One line per problem the README describes.
    for line in (
        "asyncguard: blocking call to time.sleep() at notes_service/retry.py:",
        "asyncguard: blocking call to socket.getaddrinfo() at notes_service/sdk.py:",
        "asyncguard: blocking call to time.sleep() at notes_service/sdk.py:",
        "asyncguard: blocking call to sqlite3.Connection.execute() at notes_service/cache.py:",
        "asyncguard: blocking call to os.makedirs() at notes_service/storage.py:",
        "asyncguard: blocking call to builtins.open() at notes_service/storage.py:",
        "asyncguard: loop stall of ",
        "asyncguard: task Notifier._audit() leaked: created at notes_service/agent.py:",
        "asyncguard: task Notifier._push() raised ValueError",
        "asyncguard: coroutine Notifier._push() was never awaited",
        "async-without-await score:",
        "notes_service.handlers.normalise_title",
        "1/6 requirements met",
    ):
        assert line in out, f"{line!r} missing from the demo's output:\n{out}"
    assert "in _fingerprints() at notes_service/indexer.py:" in out
    assert "7 failed, 13 passed, 1 error" in out  # what docs/example/README.md says

    report = json.loads(js.read_text())
    outcomes = {t["nodeid"].rpartition("::")[2]: t["outcome"] for t in report["tests"]}
    failing = {
        "test_save_note",
        "test_cache_roundtrip",
        "test_embed",
        "test_retry_blocking_recovers",
        "test_build_index",
        "test_remember",
        "test_on_saved_callback",
    }
    for name in failing:
        assert outcomes[name] in ("failed", "error"), (name, outcomes[name])
    for name in set(outcomes) - failing:
        assert outcomes[name] == "passed", (name, outcomes[name], out)
    status = {r["id"]: r["status"] for r in report["requirements"]}
    assert status == {
        "7.1": "unmet",
        "7.2": "unmet",
        "7.3": "unmet",
        "7.4": "unmet",
        "7.5": "met",
        "7.6": "untested",
    }
    allowed = {
        (v["name"], v["where"].rpartition(":")[0])
        for t in report["tests"]
        for v in t["violations"]
        if v["allowed"]
    }
    assert ("builtins.open", "notes_service/legacy_export.py") in allowed
    assert ("sqlite3.Connection.execute", "notes_service/cache.py") in allowed
    functions = {f["qualname"]: f for f in report["async_functions"]["functions"]}
    assert functions["notes_service.handlers.Handler.handle"]["allowed"] == "protocol"
    assert functions["notes_service.handlers.PingHandler.handle"]["allowed"] == "comment"
    assert functions["notes_service.handlers.TagHandler.handle"]["allowed"] == "config"
    assert functions["notes_service.handlers.service_version"]["allowed"] is None
    assert md.read_text().startswith("## asyncguard")


def test_demo_passes_without_asyncguard(tmp_path: Path) -> None:
    result = run_demo(tmp_path, "-p", "no:asyncguard", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "20 passed" in result.stdout
