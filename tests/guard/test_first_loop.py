"""asyncguard sleeps until an event loop first runs: what the test running then
must still get, whichever way the loop starts."""

from __future__ import annotations

import pytest


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_it=source)
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def test_sync_tests_run_without_per_test_hooks_until_needed(ag: pytest.Pytester) -> None:
    # A coroutine never awaited needs no loop: it wakes asyncguard in its own test.
    result = run(
        ag,
        """
        import time

        async def fetch():
            return 1

        def test_1_no_loop_yet(request):
            pm = request.config.pluginmanager
            assert pm.get_plugin("asyncguard-phases") is None
            assert pm.get_plugin("asyncguard-fixtures") is None
            assert not hasattr(time.sleep, "__wrapped__")

        def test_2_forgot_await():
            fetch()

        def test_3_awake(request):
            assert request.config.pluginmanager.get_plugin("asyncguard-phases") is not None
        """,
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_2_forgot_await _*",
            "asyncguard: coroutine fetch() was never awaited, created at test_it.py:13 *",
            "  phase: call*",
        ]
    )


def test_requirements_need_no_loop(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import pytest

        @pytest.mark.requirement("7.1")
        def test_sync():
            assert True
        """,
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*7.1*met*"])


def test_first_loop_in_asyncio_run_of_a_sync_test(ag: pytest.Pytester) -> None:
    # asyncio.run makes its task before the loop runs: the task made in it is tracked.
    result = run(
        ag,
        """
        import asyncio, time

        async def poll():
            while True:
                await asyncio.sleep(0.01)

        def test_first_loop():
            async def main():
                asyncio.create_task(poll())
                time.sleep(0.001)

            asyncio.run(main())
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "asyncguard: blocking call to time.sleep() at test_it.py:10 *",
            "asyncguard: task poll() leaked: created at test_it.py:9, *",
        ],
        consecutive=False,
    )


def test_first_loop_in_a_thread_the_test_started(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import asyncio, threading, time

        def test_first_loop_in_thread():
            async def main():
                time.sleep(0.001)

            worker = threading.Thread(target=asyncio.run, args=(main(),))
            worker.start()
            worker.join()
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["asyncguard: blocking call to time.sleep() at test_it.py:5 *"])


def test_first_loop_in_a_module_fixture_that_keeps_a_task(ag: pytest.Pytester) -> None:
    # The loop starts while the fixture is being set up: its task is the
    # fixture's, not the test's, even though asyncguard was asleep until then.
    result = run(
        ag,
        """
        import asyncio, pytest, pytest_asyncio

        async def poll():
            while True:
                await asyncio.sleep(0.01)

        @pytest_asyncio.fixture(scope="module", loop_scope="module")
        async def background():
            task = asyncio.create_task(poll())
            yield task
            task.cancel()

        @pytest.mark.asyncio(loop_scope="module")
        async def test_uses_background(background):
            await asyncio.sleep(0)

        @pytest.mark.asyncio(loop_scope="module")
        async def test_leaks():
            asyncio.create_task(poll())
            await asyncio.sleep(0)
        """,
    )
    result.assert_outcomes(passed=2, errors=1)  # a leak is found when the test ends
    result.stdout.fnmatch_lines(["asyncguard: task poll() leaked: created at test_it.py:19, *"])
    result.stdout.no_fnmatch_line("*created at test_it.py:9*")


def test_first_loop_keeps_its_tests_stall_threshold(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import asyncio, time, pytest

        def spin(seconds):
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                pass

        @pytest.mark.stall_threshold(0.4)
        @pytest.mark.asyncio
        async def test_first_loop():
            spin(0.2)  # over the default threshold, under the test's
            await asyncio.sleep(0)
            spin(0.5)
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["asyncguard: loop stall of 0.5? s in spin()*"])
    result.stdout.no_fnmatch_line("*loop stall of 0.2*")


def test_a_loop_run_while_collecting_is_no_tests(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import asyncio, time, pytest

        async def load():
            time.sleep(0.001)
            return 1

        VALUE = asyncio.run(load())  # at import, outside any test

        def test_sync():
            assert VALUE == 1

        @pytest.mark.asyncio
        async def test_async():
            time.sleep(0.001)
        """,
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*_ test_async _*", "asyncguard: blocking call to time.sleep() at test_it.py:14 *"]
    )
    result.stdout.no_fnmatch_line("*test_it.py:4*")
