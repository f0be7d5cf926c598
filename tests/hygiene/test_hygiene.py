"""Never-awaited coroutines, task exceptions nobody retrieved, leaked tasks."""

from __future__ import annotations

import pytest


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_it=source)
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def test_never_awaited_in_the_test_that_created_it(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import asyncio, pytest

        async def fetch():
            return 1

        def schedule():
            fetch()

        @pytest.mark.asyncio
        async def test_forgot_await():
            schedule()

        @pytest.mark.asyncio
        async def test_next_is_clean():
            assert await fetch() == 1

        def test_sync_test_too():
            fetch()
        """,
    )
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_forgot_await _*",
            "asyncguard: coroutine fetch() was never awaited, created at test_it.py:7 (await it*",
            "*test_it.py:11 in test_forgot_await*",
            "*_ test_sync_test_too _*",
            "asyncguard: coroutine fetch() was never awaited, created at test_it.py:18 *",
        ]
    )


def test_task_exception_nobody_retrieved(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import asyncio, pytest

        async def boom():
            raise ValueError("lost")

        @pytest.mark.asyncio
        async def test_lost():
            asyncio.create_task(boom())
            await asyncio.sleep(0.01)

        @pytest.mark.asyncio
        async def test_retrieved():
            task = asyncio.create_task(boom())
            with pytest.raises(ValueError):
                await task

        @pytest.mark.asyncio
        async def test_gather_return_exceptions():
            results = await asyncio.gather(boom(), return_exceptions=True)
            assert isinstance(results[0], ValueError)
        """,
    )
    result.assert_outcomes(failed=1, passed=2)
    result.stdout.fnmatch_lines(
        [
            "asyncguard: task boom() raised ValueError: lost and nobody retrieved it, "
            "created at test_it.py:8 *"
        ]
    )
    result.stdout.no_fnmatch_line("*Task exception was never retrieved*")


def test_leaked_task_but_not_fixture_owned_ones(ag: pytest.Pytester) -> None:
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

        @pytest_asyncio.fixture
        async def managed():
            task = asyncio.create_task(poll())
            yield
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        @pytest.mark.asyncio
        async def test_leaks():
            asyncio.create_task(poll())
            await asyncio.sleep(0)

        @pytest.mark.asyncio(loop_scope="module")
        async def test_uses_module_background(background):
            await asyncio.sleep(0)

        @pytest.mark.asyncio
        async def test_uses_managed(managed):
            await asyncio.sleep(0)

        def test_asyncio_run_leftover():
            async def main():
                asyncio.create_task(poll())
            asyncio.run(main())
        """,
    )
    result.assert_outcomes(passed=3, errors=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_leaks*",
            "asyncguard: task poll() leaked: created at test_it.py:23, *",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "asyncguard: task poll() leaked: created at test_it.py:36, "
            "cancelled when the event loop shut down*"
        ]
    )


def test_tasks_tracked_again_after_a_wide_fixture_was_torn_down(ag: pytest.Pytester) -> None:
    """A wide fixture set up and torn down with no task made in between must not
    leave later tests' tasks untracked."""
    ag.makepyfile(
        test_a="""
        import pytest

        @pytest.fixture(scope="module")
        def config():
            yield {"debug": False}

        def test_reads_config(config):
            assert config == {"debug": False}
        """,
        test_b="""
        import asyncio, pytest

        async def poll():
            while True:
                await asyncio.sleep(0.01)

        @pytest.mark.asyncio
        async def test_leaks():
            asyncio.create_task(poll())
            await asyncio.sleep(0)
        """,
    )
    result = ag.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)  # a leak is found when the test ends
    result.stdout.fnmatch_lines(["asyncguard: task poll() leaked: created at test_b.py:9, *"])


def test_checks_select_what_is_enforced(ag: pytest.Pytester) -> None:
    ag.makeini(
        """
        [pytest]
        asyncio_mode = strict
        asyncio_default_fixture_loop_scope = function
        asyncguard_checks = blocking-call
        filterwarnings = ignore::RuntimeWarning
        """
    )
    result = run(
        ag,
        """
        import asyncio, pytest

        async def fetch():
            return 1

        @pytest.mark.asyncio
        async def test_not_enforced():
            fetch()
            asyncio.create_task(asyncio.sleep(5))
            await asyncio.sleep(0)
        """,
    )
    result.assert_outcomes(passed=1)


def test_tracking_does_not_keep_tasks_alive(ag: pytest.Pytester) -> None:
    """Code under test that relies on a task being collected behaves the same."""
    result = run(
        ag,
        """
        import asyncio, gc, weakref, pytest

        async def boom():
            raise ValueError("collected")

        @pytest.mark.asyncio
        async def test_collected_task_is_freed_and_still_reported():
            task = asyncio.create_task(boom())
            await asyncio.sleep(0.01)
            ref = weakref.ref(task)
            del task
            gc.collect()
            assert ref() is None

        @pytest.mark.asyncio
        async def test_pending_task_collected():
            async def forever():
                await asyncio.get_running_loop().create_future()
            asyncio.create_task(forever())
            await asyncio.sleep(0)
            gc.collect()
        """,
    )
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*test_collected_task_is_freed_and_still_reported*",
            "asyncguard: task boom() raised ValueError: collected and nobody retrieved it, "
            "created at test_it.py:8 *",
            "*test_pending_task_collected*",
            "asyncguard: task *forever() leaked: created at test_it.py:19, "
            "collected while still pending *",
        ]
    )
    result.stdout.no_fnmatch_line("*Task exception was never retrieved*")
    result.stdout.no_fnmatch_line("*Task was destroyed but it is pending*")


def test_never_awaited_dropped_away_from_where_it_was_made(ag: pytest.Pytester) -> None:
    # Origin tracking (one frame) names the creating line even when the
    # coroutine is let go elsewhere: here, when the test's list is freed.
    result = run(
        ag,
        """
        import pytest

        async def fetch():
            return 1

        def make(pending):
            pending.append(fetch())

        @pytest.mark.asyncio
        async def test_kept_then_dropped():
            pending = []
            make(pending)
            assert len(pending) == 1
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["asyncguard: coroutine fetch() was never awaited, created at test_it.py:7 *"]
    )


def test_leaked_task_site_when_a_library_makes_the_coroutine(ag: pytest.Pytester) -> None:
    # A coroutine made in the test is located by its origin; one that anyio makes
    # (start_soon calls the function) by the frames of the call that made the task.
    result = run(
        ag,
        """
        import asyncio, anyio, pytest

        async def forever():
            await asyncio.Event().wait()

        @pytest.mark.asyncio
        async def test_own_coroutine():
            asyncio.ensure_future(forever())
            await asyncio.sleep(0)

        @pytest.mark.asyncio
        async def test_library_made():
            tg = anyio.create_task_group()
            await tg.__aenter__()
            tg.start_soon(forever)
            await asyncio.sleep(0)
        """,
    )
    result.assert_outcomes(passed=2, errors=2)  # found when the loop shuts down
    result.stdout.fnmatch_lines(
        [
            "asyncguard: task forever() leaked: created at test_it.py:8, *",
            "asyncguard: task *() leaked: created at test_it.py:15, *",
        ]
    )
