"""Under pytest-xdist every violation, requirement row and async-without-await row
is the same as in a serial run: workers detect, the controller merges and reports."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("xdist")

INI = """
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
asyncguard_source = app
asyncguard_allow = os.listdir
asyncguard_requirements =
    7.1: Identify blocking I/O in async functions
    7.2: No loop stalls
    7.3: Declared, never tested
"""

APP = """
import asyncio, os, time

async def handler():
    time.sleep(0.001)

async def no_await():
    return 1

async def clean():
    await asyncio.sleep(0)
"""

TESTS = """
import asyncio, os, time, pytest
from app.service import handler, no_await, clean

def crunch(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass

@pytest.mark.requirement("7.1")
@pytest.mark.asyncio
async def test_handler():
    await handler()

@pytest.mark.requirement("7.1")
@pytest.mark.asyncio
async def test_allowed_listdir(tmp_path):
    os.listdir(tmp_path)
    assert await no_await() == 1

@pytest.mark.requirement("7.2")
@pytest.mark.asyncio
async def test_stall():
    crunch(0.15)

@pytest.mark.requirement("7.2")
@pytest.mark.asyncio
async def test_clean():
    await clean()

@pytest.mark.asyncio
async def test_leak():
    asyncio.create_task(asyncio.sleep(10))
    await asyncio.sleep(0)

@pytest.mark.parametrize("n", range(6))
def test_sync(n):
    time.sleep(0.001)
"""


def _normalise(report: dict[str, Any]) -> dict[str, Any]:
    tests = sorted(
        (
            t["nodeid"],
            t["outcome"],
            tuple(t["requirements"]),
            tuple(
                sorted(
                    (v["kind"], v["name"], v["where"], v["phase"], v["allowed"])
                    for v in t["violations"]
                )
            ),
        )
        for t in report["tests"]
    )
    functions = report["async_functions"]["functions"] if report["async_functions"] else []
    return {
        "tests": tests,
        "requirements": [
            (r["id"], r["tests"], r["passed"], r["failed"], r["violations"], r["status"])
            for r in report["requirements"]
        ],
        "functions": sorted(
            (f["qualname"], f["has_await"], f["executed"], f["await_executed"]) for f in functions
        ),
        "unused": report["allowlist"]["unused"],
    }


def test_xdist_report_equals_serial(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # when this suite runs under coverage, its subprocesses must not be measured
    # by it: asyncguard would read that measurement instead of its own
    for name in ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG", "COV_CORE_SOURCE"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeini(INI)
    pytester.mkpydir("app")
    pytester.makepyfile(**{"app/service": APP, "test_it": TESTS})
    serial = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--asyncguard-json=serial.json"
    )
    serial.assert_outcomes(passed=9, failed=2, errors=1)
    parallel = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "2", "--asyncguard-json=parallel.json"
    )
    parallel.assert_outcomes(passed=9, failed=2, errors=1)
    a = _normalise(json.loads((pytester.path / "serial.json").read_text()))
    b = _normalise(json.loads((pytester.path / "parallel.json").read_text()))
    assert a == b
    kinds = {v[0] for t in a["tests"] for v in t[3]}
    assert kinds == {"blocking-call", "loop-stall", "leaked-task"}
    assert ("7.3", 0, 0, 0, 0, "untested") in a["requirements"]
    assert a["functions"], "the async-without-await rows came through"
