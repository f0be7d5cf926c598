"""allow_blocking markers, asyncguard_allow and asyncguard_allow_in; allowed still recorded."""

from __future__ import annotations

import json

import pytest


def test_marker_on_test_class_and_module(ag: pytest.Pytester) -> None:
    ag.makepyfile(
        test_it="""
        import os, time, pytest

        pytestmark = pytest.mark.allow_blocking("os.listdir", reason="legacy")

        @pytest.mark.asyncio
        @pytest.mark.allow_blocking("time.sleep", reason="SDK retry, tracked in MIG-12")
        async def test_names_what_it_allows():
            time.sleep(0.001)
            os.listdir(".")

        @pytest.mark.allow_blocking("time.*")
        class TestClass:
            @pytest.mark.asyncio
            async def test_in_class(self):
                time.sleep(0.001)

        @pytest.mark.asyncio
        @pytest.mark.allow_blocking("time.sleep")
        async def test_only_what_it_names():
            time.sleep(0.001)
            open(__file__).close()

        @pytest.mark.asyncio
        @pytest.mark.allow_blocking(reason="everything, stalls included")
        async def test_everything():
            open(__file__).close()
            end = time.perf_counter() + 0.2
            while time.perf_counter() < end:
                pass
        """
    )
    result = ag.runpytest("-p", "no:cacheprovider", "--asyncguard-json=out.json")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        ["FAILED test_it.py::test_only_what_it_names - asyncguard: blocking call to*"]
    )
    report = json.loads((ag.path / "out.json").read_text())
    allowed = {
        (t["nodeid"].split("::")[-1], v["name"], v["allowed"])
        for t in report["tests"]
        for v in t["violations"]
    }
    assert ("test_names_what_it_allows", "time.sleep", True) in allowed
    assert ("test_names_what_it_allows", "os.listdir", True) in allowed
    assert ("test_in_class", "time.sleep", True) in allowed
    assert ("test_only_what_it_names", "builtins.open", False) in allowed
    assert ("test_everything", "test_everything", True) in allowed  # the stall, allowed


def test_ini_allow_and_allow_in_and_unused_patterns(ag: pytest.Pytester) -> None:
    ag.makeini(
        """
        [pytest]
        asyncio_mode = strict
        asyncio_default_fixture_loop_scope = function
        asyncguard_allow =
            os.stat
            never.matches.*
        asyncguard_allow_in =
            legacy_sdk.*
            helpers.py:warm_cache
        """
    )
    ag.makepyfile(
        legacy_sdk="""
        import time
        def call():
            time.sleep(0.001)
        """,
        helpers="""
        import os
        def warm_cache():
            os.listdir(".")
        """,
    )
    ag.makepyfile(
        test_it="""
        import os, pytest, legacy_sdk, helpers

        @pytest.mark.asyncio
        @pytest.mark.allow_blocking("socket.*")
        async def test_a():
            os.stat(".")
            legacy_sdk.call()
            helpers.warm_cache()
        """
    )
    result = ag.runpytest("-p", "no:cacheprovider", "--asyncguard-json=out.json")
    result.assert_outcomes(passed=1)
    report = json.loads((ag.path / "out.json").read_text())
    violations = report["tests"][0]["violations"]
    assert {v["name"] for v in violations} == {"os.stat", "time.sleep", "os.listdir"}
    assert all(v["allowed"] for v in violations)
    unused = report["allowlist"]["unused"]
    assert "asyncguard_allow: never.matches.*" in unused
    assert any("socket.*" in u for u in unused)
    assert not any("os.stat" in u or "legacy_sdk" in u or "warm_cache" in u for u in unused)
