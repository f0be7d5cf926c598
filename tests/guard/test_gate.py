"""The C fast path (``pytest_asyncguard._gate``) and the Python wrappers it stands in front of.

tox builds the extension (``ASYNCGUARD_EXPECT_EXTENSION=1`` there): a build
that silently fell back to the Python wrappers fails these tests instead of
skipping them.
"""

from __future__ import annotations

import _thread
import asyncio
import copy
import functools
import gc
import inspect
import os
import subprocess
import sys
import threading
import time
import weakref
from asyncio import events
from typing import Any
from unittest import mock

import pytest

from pytest_asyncguard import guard


def _gate_type() -> Any:
    try:
        from pytest_asyncguard._gate import Gate
    except ImportError:
        if os.environ.get("ASYNCGUARD_EXPECT_EXTENSION") == "1":
            raise
        pytest.skip("the _gate extension is not built here")
    return Gate


class Calls:
    """Stand-ins for the original and the guarded wrapper that say which ran."""

    def __init__(self) -> None:
        self.log: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def original(self, *args: Any, **kwargs: Any) -> str:
        self.log.append(("original", args, kwargs))
        return "original"

    def guarded(self, *args: Any, **kwargs: Any) -> str:
        self.log.append(("guarded", args, kwargs))
        return "guarded"


def test_outside_a_loop_the_original_runs_with_the_same_arguments() -> None:
    calls = Calls()
    gate = _gate_type()(calls.original, calls.guarded, events._get_running_loop)
    assert gate(1, 2, key="v") == "original"
    assert gate() == "original"
    assert calls.log == [("original", (1, 2), {"key": "v"}), ("original", (), {})]


def test_on_a_loop_the_guarded_wrapper_runs_and_worker_threads_stay_fast() -> None:
    calls = Calls()
    gate = _gate_type()(calls.original, calls.guarded, events._get_running_loop)

    async def main() -> tuple[str, str]:
        on_loop = gate(1, key="v")
        in_worker = await asyncio.to_thread(gate, 2)
        return on_loop, in_worker

    assert asyncio.run(main()) == ("guarded", "original")
    assert calls.log == [("guarded", (1,), {"key": "v"}), ("original", (2,), {})]


def test_errors_of_the_call_reach_the_caller_and_a_failing_loop_check_does_not() -> None:
    def boom(*_args: Any) -> None:
        raise ValueError("from the original")

    def no_loop_check() -> None:
        raise RuntimeError("broken")

    Gate = _gate_type()
    with pytest.raises(ValueError, match="from the original"):
        Gate(boom, boom, events._get_running_loop)(1)
    # the loop check is asyncguard's business: if it fails, the real call still runs
    assert Gate(lambda: "ran", boom, no_loop_check)() == "ran"
    with pytest.raises(TypeError, match="callable"):
        Gate(1, boom, events._get_running_loop)


def test_binds_like_a_function_in_a_class_and_carries_functools_wraps() -> None:
    calls = Calls()

    class Owner:
        def method(self, x: int) -> int:
            """The method's own doc."""
            return x

    original = Owner.method
    gate = functools.wraps(original)(
        _gate_type()(calls.original, calls.guarded, events._get_running_loop)
    )
    Owner.method = gate  # type: ignore[method-assign]
    owner = Owner()
    assert owner.method(3) == "original"
    bound = owner.method
    assert bound.__self__ is owner
    assert bound(4) == "original"
    assert calls.log[0][1] == (owner, 3)
    assert calls.log[1][1] == (owner, 4)
    assert Owner.method is gate  # looked up on the class: the gate itself
    assert gate.__wrapped__ is original
    assert gate.__name__ == "method"
    assert gate.__doc__ == "The method's own doc."
    assert inspect.signature(gate) == inspect.signature(original)
    assert gate.original == calls.original
    assert "asyncguard gate" in repr(gate)


def test_a_free_lock_is_taken_without_the_wrapper_a_held_one_is_not() -> None:
    lock_type = type(_thread.allocate_lock())
    calls = Calls()
    Gate = _gate_type()
    gate = Gate(calls.original, calls.guarded, events._get_running_loop, lock_type.acquire)
    lock = threading.Lock()
    assert gate(lock) is True  # free: taken, nothing else called
    assert lock.locked()
    assert calls.log == []

    async def main() -> str:
        return gate(lock)  # held: on the loop, the wrapper decides

    assert asyncio.run(main()) == "guarded"
    assert gate(lock, False) == "original"  # with arguments: the normal path checks them
    assert gate(lock, timeout=1) == "original"
    lock.release()
    assert [name for name, _a, _k in calls.log] == ["guarded", "original", "original"]
    # not a lock after all: the error is the real call's, not the fast path's
    assert gate(object()) == "original"


