"""Loop hygiene: coroutines never awaited, task exceptions nobody retrieved, leaked tasks.

* Tasks are tracked from ``BaseEventLoop.create_task`` (what ``asyncio.create_task``,
  ``ensure_future``, ``TaskGroup`` and anyio all go through). When a phase ends,
  a tracked task that finished with an exception nobody retrieved is reported
  and marked retrieved, so asyncio does not log it again at garbage collection.
  When a test ends, its tasks still pending, or cancelled by
  ``asyncio.Runner``/``asyncio.run`` shutting the loop down, were leaked.
  Tasks created while a wider-scoped fixture is being set up belong to that
  fixture, not to the test.
* Coroutines never awaited are seen where CPython reports them
  (``warnings._warn_unawaited_coroutine``, called when the coroutine is
  finalised). Where it was created comes from coroutine origin tracking, one
  frame deep: every coroutine in the process pays for each frame tracked. The
  usual case, ``fetch()`` without ``await``, drops the coroutine on the line
  that made it, so the whole stack is taken there, when it is reported.
No pytest import here.
"""

from __future__ import annotations

import asyncio
import sys
import warnings
import weakref
from asyncio import base_events
from collections.abc import Callable
from typing import Any

from pytest_asyncguard.frames import (
    Frame,
    RawStack,
    capture,
    capture_raw,
    is_library,
    is_stdlib,
    resolve,
)
from pytest_asyncguard.guard import Recorder

ORIGIN_DEPTH = 1
#: frames kept of the code that created a task (taken raw, resolved when reported)
TASK_STACK_DEPTH = 5
# Tasks no test can leak: anyio's long-lived test runner, and what asyncio.Runner
# and asyncio.run run to completion when they close a loop.
_RUNNER_TASKS = frozenset(
    {
        "TestRunner._run_tests_and_fixtures",
        "BaseEventLoop.shutdown_asyncgens",
        "BaseEventLoop.shutdown_default_executor",
    }
)
# asyncio.Runner.run: the task it makes is the coroutine it runs to completion.
_RUNNER_RUN = getattr(getattr(asyncio, "Runner", None), "run", None)
_RUNNER_CODE = getattr(_RUNNER_RUN, "__code__", None)


class Finding:
    """A never-awaited coroutine, or a task whose exception nobody retrieved or
    that outlived its test."""

    # A plain class, not a dataclass: every run imports this module, and a
    # dataclass compiles its generated methods again at each import.
    __slots__ = ("context", "detail", "kind", "name", "stack")

    def __init__(
        self, kind: str, name: str, stack: list[Frame], context: object, detail: str = ""
    ) -> None:
        self.kind = kind  # never-awaited | task-exception | leaked-task
        self.name = name
        self.stack = stack
        self.context = context
        self.detail = detail


#: ``cr_origin``: (file, line, function) of the frames that created a coroutine
Origin = tuple[tuple[str, int, str], ...]


# A task created during a test, by id(task): a weak reference to it (tracking
# must not keep a task, its exception and their frames alive longer than the
# code under test does), where it was created, and the test. Where it was created
# is its coroutine's origin when that is the user's code (free: origin tracking is
# on for never-awaited coroutines), else a few frames of the stack, taken raw. A
# plain tuple: one is made for every task, and its name is worked out only when
# the task is reported.
_Tracked = tuple["weakref.ref[asyncio.Task[Any]]", "Origin", RawStack, object]


def _tracked_frames(tracked: _Tracked) -> list[Frame]:
    _, origin, stack, _ = tracked
    if stack:
        return resolve(stack)
    return [Frame(file, line, function, "") for file, line, function in origin]


def _is_library(filename: str) -> bool:
    """The standard library or an installed package (both answers are cached)."""
    return is_stdlib(filename) or is_library(filename)


def _task_name(task: Any) -> str:
    get_coro, get_name = getattr(task, "get_coro", None), getattr(task, "get_name", None)
    coro = get_coro() if get_coro is not None else None
    return str(getattr(coro, "__qualname__", None) or (get_name() if get_name else repr(task)))


