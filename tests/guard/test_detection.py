"""What the guard catches beyond plain blockbuster, and that catching changes nothing."""

from __future__ import annotations

import pytest


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_it=source)
    return pytester.runpytest("-p", "no:cacheprovider", *args)


@pytest.mark.parametrize(
    ("call", "name", "fix"),
    [
        ("socket.getaddrinfo('localhost', 80)", "socket.getaddrinfo", "await loop.getaddrinfo()"),
        ("socket.gethostbyname('localhost')", "socket.gethostbyname", "await loop.getaddrinfo()"),
        ("open(__file__).close()", "builtins.open", "aiofiles or await asyncio.to_thread()"),
        ("F.readline()", "io.TextIOWrapper.readline", "aiofiles*"),
        ("os.system('true')", "os.system", "await asyncio.create_subprocess_shell()"),
        ("select.select([], [], [], 0.001)", "select.select", "loop.add_reader()*"),
        ("subprocess.run(['true'])", "subprocess.run", "await asyncio.create_subprocess_exec()"),
        (
            "with contextlib.closing(sqlite3.connect(':memory:')) as db: db.execute('select 1')",
            "sqlite3.Connection.execute",
            "aiosqlite*",
        ),
        ("input()", "builtins.input", "await asyncio.to_thread(input)"),
    ],
)
def test_blocking_functions(ag: pytest.Pytester, call: str, name: str, fix: str) -> None:
    result = run(
        ag,
        f"""
        import contextlib, os, select, socket, sqlite3, subprocess, pytest
        F = open(__file__)

        @pytest.mark.asyncio
        async def test_a():
            {call}
        """,
        "-s",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"asyncguard: blocking call to {name}() at test_it.py:6 (use {fix})"]
    )


def test_contended_rlock_really_waits(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import threading, time, pytest

        @pytest.mark.asyncio
        async def test_contended():
            lock = threading.RLock()
            held = threading.Event()
            def holder():
                with lock:
                    held.set()
                    time.sleep(0.05)
            threading.Thread(target=holder).start()
            held.wait()  # already set or set within microseconds: not flagged
            lock.acquire()
            lock.release()

        @pytest.mark.asyncio
        async def test_uncontended():
            lock = threading.RLock()
            with lock:
                lock.acquire()
                lock.release()
            plain = threading.Lock()
            plain.acquire()
            plain.release()
        """,
    )
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "asyncguard: blocking call to threading.RLock.acquire() at test_it.py:13 "
            "(use asyncio.Lock*"
        ]
    )


def test_swallowed_logged_and_converted_errors_still_fail(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import asyncio, logging, time, pytest

        async def handler():
            try:
                time.sleep(0.001)
            except Exception:
                pass
            return 200

        async def server(route):
            try:
                return await route()
            except Exception:
                logging.exception("handler failed")
                return 500

        async def failing_route():
            time.sleep(0.001)
            raise RuntimeError("database is down")

        @pytest.mark.asyncio
        async def test_swallowed():
            assert await handler() == 200

        @pytest.mark.asyncio
        async def test_framework_turns_it_into_500():
            assert await server(failing_route) == 200

        @pytest.mark.asyncio
        async def test_task_nobody_awaits():
            async def fire():
                time.sleep(0.001)
            asyncio.get_running_loop().create_task(fire())
            await asyncio.sleep(0.01)
        """,
    )
    result.assert_outcomes(failed=3)
    # the test's own failure (the 500) comes after the blocking call that caused it
    result.stdout.fnmatch_lines(
        [
            "*test_framework_turns_it_into_500*",
            "asyncguard: blocking call to time.sleep() at test_it.py:18 *",
            "*assert 500 == 200*",
        ]
    )


def test_several_violations_each_site_once_with_count(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import os, time, pytest

        @pytest.mark.asyncio
        async def test_a():
            for _ in range(3):
                time.sleep(0.001)
            os.listdir(".")
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "asyncguard: blocking call to time.sleep() at test_it.py:6 *",
            "  phase: call, 3 times*",
            "asyncguard: blocking call to os.listdir() at test_it.py:7 *",
        ]
    )


def test_raising_guard_would_hang_but_recording_does_not(ag: pytest.Pytester) -> None:
    """A callback that blocks and then signals: raising would kill it and hang the wait."""
    result = run(
        ag,
        """
        import asyncio, time, pytest

        @pytest.mark.asyncio
        async def test_a():
            loop = asyncio.get_running_loop()
            done = loop.create_future()
            def cb():
                time.sleep(0.001)
                done.set_result(True)
            loop.call_soon(cb)
            assert await asyncio.wait_for(done, 5)
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["asyncguard: blocking call to time.sleep() at test_it.py:8 *"])


def test_forked_child_is_not_guarded(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import asyncio, os, time, pytest

        @pytest.mark.asyncio
        async def test_fork():
            pid = os.fork()
            if pid == 0:
                # the child inherits the running loop's thread state; it must not report
                time.sleep(0.001)
                os._exit(0)
            await asyncio.to_thread(os.waitpid, pid, 0)
        """,
    )
    result.assert_outcomes(passed=1)


