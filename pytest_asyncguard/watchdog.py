"""Loop-stall detection: how long each loop callback held its thread, and what held it.

Every piece of Python code an asyncio loop runs (task steps, ``call_soon`` and
``call_later`` callbacks, I/O callbacks) runs inside ``asyncio.Handle._run``.
Wrapping that one method times every callback exactly, in any thread, for any
loop built on ``asyncio.BaseEventLoop``; an idle loop (waiting in its selector)
runs no handle and so is never a stall.

One shared daemon thread looks at the callbacks in progress a few times per
threshold and, once one has run past the threshold, snapshots that thread's
stack with ``sys._current_frames()``: the code that held the loop, captured
while it held it. The thread sleeps on an event, so the cost per callback is
two clock reads and a few stores into the thread's slot; garbage-collection
pauses and debugger prompts are dealt with when they happen, not per callback.
No pytest import here.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
import time
from asyncio import events
from collections.abc import Callable
from typing import Any

from pytest_asyncguard.frames import Frame, capture
from pytest_asyncguard.guard import Hit, Recorder

_perf = time.perf_counter
_get_ident = threading.get_ident


class Stall:
    """One loop callback that ran longer than the threshold."""

    # A plain class, not a dataclass: every run imports this module, and a
    # dataclass compiles its generated methods again at each import.
    __slots__ = ("context", "duration", "hits", "stack", "threshold")

    def __init__(
        self,
        duration: float,
        threshold: float,
        stack: list[Frame],
        context: object,
        hits: list[Hit] | None = None,
    ) -> None:
        self.duration = duration
        self.threshold = threshold
        self.stack = stack
        self.context = context
        #: blocking calls recorded while this callback ran
        self.hits = hits if hits is not None else []


# Each thread that runs loop callbacks has one slot, made at its first callback
# and reused for every later one (no allocation per callback): when the running
# callback started (0.0: none runs), and the stack the watching thread took once
# it ran past the threshold.
_Slot = list[Any]
_START, _STACK = range(2)
_IDLE = 0.0
#: a start that no duration can follow: a debugger prompt opened during the callback
_NEVER = float("inf")


class _GcClock:
    """Takes garbage-collection pauses out of the running callbacks' time: a pause
    of the whole interpreter (the collector holds the GIL, whichever thread
    triggered it), which no code can avoid by awaiting. The pause moves the start
    of every callback running at the time."""

    def __init__(self, slots: dict[int, _Slot]) -> None:
        self._slots = slots
        self._started = 0.0

    def __call__(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._started = _perf()
            return
        pause = _perf() - self._started
        for slot in list(self._slots.values()):
            if slot[_START] != _IDLE:
                slot[_START] += pause


def _debug_tracer(tracer: Any) -> bool:
    """A trace function that is a debugger (pdb, an IDE), not coverage measuring."""
    if tracer is None:
        return False
    owner = getattr(tracer, "__self__", tracer)
    return not type(owner).__module__.startswith("coverage")


def _task_stack(handle: Any) -> list[Frame]:
    """The best guess when no snapshot was taken (a C call held the GIL throughout):
    where a task's coroutine stands now, or the callback's function."""
    task = getattr(getattr(handle, "_callback", None), "__self__", None)
    get_coro = getattr(task, "get_coro", None)
    coro = get_coro() if get_coro is not None else None
    frame = getattr(coro, "cr_frame", None)
    while coro is not None and frame is None:
        coro = getattr(coro, "cr_await", None)
        frame = getattr(coro, "cr_frame", None)
    if frame is not None:
        return capture(frame)
    # a plain callback (call_soon, call_later): name its function at least
    callback = getattr(handle, "_callback", None)
    code = getattr(getattr(callback, "__func__", callback), "__code__", None)
    if code is None:
        return []
    name = getattr(code, "co_qualname", code.co_name)
    module = getattr(callback, "__module__", None) or ""
    return [Frame(code.co_filename, code.co_firstlineno, name, module)]


class Watchdog:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.threshold = 0.1
        self.stalls: list[Stall] = []
        #: problems of the detector itself, for the run's summary (never a test's failure)
        self.errors: list[str] = []
        #: each thread's slot, by thread id (the watching thread reads them all)
        self._slots: dict[int, _Slot] = {}
        self._local = threading.local()
        self._original: Callable[[Any], Any] | None = None
        self._gc_clock = _GcClock(self._slots)
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None

    # -- installation -------------------------------------------------------
    def install(self) -> None:
        """Time every loop callback, and start the thread that takes the stack of
        a callback running too long."""
        if self._original is not None:
            return
        self._original = original = events.Handle._run
        recorder = self.recorder
        watchdog = self
        local = self._local
        gc.callbacks.append(self._gc_clock)

        def _run(handle: Any) -> Any:
            if recorder.context is None:
                return original(handle)
            try:
                slot = local.slot
            except AttributeError:
                slot = watchdog._new_slot()
            outer = slot[_START]  # not _IDLE only when a loop runs inside a callback
            start = slot[_START] = _perf()
            slot[_STACK] = None
            try:
                return original(handle)
            finally:
                duration = _perf() - slot[_START]
                slot[_START] = outer
                if duration > watchdog.threshold:
                    try:
                        watchdog._stalled(handle, slot, start, duration)
                    except Exception as exc:  # out of Handle._run it would stop the loop
                        watchdog.errors.append(f"loop-stall detector: {exc!r}")

        events.Handle._run = _run  # type: ignore[method-assign,assignment]
        self._stop = False
        self._thread = threading.Thread(target=self._watch, name="asyncguard-watchdog", daemon=True)
        self._thread.start()

    def uninstall(self) -> None:
        if self._original is None:
            return
        events.Handle._run = self._original  # type: ignore[method-assign,assignment]
        self._original = None
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._gc_clock)
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(1.0)
            self._thread = None
        self._wake.clear()

    def drain(self) -> list[Stall]:
        stalls, self.stalls = self.stalls, []
        return stalls

    def debugger(self) -> None:
        """A debugger prompt opened or closed: the callbacks running now waited
        for a person, so none of them is a stall."""
        for slot in list(self._slots.values()):
            if slot[_START] != _IDLE:
                slot[_START] = _NEVER

    def _new_slot(self) -> _Slot:
        """This thread's first callback: its slot, kept for the thread's later ones."""
        slot: _Slot = [_IDLE, None]
        self._local.slot = slot
        self._slots[_get_ident()] = slot
        return slot

    # -- the watching thread ------------------------------------------------
    def _watch(self) -> None:
        wait = 0.0
        while not self._stop:
            self._wake.wait(wait)
            if self._stop:
                return
            # Sleep a quarter threshold when nothing is due, else until the
            # earliest running callback crosses the threshold: seen early, a
            # long callback is caught right as it crosses, even when this
            # thread waits its turn for the GIL.
            wait = min(0.05, max(0.002, self.threshold / 4))
            now = _perf()
            late = []
            for tid, slot in list(self._slots.items()):
                start = slot[_START]
                if start == _IDLE or slot[_STACK] is not None:
                    continue
                due = start + self.threshold
                if due <= now:
                    late.append((tid, slot, start))
                else:
                    wait = min(wait, due - now + 0.0005)
            if late:
                frames = sys._current_frames()
                for tid, slot, start in late:
                    stack = capture(frames.get(tid))
                    if slot[_START] == start:  # still the same callback
                        slot[_STACK] = stack
                del frames

    # -- called in the loop's thread after a long callback ------------------
    def _stalled(self, handle: Any, slot: _Slot, start: float, duration: float) -> None:
        ctx = self.recorder.context
        if ctx is None or not self.recorder.enabled:
            return
        if _debug_tracer(sys.gettrace()):
            return  # a debugger steps through the code: it holds the loop, not the code
        stack = slot[_STACK] or _task_stack(handle)
        if any(f.filename.startswith("<frozen importlib") for f in stack):
            return  # a first import; imports are not the code under test
        tid = _get_ident()
        hits = [h for h in self.recorder.hits if h.thread == tid and h.time >= start]
        self.stalls.append(Stall(duration, self.threshold, stack, ctx, hits))
