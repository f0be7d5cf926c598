"""The detectors together: start and stop them, and close each test phase.

The plugin calls :meth:`Engine.begin` when a test starts and :meth:`Engine.end`
after each of its phases; ``end`` turns what the detectors recorded since the
previous phase into :class:`Violation` objects.

Until an event loop first runs, nothing can block a loop, stall it or leak a task,
so the engine sleeps: the guard's wrappers, the watchdog and the plugin's
per-test hooks wait for :meth:`Engine.wake` (the first loop, or a coroutine a
sync test never awaited). A run whose tests never start a loop pays for none of
them. No pytest import here.
"""

from __future__ import annotations

import sys
import threading
from asyncio import base_events
from collections.abc import Callable
from typing import Any

from pytest_asyncguard.frames import Locator
from pytest_asyncguard.guard import Guard, Recorder, no_context
from pytest_asyncguard.hygiene import Hygiene
from pytest_asyncguard.policy import Policy, TestPolicy
from pytest_asyncguard.results import Violation
from pytest_asyncguard.settings import Settings
from pytest_asyncguard.watchdog import Watchdog

#: a stall is the blocking calls it contains when they account for this share of it.
EXPLAINED_SHARE = 0.5


class Engine:
    def __init__(self, settings: Settings, rootdir: str) -> None:
        self.settings = settings
        self.recorder = Recorder()
        self.guard = Guard(self.recorder, builtin_allow=settings.builtin_allow)
        self.watchdog = Watchdog(self.recorder)
        self.hygiene = Hygiene(self.recorder)
        self.hygiene.track_tasks = bool({"task-exception", "leaked-task"} & settings.checks)
        self.hygiene.track_coroutines = "never-awaited" in settings.checks
        self.locator = Locator(rootdir)
        self.policy: Policy | None = None
        #: problems of the detectors worth telling the user (they never fail a test)
        self.errors: list[str] = []
        self.watchdog.errors = self.errors
        #: the plugin's part of waking up (its per-test hooks); returns nothing
        self.on_wake: Callable[[], None] | None = None
        self._awake = False
        self._wake_lock = threading.Lock()
        self._first_loop: tuple[Any, Any] | None = None

    def start(self) -> None:
        try:
            self.hygiene.install()
            self.recorder.wake = self.wake
            self._start_on_first_loop()
        except BaseException:
            self.stop()
            raise
        s = self.settings
        self.policy = Policy(
            self.locator,
            self.guard.rules,
            allow=s.allow,
            allow_in=s.allow_in,
            scope=s.scope,
            checks=s.checks,
            builtin_allow=s.builtin_allow,
        )

    def _start_on_first_loop(self) -> None:
        """Wake up when an asyncio event loop first starts running."""
        cls = base_events.BaseEventLoop
        original = cls.run_forever
        lock = threading.Lock()

        def run_forever(loop: Any) -> Any:
            with lock:
                if cls.__dict__.get("run_forever") is run_forever:
                    cls.run_forever = original  # type: ignore[method-assign]
                    self.wake()
            return original(loop)

        cls.run_forever = run_forever  # type: ignore[method-assign,assignment]
        self._first_loop = (original, run_forever)

    def wake(self) -> object | None:
        """Start what only loops need, once: the guard's wrappers (around every
        lock, file read and ``os.stat`` of the process), the watchdog, and the
        plugin's per-test hooks (``on_wake``). Called when the first loop runs, or
        from the recorder when there is something to record and no test open (a
        sync test that never awaited a coroutine). Returns the recorder's context
        then: the test running, if any. Safe from any thread.
        """
        with self._wake_lock:
            if not self._awake:
                self._awake = True
                self.recorder.wake = no_context
                self._disarm()
                self._start_detectors()
        return self.recorder.context

    def _start_detectors(self) -> None:
        checks = self.settings.checks
        starts = [
            (f"{kind} detector", start)
            for kind, start in (
                ("blocking-call", self.guard.install),
                ("loop-stall", self.watchdog.install),
            )
            if kind in checks
        ]
        if self.on_wake is not None:
            starts.append(("per-test hooks", self.on_wake))
        for what, start in starts:
            try:
                start()
            except Exception as exc:  # the test must run on, unwatched
                self.errors.append(f"{what} not started: {exc!r}")

    def collected(self) -> None:
        """The tests and conftests are imported: when they brought an event loop that
        is not built on ``asyncio.BaseEventLoop`` (uvloop), whose loops start without
        ``BaseEventLoop.run_forever``, put the guard in now."""
        if self._first_loop is not None and any(m in sys.modules for m in _FOREIGN_LOOPS):
            self.wake()

    def _disarm(self) -> None:
        if self._first_loop is not None:
            original, armed = self._first_loop
            if base_events.BaseEventLoop.__dict__.get("run_forever") is armed:
                base_events.BaseEventLoop.run_forever = original  # type: ignore[method-assign]
            self._first_loop = None

    def stop(self) -> None:
        self.recorder.context = None
        self._disarm()
        self.hygiene.uninstall()
        self.watchdog.uninstall()
        self.guard.uninstall()

    def begin(self, nodeid: str, test: TestPolicy) -> None:
        """A test starts: record what happens until its last phase ends."""
        self.watchdog.threshold = test.stall_threshold or self.settings.stall_threshold
        self.recorder.context = nodeid
        # No fixture is being set up yet; those listed were set up (or torn down
        # since) for earlier tests.
        self.hygiene.wide_fixtures.clear()

    def end(self, phase: str, test: TestPolicy, *, last: bool = False) -> list[Violation]:
        """Close a phase: the violations found since the previous phase ended, in
        the order they happened. After the ``last`` phase nothing is recorded."""
        if not (
            self.recorder.hits
            or self.watchdog.stalls
            or self.hygiene.findings
            or self.hygiene.tracked
        ):
            if last:
                self.recorder.context = None  # the common case: nothing happened
            return []
        context, self.recorder.context = self.recorder.context, None
        try:
            return self._violations(phase, test, last)
        finally:
            if not last:
                self.recorder.context = context

    def _violations(self, phase: str, test: TestPolicy, last: bool) -> list[Violation]:
        if last:
            self.hygiene.end_test()
        else:
            self.hygiene.check_done()
        hits = self.recorder.drain()
        stalls = self.watchdog.drain()
        findings = self.hygiene.drain()
        policy = self.policy
        if policy is None:
            return []
        out: list[Violation] = []
        by_hit: dict[int, Violation] = {}
        for hit in hits:
            v = policy.blocking(hit, phase, test)
            if v is not None:
                by_hit[id(hit)] = v
                out.append(v)
        for stall in stalls:
            explained = [by_hit[id(h)] for h in stall.hits if id(h) in by_hit]
            blocked = sum(v.duration or 0.0 for v in explained)
            if explained and blocked >= EXPLAINED_SHARE * stall.duration:
                continue  # one problem: the blocking call(s), each with its duration
            v = policy.stall(stall, phase, test)
            if v is not None:
                out.append(v)
        for finding in findings:
            v = policy.finding(finding, phase)
            if v is not None:
                out.append(v)
        return _merge(out)

    @property
    def used_patterns(self) -> set[str]:
        return set(self.policy.used) if self.policy else set()


#: event-loop packages whose loops do not subclass ``asyncio.BaseEventLoop``
_FOREIGN_LOOPS = ("uvloop", "winloop")


def _merge(violations: list[Violation]) -> list[Violation]:
    """One entry per call site (line of code), with a count."""
    merged: dict[tuple[str, str, str, bool], Violation] = {}
    for v in violations:
        known = merged.get(v.key())
        if known is None:
            merged[v.key()] = v
        else:
            known.absorb(v)
    return list(merged.values())