def test_copies_are_the_gate_itself_as_for_functions() -> None:
    gate = _gate_type()(time.sleep, time.sleep, events._get_running_loop)
    holder = {"sleep": gate, "n": [1]}
    deep = copy.deepcopy(holder)
    assert deep["sleep"] is gate
    assert deep["n"] is not holder["n"]
    assert copy.copy(gate) is gate


def test_a_gate_in_a_reference_cycle_is_collected() -> None:
    Gate = _gate_type()

    def target() -> None:
        pass

    gate = Gate(target, target, events._get_running_loop)
    gate.cycle = gate  # through its __dict__
    ref = weakref.ref(gate)
    del gate
    gc.collect()
    assert ref() is None


def test_the_guard_uses_the_gate_and_puts_every_original_back() -> None:
    Gate = _gate_type()
    if guard._Gate is None:
        pytest.skip("switched off by ASYNCGUARD_NO_EXTENSION")
    sleep, enter = time.sleep, type(threading.Lock()).__enter__
    recorder = guard.Recorder()
    recorder.context = "test"
    g = guard.Guard(recorder)
    g.install()
    try:
        assert isinstance(time.sleep, Gate)
        assert isinstance(type(threading.Lock()).__dict__["__enter__"], Gate)
        lock = threading.Lock()

        async def main() -> None:
            with lock:  # free: no record
                time.sleep(0.001)

        asyncio.run(main())
    finally:
        g.uninstall()
    assert time.sleep is sleep
    assert type(threading.Lock()).__enter__ is enter
    assert [hit.rule for hit in recorder.hits] == ["time.sleep"]


def test_python_functions_keep_python_wrappers_for_the_tools_that_inspect_them() -> None:
    # mock's autospec binds self only to a function: a method patched with a
    # Python function must stay one (C callables were never functions).
    _gate_type()
    recorder = guard.Recorder()
    g = guard.Guard(recorder)
    g.install()
    try:
        assert inspect.isfunction(subprocess.Popen.wait)
        assert inspect.isfunction(os.path.islink)
        assert hasattr(os.path.islink, "__wrapped__")  # patched, still a function
        with mock.patch.object(subprocess.Popen, "wait", autospec=True, return_value=7) as wait:
            proc = subprocess.Popen([sys.executable, "-c", "pass"])
            assert proc.wait(timeout=5) == 7
            wait.assert_called_once_with(proc, timeout=5)
        assert proc.wait(timeout=5) == 0
    finally:
        g.uninstall()


@pytest.mark.parametrize("switch", ["0", "1"], ids=["gate", "python-wrappers"])
def test_both_paths_report_the_same(
    ag: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, switch: str
) -> None:
    # ASYNCGUARD_NO_EXTENSION=1 runs the Python wrappers alone, as an install
    # where the extension could not be compiled does.
    ag.makepyfile(
        test_it="""
        import asyncio, os, threading, time, pytest

        from pytest_asyncguard import guard

        def test_0_mode():
            assert (guard._Gate is None) == (os.environ["ASYNCGUARD_NO_EXTENSION"] == "1")

        @pytest.mark.asyncio
        async def test_1_sleep():
            time.sleep(0.001)

        @pytest.mark.asyncio
        async def test_2_held_lock():
            lock = threading.Lock()
            lock.acquire()
            threading.Timer(0.05, lock.release).start()
            with lock:
                pass

        @pytest.mark.asyncio
        async def test_3_clean():
            lock = threading.Lock()
            with lock:  # free: no wait
                pass
            await asyncio.to_thread(os.stat, __file__)  # in a worker thread: fine
        """
    )
    monkeypatch.setenv("ASYNCGUARD_NO_EXTENSION", switch)
    result = ag.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "asyncguard: blocking call to time.sleep() at test_it.py:*",
            "asyncguard: blocking call to threading.Lock.acquire() at test_it.py:*",
        ]
    )
