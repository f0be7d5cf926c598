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


def test_nothing_left_patched_after_the_session(ag: pytest.Pytester) -> None:
    import asyncio.events
    import builtins
    import socket
    import threading

    before = (
        time.sleep,
        builtins.open,
        os.stat,
        socket.getaddrinfo,
        threading.Lock().acquire.__func__
        if hasattr(threading.Lock().acquire, "__func__")
        else None,
        asyncio.events.Handle._run,
    )
    lock_acquire = type(threading.Lock()).acquire
    ag.makepyfile(test_it=ASYNC_SLEEP)
    ag.runpytest().assert_outcomes(failed=1)
    after = (
        time.sleep,
        builtins.open,
        os.stat,
        socket.getaddrinfo,
        threading.Lock().acquire.__func__
        if hasattr(threading.Lock().acquire, "__func__")
        else None,
        asyncio.events.Handle._run,
    )
    assert before == after
    assert type(threading.Lock()).acquire is lock_acquire


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
