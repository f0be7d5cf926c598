"""Loop stalls: measured durations, the culprit's stack, every context, and no false alarms."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from pytest_asyncguard.guard import Recorder
from pytest_asyncguard.watchdog import Stall, Watchdog

CRUNCH = """
import time

def crunch(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
"""


def _busy(seconds: float) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        pass
    return time.perf_counter() - start


def _stalls_of(
    main: Callable[[], Coroutine[Any, Any, None]], threshold: float = 0.1
) -> list[Stall]:
    """The stalls a watchdog, installed for this run only, sees in ``asyncio.run(main())``."""
    recorder = Recorder()
    recorder.context = "test"
    dog = Watchdog(recorder)
    dog.threshold = threshold
    dog.install()
    try:
        asyncio.run(main())
    finally:
        dog.uninstall()
    return dog.drain()


def _full_collection_pause() -> float:
    """Seconds a full collection takes now; skips the test when too short to tell."""
    start = time.perf_counter()
    gc.collect()
    pause = time.perf_counter() - start
    if pause < 0.04:
        pytest.skip(f"a full collection took only {pause:.3f} s here")
    return pause


@pytest.mark.parametrize("seconds", [0.12, 0.3])
def test_duration_is_the_measured_one(seconds: float) -> None:
    held: list[float] = []

    async def main() -> None:
        await asyncio.sleep(0)
        held.append(_busy(seconds))
        await asyncio.sleep(0.05)  # idle: not a stall

    stalls = _stalls_of(main)
    assert len(stalls) == 1, "one long stall is one violation"
    assert abs(stalls[0].duration - held[0]) <= 0.01
    assert any(f.function == "_busy" for f in stalls[0].stack), "stack captured while held"


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(crunchy=CRUNCH, test_it=source)
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def test_stall_contexts(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import asyncio, threading, anyio, pytest, pytest_asyncio
        from crunchy import crunch

        @pytest_asyncio.fixture(scope="module", loop_scope="module")
        async def warmed():
            crunch(0.15)
            yield 1

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_fixture(warmed):
            pass

        @pytest.mark.asyncio
        async def test_task():
            async def work():
                crunch(0.15)
            await asyncio.create_task(work())

        @pytest.mark.anyio
        async def test_anyio():
            crunch(0.15)

        def test_asyncio_run_in_sync_test():
            async def main():
                crunch(0.15)
            asyncio.run(main())

        def test_loop_in_thread():
            async def main():
                crunch(0.15)
            t = threading.Thread(target=asyncio.run, args=(main(),))
            t.start()
            t.join()

        @pytest.mark.asyncio
        async def test_callback():
            loop = asyncio.get_running_loop()
            loop.call_soon(crunch, 0.15)
            await asyncio.sleep(0.01)
        """,
    )
    result.assert_outcomes(errors=1, failed=5)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_module_fixture*",
            "asyncguard: loop stall of 0.1? s in crunch() at crunchy.py:5",
            "*test_it.py:6 in warmed*",
        ]
    )
    heads = [line for line in result.outlines if line.startswith("asyncguard: loop stall of")]
    assert len(heads) == 6


def test_idle_loop_and_raised_threshold_pass(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import asyncio, pytest
        from crunchy import crunch

        @pytest.mark.asyncio
        async def test_idle():
            await asyncio.sleep(0.3)
            await asyncio.wait_for(asyncio.get_running_loop().create_future(), 0.2) \\
                if False else None

        @pytest.mark.asyncio
        @pytest.mark.stall_threshold(1.0)
        async def test_marker_raises_threshold():
            crunch(0.3)
        """,
    )
    result.assert_outcomes(passed=2)


def test_ini_and_command_line_threshold(ag: pytest.Pytester) -> None:
    source = """
        import pytest
        from crunchy import crunch

        @pytest.mark.asyncio
        async def test_a():
            crunch(0.05)
        """
    run(ag, source).assert_outcomes(passed=1)
    run(ag, source, "--asyncguard-stall-threshold=0.02").assert_outcomes(failed=1)


def test_blocking_call_that_stalls_is_reported_once(ag: pytest.Pytester) -> None:
    result = run(
        ag,
        """
        import time, pytest

        @pytest.mark.asyncio
        async def test_a():
            time.sleep(0.25)
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["asyncguard: blocking call to time.sleep() at test_it.py:5 *", "  phase: call, 0.2?? s"]
    )
    result.stdout.no_fnmatch_line("*loop stall*")


def test_trace_function_is_not_a_stall(ag: pytest.Pytester) -> None:
    """Under a tracing debugger everything is slow: a stall there is not the code's fault."""
    result = run(
        ag,
        """
        import sys, pytest
        from crunchy import crunch

        @pytest.fixture
        def debugger():
            sys.settrace(lambda *a: None)
            yield
            sys.settrace(None)

        @pytest.mark.asyncio
        async def test_traced(debugger):
            crunch(0.2)
        """,
    )
    result.assert_outcomes(passed=1)


def test_breakpoint_prompt_is_not_a_stall(ag: pytest.Pytester) -> None:
    ag.makepyfile(
        test_it="""
        import pytest

        @pytest.mark.asyncio
        async def test_debugged():
            x = 1
            breakpoint()
            assert x == 1
        """
    )
    # the "user" takes 0.3 s at the prompt, then continues
    result = ag.run(
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        stdin=b"import time; time.sleep(0.3)\nc\n",
        timeout=60,
    )
    assert "1 passed" in result.stdout.str(), result.stdout.str()
    result.stdout.no_fnmatch_line("*asyncguard: loop stall*")


def test_garbage_collection_pauses_are_not_stalls() -> None:
    """A full collection of a big heap pauses every thread; no code can await it away."""

    async def main() -> None:
        await asyncio.sleep(0)
        gc.collect()

    junk = [[i] for i in range(1_000_000)]
    with warnings.catch_warnings():  # leftovers of earlier in-process runs go quietly
        warnings.simplefilter("ignore", ResourceWarning)
        _full_collection_pause()
        stalls = _stalls_of(main, threshold=0.02)
    del junk
    assert stalls == []


def test_garbage_collection_in_another_thread_is_not_a_stall() -> None:
    """The collector holds the GIL whichever thread triggered it: a loop step that
    waited for a collection started in a worker thread did not hold the loop."""

    async def main() -> None:
        await asyncio.sleep(0)
        collecting = threading.Event()

        def collect() -> None:
            collecting.set()
            gc.collect()

        worker = threading.Thread(target=collect)
        worker.start()
        collecting.wait()
        _busy(pause * 0.3)  # held, in part, by the worker's collection
        await asyncio.to_thread(worker.join)

    junk = [[i] for i in range(1_000_000)]
    with warnings.catch_warnings():  # leftovers of earlier in-process runs go quietly
        warnings.simplefilter("ignore", ResourceWarning)
        pause = _full_collection_pause()
        # the step alone stays far below the threshold
        stalls = _stalls_of(main, threshold=pause * 0.9)
    del junk
    assert stalls == []


def test_executor_shutdown_that_really_waits_is_a_stall(ag: pytest.Pytester) -> None:
    """Idle-worker housekeeping at `with ThreadPoolExecutor()` exit is not a blocking
    call, but waiting there for running work still holds the loop."""
    result = run(
        ag,
        """
        import concurrent.futures, time, pytest

        @pytest.mark.asyncio
        async def test_waits_for_work():
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pool.submit(time.sleep, 0.3)
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["asyncguard: loop stall of 0.* s in test_waits_for_work() at *"])