class Hygiene:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.findings: list[Finding] = []
        #: fixtures wider than function scope whose setup started during this test:
        #: one is being set up until pytest stores its result (``cached_result``,
        #: also on an error); the list is emptied when a test begins
        self.wide_fixtures: list[Any] = []
        self.track_tasks = True
        self.track_coroutines = True
        #: the tasks of the current test, by id(task); an entry is dropped when its
        #: task is collected or done
        self.tracked: dict[int, _Tracked] = {}
        self._patches: list[tuple[Any, str, Any]] = []
        self._old_depth = 0

    # -- installation -------------------------------------------------------
    def install(self) -> None:
        if self._patches:
            return
        if self.track_tasks:
            self._patch(base_events.BaseEventLoop, "create_task", self._wrap_create_task)
            self._patch(
                base_events.BaseEventLoop, "call_exception_handler", self._wrap_exception_handler
            )
            for module in _runner_modules():
                self._patch(module, "_cancel_all_tasks", self._wrap_cancel_all)
        if self.track_coroutines and hasattr(warnings, "_warn_unawaited_coroutine"):
            self._patch(warnings, "_warn_unawaited_coroutine", self._wrap_unawaited)
            self._old_depth = sys.get_coroutine_origin_tracking_depth()
            sys.set_coroutine_origin_tracking_depth(max(self._old_depth, ORIGIN_DEPTH))

    def uninstall(self) -> None:
        if any(obj is warnings for obj, _, _ in self._patches):
            sys.set_coroutine_origin_tracking_depth(self._old_depth)
        while self._patches:
            owner, attr, original = self._patches.pop()
            setattr(owner, attr, original)
        self.tracked.clear()

    def _patch(self, owner: Any, attr: str, make: Callable[[Any], Any]) -> None:
        original = getattr(owner, attr)
        setattr(owner, attr, make(original))
        self._patches.append((owner, attr, original))

    def _wrap_create_task(self, original: Callable[..., Any]) -> Callable[..., Any]:
        recorder = self.recorder
        tracked = self.tracked
        library: dict[str, bool] = {}  # by file: the standard library or a package?

        def create_task(loop: Any, coro: Any, *args: Any, **kwargs: Any) -> Any:
            task = original(loop, coro, *args, **kwargs)
            tracked.pop(id(task), None)  # left by a collected task whose id this one reuses
            ctx = recorder.context
            if ctx is None:
                ctx = recorder.wake()  # the session's first loop made a task before it ran
            if ctx is None or not recorder.enabled:
                return task
            try:
                if self.wide_fixtures and self._in_wide_fixture():
                    return task  # the fixture's, not the test's
                if getattr(coro, "__qualname__", None) in _RUNNER_TASKS:
                    return task
                caller = sys._getframe(1)
                if caller.f_code is _RUNNER_CODE:
                    return task
                origin: Origin = getattr(coro, "cr_origin", None) or ()
                stack: RawStack = []  # made in the user's code: its origin says where
                if origin:
                    file = origin[0][0]
                    made_by_library = library.get(file)
                    if made_by_library is None:
                        made_by_library = library[file] = _is_library(file)
                if not origin or made_by_library:  # anyio's start_soon: who called it
                    stack = capture_raw(caller, TASK_STACK_DEPTH)
                tracked[id(task)] = (weakref.ref(task), origin, stack, ctx)
            except Exception:  # the task runs either way: never fail its creation
                pass
            return task

        return create_task

    def _wrap_exception_handler(self, original: Callable[..., Any]) -> Callable[..., Any]:
        """A tracked task collected with its exception unretrieved, or still pending."""

        def call_exception_handler(loop: Any, context: dict[str, Any]) -> Any:
            task = context.get("task") or context.get("future")
            tracked = self._untrack(task)
            if tracked is None:
                return original(loop, context)
            message = str(context.get("message", ""))
            exc = context.get("exception")
            if "never retrieved" in message and exc is not None:
                detail = f"{type(exc).__name__}: {exc}"
                self._found("task-exception", tracked, task, detail)
                return None  # reported here; asyncio would log it a second time
            if "destroyed but it is pending" in message:
                self._found("leaked-task", tracked, task, "collected while still pending")
                return None
            return original(loop, context)

        return call_exception_handler

    def _wrap_cancel_all(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def cancel_all(loop: Any) -> Any:
            # The loop's tracked tasks still pending: what all_tasks(loop) would
            # give of them, without going through every task of the process.
            try:
                for tracked in list(self.tracked.values()):
                    task = tracked[0]()  # its weak reference
                    if task is not None and not task.done() and task.get_loop() is loop:
                        self._untrack(task)
                        detail = "cancelled when the event loop shut down"
                        self._found("leaked-task", tracked, task, detail)
            except Exception:  # the loop must close either way
                pass
            return original(loop)

        return cancel_all

    def _wrap_unawaited(self, original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def warn_unawaited(coro: Any) -> Any:
            ctx = self.recorder.context
            if ctx is None:
                ctx = self.recorder.wake()  # a sync test before any loop ran
            if ctx is None or not self.recorder.enabled:
                return original(coro)
            origin = getattr(coro, "cr_origin", None) or ()
            stack = [Frame(f, line, func, "") for f, line, func in origin]
            here = capture(sys._getframe(1), 16)  # where the coroutine is let go
            if stack and here and here[0][:2] == stack[0][:2]:
                stack = here  # dropped where it was made: the same line, full stack
            code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
            if not stack and code is not None:
                stack = [Frame(code.co_filename, code.co_firstlineno, code.co_name, "")]
            name = getattr(coro, "__qualname__", None) or repr(coro)
            self.findings.append(Finding("never-awaited", name, stack, ctx))
            return None

        return warn_unawaited

    def _in_wide_fixture(self) -> bool:
        """Is a fixture wider than function scope being set up? (Those set up are dropped.)"""
        self.wide_fixtures[:] = [f for f in self.wide_fixtures if f.cached_result is None]
        return bool(self.wide_fixtures)

    # -- checks -------------------------------------------------------------
    def _untrack(self, task: Any) -> _Tracked | None:
        """The tracking record of ``task``, removed; None for a task not tracked.
        (A task being collected has its weak references cleared already.)"""
        return self.tracked.pop(id(task), None) if task is not None else None

    def _found(self, kind: str, tracked: _Tracked, task: Any, detail: str) -> None:
        frames, context = _tracked_frames(tracked), tracked[3]  # (ref, origin, stack, test)
        self.findings.append(Finding(kind, _task_name(task), frames, context, detail))

    def check_done(self) -> None:
        """Report finished tasks whose exception nobody retrieved; forget finished tasks."""
        for key, tracked in list(self.tracked.items()):
            task = tracked[0]()  # its weak reference
            if task is None or task.done():
                del self.tracked[key]
            if task is None or not task.done() or task.cancelled():
                continue
            if getattr(task, "_log_traceback", False):
                exc = task.exception()  # also marks it retrieved: asyncio stays quiet
                self._found("task-exception", tracked, task, f"{type(exc).__name__}: {exc}")

    def end_test(self) -> None:
        """The test is over: tasks it created that are still pending were leaked."""
        self.check_done()
        for tracked in self.tracked.values():
            task = tracked[0]()  # its weak reference
            if task is not None:  # check_done left only live, pending tasks
                self._found("leaked-task", tracked, task, "still pending when the test ended")
        self.tracked.clear()

    def drain(self) -> list[Finding]:
        findings, self.findings = self.findings, []
        return findings


def _runner_modules() -> list[Any]:
    """Modules whose ``_cancel_all_tasks`` an ``asyncio.Runner`` calls at shutdown."""
    import importlib

    names = ["asyncio.runners"]
    if sys.version_info < (3, 11):  # no asyncio.Runner: these bring their own
        names += ["backports.asyncio.runner.runner", "anyio._backends._asyncio"]
    modules: list[Any] = []
    for name in names:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "_cancel_all_tasks"):
            modules.append(module)
    return modules
