"""Every place an event loop runs during a test: a blocking call there fails the test."""

from __future__ import annotations

import json

import pytest

FIRST_LINE = (
    "asyncguard: blocking call to time.sleep() at test_it.py:{line} (use await asyncio.sleep())"
)


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_it=source)
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def test_async_test(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import time, pytest

        @pytest.mark.asyncio
        async def test_a():
            time.sleep(0.001)
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([FIRST_LINE.format(line=5), "*phase: call*"])
    result.stdout.fnmatch_lines(["FAILED test_it.py::test_a - asyncguard: blocking call*"])


@pytest.mark.parametrize("scope", ["function", "class", "module", "package", "session"])
def test_async_fixture_every_scope(ag: pytest.Pytester, scope: str) -> None:
    ag.mkpydir("pkg")
    ag.makepyfile(
        **{
            "pkg/test_it": f"""
            import time, pytest, pytest_asyncio

            @pytest_asyncio.fixture(scope="{scope}", loop_scope="{scope}")
            async def slow():
                time.sleep(0.001)
                yield 1

            class TestIt:
                @pytest.mark.asyncio(loop_scope="{scope}")
                async def test_first(self, slow):
                    pass

                @pytest.mark.asyncio(loop_scope="{scope}")
                async def test_second(self, slow):
                    pass
            """
        }
    )
    result = ag.runpytest("-p", "no:cacheprovider")
    if scope == "function":
        result.assert_outcomes(errors=2)
    else:  # set up once, in the setup of the first test that uses it
        result.assert_outcomes(errors=1, passed=1)
        result.stdout.fnmatch_lines(["ERROR pkg/test_it.py::TestIt::test_first - asyncguard: *"])
    result.stdout.fnmatch_lines(
        [
            "asyncguard: blocking call to time.sleep() at pkg/test_it.py:5 *",
            "*phase: setup*",
        ]
    )


def test_async_fixture_teardown(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import time, pytest, pytest_asyncio

        @pytest_asyncio.fixture
        async def res():
            yield 1
            time.sleep(0.001)

        @pytest.mark.asyncio
        async def test_a(res):
            pass
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([FIRST_LINE.format(line=6), "*phase: teardown*"])


def test_anyio_test(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import time, anyio, pytest

        @pytest.mark.anyio
        async def test_a():
            async def child():
                time.sleep(0.001)
            async with anyio.create_task_group() as tg:
                tg.start_soon(child)
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([FIRST_LINE.format(line=6)])


def test_asyncio_run_and_run_until_complete_in_sync_test(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import asyncio, time

        async def main():
            time.sleep(0.001)

        def test_run():
            asyncio.run(main())

        def test_run_until_complete():
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(main())
            finally:
                loop.close()

        def test_sync_is_fine():
            time.sleep(0.001)
        """,
    )
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines([FIRST_LINE.format(line=4)])


def test_tasks_callbacks_context_managers_generators(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import asyncio, time, pytest

        def cb():
            time.sleep(0.001)

        class Res:
            async def __aenter__(self):
                time.sleep(0.001)
            async def __aexit__(self, *exc):
                pass

        async def agen():
            time.sleep(0.001)
            yield 1

        @pytest.mark.asyncio
        async def test_task():
            async def work():
                time.sleep(0.001)
            await asyncio.create_task(work())

        @pytest.mark.asyncio
        async def test_call_soon_and_later():
            loop = asyncio.get_running_loop()
            loop.call_soon(cb)
            loop.call_later(0.001, cb)
            await asyncio.sleep(0.01)

        @pytest.mark.asyncio
        async def test_async_context_manager():
            async with Res():
                pass

        @pytest.mark.asyncio
        async def test_async_generator():
            assert [x async for x in agen()] == [1]
        """,
    )
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(
        [
            "*test_task*",
            FIRST_LINE.format(line=19),
            "*test_call_soon_and_later*",
            FIRST_LINE.format(line=4),
            "*phase: call, 2 times*",
            "*test_async_context_manager*",
            FIRST_LINE.format(line=8),
            "*test_async_generator*",
            FIRST_LINE.format(line=13),
        ]
    )


def test_loop_in_a_thread_the_test_started(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import asyncio, threading, time

        async def main():
            time.sleep(0.001)

        def test_thread():
            t = threading.Thread(target=asyncio.run, args=(main(),))
            t.start()
            t.join()
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([FIRST_LINE.format(line=4)])


def test_each_phase_reports_its_own_calls(ag: pytest.Pytester) -> None:
    # warn mode: every phase runs, each with its own blocking call
    ag.makepyfile(
        test_it="""
        import time, pytest, pytest_asyncio

        @pytest_asyncio.fixture
        async def res():
            time.sleep(0.001)
            yield 1
            time.sleep(0.001)

        @pytest.mark.asyncio
        async def test_a(res):
            time.sleep(0.001)
        """
    )
    # a subprocess: warn mode's warnings must not meet this process's filters
    result = ag.runpytest_subprocess(
        "-p", "no:cacheprovider", "--asyncguard-mode=warn", "--asyncguard-json=out.json"
    )
    result.assert_outcomes(passed=1)
    data = json.loads((ag.path / "out.json").read_text())
    found = [(v["phase"], v["where"]) for v in data["tests"][0]["violations"]]
    assert found == [
        ("setup", "test_it.py:5"),
        ("call", "test_it.py:11"),
        ("teardown", "test_it.py:7"),
    ]


def test_results_are_recorded_from_the_first_report_that_needs_them(
    ag: pytest.Pytester,
) -> None:
    # Clean passing tests are not recorded without a JSON/Markdown report or a
    # baseline; a failure or a violation starts the recording, and its test is
    # complete: here a call that failed, then a violation in teardown (warn mode).
    ag.makeconftest(
        """
        import pytest

        def pytest_sessionfinish(session):
            pm = session.config.pluginmanager
            results = pm.get_plugin("asyncguard-core").results
            outcomes = [f"{t.nodeid}={t.outcome}" for t in results.tests.values()]
            print("RECORDED", *outcomes)
        """
    )
    ag.makepyfile(
        test_it="""
        import time, pytest, pytest_asyncio

        def test_clean():
            pass

        @pytest_asyncio.fixture
        async def res():
            yield 1
            time.sleep(0.001)

        @pytest.mark.asyncio
        async def test_fails_then_blocks(res):
            assert False
        """
    )
    # a subprocess: warn mode's warnings must not meet this process's filters
    result = ag.runpytest_subprocess("-p", "no:cacheprovider", "--asyncguard-mode=warn", "-s")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*RECORDED test_it.py::test_fails_then_blocks=failed"])
