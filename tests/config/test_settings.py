"""Loading, the header, precedence, and bad input as clear usage errors."""

from __future__ import annotations

import os
import time

import pytest

ASYNC_SLEEP = """
import time, pytest

@pytest.mark.asyncio
async def test_a():
    time.sleep(0.001)
"""


def test_header_shows_mode_threshold_and_blockbuster(ag: pytest.Pytester) -> None:
    ag.makepyfile(test_it="def test_a(): pass")
    result = ag.runpytest("--asyncguard-stall-threshold=0.25")
    result.stdout.fnmatch_lines(
        ["asyncguard: mode strict, stall threshold 0.25 s, checks all, blockbuster 1.5.*"]
    )


def test_command_line_wins_over_ini(ag: pytest.Pytester) -> None:
    ag.makeini(
        """
        [pytest]
        asyncio_mode = strict
        asyncio_default_fixture_loop_scope = function
        asyncguard_mode = off
        """
    )
    ag.makepyfile(test_it=ASYNC_SLEEP)
    ag.runpytest().assert_outcomes(passed=1)
    ag.runpytest("--asyncguard-mode=strict").assert_outcomes(failed=1)


def test_pyproject_toml_ini(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        """
        [tool.pytest.ini_options]
        asyncio_mode = "strict"
        asyncio_default_fixture_loop_scope = "function"
        asyncguard_allow = ["time.sleep"]
        """
    )
    pytester.makepyfile(test_it=ASYNC_SLEEP)
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (
            ["--asyncguard-stall-threshold=soon"],
            "",
            "*--asyncguard-stall-threshold must be a positive number of seconds, got 'soon'*",
        ),
        (
            [],
            "asyncguard_stall_threshold = -1",
            "*ini key asyncguard_stall_threshold must be a positive number of seconds, got '-1'*",
        ),
        (
            [],
            "asyncguard_mode = loud",
            "*ini key asyncguard_mode got 'loud'; valid modes: strict, warn, off*",
        ),
        (
            [],
            "asyncguard_checks = blocking-calls",
            "*asyncguard_checks has unknown kind(s) 'blocking-calls'; valid kinds: blocking-call, "
            "loop-stall, never-awaited, task-exception, leaked-task*",
        ),
        (["--asyncguard-fail-under=120"], "", "*--asyncguard-fail-under must be a percentage*"),
        ([], "asyncguard_allow_in = broken.py:", "*asyncguard_allow_in entry 'broken.py:'*"),
    ],
)
def test_bad_settings_are_usage_errors(
    ag: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    ag.makeini(
        f"[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n{ini}\n"
    )
    ag.makepyfile(test_it="def test_a(): pass")
    result = ag.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: asyncguard: *{message.lstrip('*')}"])


def test_bad_mode_on_command_line_names_the_choices(ag: pytest.Pytester) -> None:
    ag.makepyfile(test_it="def test_a(): pass")
    result = ag.runpytest("--asyncguard-mode=loud")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*invalid choice: 'loud' (choose from *strict*warn*off*)"])


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("allow_blocking(42)", "*allow_blocking on test_it.py::test_a takes name patterns*42*"),
        (
            "allow_blocking('x', because='y')",
            "*allow_blocking on test_it.py::test_a got unknown keyword(s) because*",
        ),
        (
            "stall_threshold('slow')",
            "*stall_threshold on test_it.py::test_a must be a positive number of seconds*",
        ),
        ("stall_threshold()", "*stall_threshold on test_it.py::test_a takes exactly one argument*"),
        ("requirement()", "*requirement on test_it.py::test_a takes one or more requirement ids*"),
        ("requirement(7.1)", "*requirement on test_it.py::test_a got 7.1*"),
    ],
)
def test_bad_marker_arguments_stop_before_tests_run(
    ag: pytest.Pytester, marker: str, message: str
) -> None:
    ag.makepyfile(
        test_it=f"""
        import pytest

        @pytest.mark.{marker}
        def test_a():
            pass
        """
    )
    result = ag.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: asyncguard: *{message.lstrip('*')}"])


def test_markers_are_registered(ag: pytest.Pytester) -> None:
    result = ag.runpytest("--markers")
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.allow_blocking(*patterns, reason=None):*",
            "@pytest.mark.stall_threshold(seconds):*",
            "@pytest.mark.requirement(*ids):*",
        ]
    )


def _patch_targets() -> dict[str, object]:
    """Everything asyncguard patches, as the interpreter has it right now."""
    import asyncio.base_events
    import asyncio.events
    import builtins
    import socket
    import sqlite3
    import threading
    import warnings

    lock, rlock = type(threading.Lock()), type(threading.RLock())
    return {
        "time.sleep": time.sleep,
        "builtins.open": builtins.open,
        "os.stat": os.stat,
        "socket.getaddrinfo": socket.getaddrinfo,
        "sqlite3.Connection.execute": sqlite3.Connection.execute,
        "Lock.acquire": lock.acquire,
        "Lock.__enter__": lock.__enter__,
        "RLock.acquire": rlock.acquire,
        "Handle._run": asyncio.events.Handle._run,
        "BaseEventLoop.create_task": asyncio.base_events.BaseEventLoop.create_task,
        "BaseEventLoop.run_forever": asyncio.base_events.BaseEventLoop.run_forever,
        "_warn_unawaited_coroutine": getattr(warnings, "_warn_unawaited_coroutine", None),
        "_c_ leftovers": [n for n in vars(lock) if n.startswith("_c_")],
    }


def test_nothing_left_patched_after_the_session(ag: pytest.Pytester) -> None:
    before = _patch_targets()
    ag.makepyfile(test_it=ASYNC_SLEEP)
    ag.runpytest().assert_outcomes(failed=1)
    assert _patch_targets() == before


def test_autoload_disabled_then_p_asyncguard(
    ag: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    ag.makepyfile(test_it=ASYNC_SLEEP)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = ag.runpytest_subprocess("-p", "asyncguard", "-p", "asyncio", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["asyncguard: mode strict*", "*blocking call to time.sleep()*"])


def test_p_no_asyncguard_switches_it_off(ag: pytest.Pytester) -> None:
    ag.makepyfile(
        test_it="""
        import time, pytest
        ORIGINAL = time.sleep

        @pytest.mark.asyncio
        async def test_a():
            assert time.sleep is ORIGINAL
            time.sleep(0.001)
        """
    )
    result = ag.runpytest_subprocess("-p", "no:asyncguard")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("asyncguard:*")