def test_warn_mode_keeps_outcome(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import time, pytest

        @pytest.mark.asyncio
        async def test_a():
            time.sleep(0.001)
        """,
        "--asyncguard-mode=warn",
        "-W",  # the outer run's warnings-as-errors reach in-process runs
        "default::pytest_asyncguard.AsyncGuardWarning",
    )
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        ["*AsyncGuardWarning: asyncguard: blocking call to time.sleep() at test_it.py:5*"]
    )


def test_warn_mode_with_warnings_as_errors_fails_the_test(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import time, pytest

        @pytest.mark.asyncio
        async def test_a():
            time.sleep(0.001)
        """,
        "--asyncguard-mode=warn",
        "-W",
        "error::pytest_asyncguard.AsyncGuardWarning",
    )
    result.assert_outcomes(failed=1)


def test_off_mode_patches_nothing(ag: pytest.Pytester) -> None:
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
    result = ag.runpytest("--asyncguard-mode=off")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["asyncguard: off"])


def test_with_statement_on_a_contended_lock(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import threading, time, pytest

        LOCK = threading.Lock()

        @pytest.mark.asyncio
        async def test_with_lock():
            held = threading.Event()
            def holder():
                with LOCK:
                    held.set()
                    time.sleep(0.05)
            t = threading.Thread(target=holder)
            t.start()
            held.wait()
            with LOCK:
                pass
            t.join()
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["asyncguard: blocking call to threading.Lock.acquire() at test_it.py:15 *"]
    )


def test_names_imported_before_the_session_are_seen_and_restored(ag: pytest.Pytester) -> None:
    """A conftest imports the app before asyncguard patches: `from time import sleep`."""
    ag.makepyfile(
        legacy_app="""
        from time import sleep
        from os import listdir

        async def handler():
            sleep(0.001)
            listdir(".")
        """
    )
    ag.makeconftest(
        """
        import pytest
        import legacy_app  # imported while pytest loads conftests, before the session

        @pytest.fixture
        def anyio_backend():
            return "asyncio"
        """
    )
    ag.makepyfile(
        test_it="""
        import pytest, legacy_app

        @pytest.mark.asyncio
        async def test_a():
            await legacy_app.handler()
        """
    )
    result = ag.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "pytester", "--asyncguard-json=out.json"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "asyncguard: blocking call to time.sleep() at legacy_app.py:5 *",
            "asyncguard: blocking call to os.listdir() at legacy_app.py:6 *",
        ]
    )


def test_rebound_names_are_restored_after_the_session(ag: pytest.Pytester) -> None:
    import sys
    import time

    ag.makepyfile(
        early_mod="""
        from time import sleep
        """
    )
    ag.syspathinsert()
    import early_mod  # type: ignore[import-not-found]

    try:
        ag.makepyfile(
            test_it="""
            import pytest, early_mod

            @pytest.mark.asyncio
            async def test_a():
                early_mod.sleep(0.001)
            """
        )
        ag.runpytest("-p", "no:cacheprovider").assert_outcomes(failed=1)
        assert early_mod.sleep is time.sleep
    finally:
        sys.modules.pop("early_mod", None)


def test_sync_code_runs_unpatched_until_an_event_loop_starts(ag: pytest.Pytester) -> None:
    # The wrappers go in when the first asyncio loop starts: sync tests before
    # it pay nothing; from then on, every loop is watched, asyncio.run included.
    result = run(
        ag,
        """
        import asyncio, threading, time, pytest

        def test_1_sync_before_any_loop():
            assert not hasattr(time.sleep, "__wrapped__")
            assert not hasattr(type(threading.Lock()).__enter__, "__wrapped__")

        @pytest.mark.asyncio
        async def test_2_first_loop():
            time.sleep(0.001)

        def test_3_sync_after():
            assert hasattr(time.sleep, "__wrapped__")

            async def main():
                time.sleep(0.001)

            asyncio.run(main())
        """,
    )
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_2_first_loop _*",
            "asyncguard: blocking call to time.sleep() at test_it.py:9*",
            "*_ test_3_sync_after _*",
            "asyncguard: blocking call to time.sleep() at test_it.py:15*",
        ]
    )


def test_uvloop_blocking_calls(ag: pytest.Pytester) -> None:
    # uvloop's loops do not start through asyncio.BaseEventLoop.run_forever:
    # when the tests import it, the wrappers go in once collection is done.
    pytest.importorskip("uvloop")
    result = run(
        ag,
        """
        import time, uvloop

        def test_a():
            async def main():
                time.sleep(0.001)

            uvloop.run(main())
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["asyncguard: blocking call to time.sleep() at test_it.py:5*"])
