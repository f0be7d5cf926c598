"""From raw detections to :class:`Violation` objects: allowlists, scope, names, messages.

This runs when a test phase ends, off the hot path, so it can afford to look at
whole stacks. No pytest import here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fnmatch import fnmatchcase
from functools import cached_property

from pytest_asyncguard.frames import PLUGIN_DIR, Frame, Locator, is_infra, is_stdlib
from pytest_asyncguard.guard import Hit
from pytest_asyncguard.hygiene import Finding
from pytest_asyncguard.results import Violation
from pytest_asyncguard.rules import Rule, builtin_allowed, entry_name, fix_for
from pytest_asyncguard.watchdog import Stall

_HYGIENE_FIX = {
    "never-awaited": "await it, or schedule it with asyncio.create_task()",
    "task-exception": "await the task, or retrieve task.exception() in a done callback",
    "leaked-task": "cancel and await it before the test ends, or use asyncio.TaskGroup",
}


class TestPolicy:
    """What one test allows, from its ``allow_blocking`` markers."""

    __test__ = False
    # A plain class, not a dataclass: every run imports this module, and a
    # dataclass compiles its generated methods again at each import.
    __slots__ = ("allow_all", "patterns", "reason", "stall_threshold")

    def __init__(self) -> None:
        #: (pattern, label) pairs; the label names the marker for the unused-pattern list
        self.patterns: list[tuple[str, str]] = []
        self.allow_all: str | None = None  # label of a pattern-less marker
        self.reason: str | None = None
        self.stall_threshold: float | None = None


class Policy:
    def __init__(
        self,
        locator: Locator,
        rules: Iterable[Rule],
        *,
        allow: Iterable[str] = (),
        allow_in: Iterable[str] = (),
        scope: Iterable[str] = (),
        checks: Iterable[str] = (),
        builtin_allow: bool = True,
    ) -> None:
        self.locator = locator
        self._rules = rules
        self.allow = list(allow)
        self.allow_in = list(allow_in)
        self.scope = [_scope_path(s, locator.rootdir) for s in scope]
        self.checks = set(checks)
        self.builtin_allow = builtin_allow
        self.used: set[str] = set()

    @cached_property
    def known_callers(self) -> dict[str, list[tuple[str, frozenset[str]]]]:
        # Read at the first hit: the guard fills its rule list when it installs,
        # which is after this policy is made (when the first loop starts).
        return {r.name: r.known_callers for r in self._rules if r.known_callers}

    # -- blocking calls -----------------------------------------------------
    def _machinery(self, hit: Hit) -> bool:
        """Test machinery or known-harmless stdlib initialisation made this call."""
        for suffix, funcs in self.known_callers.get(hit.rule, ()):
            for f in hit.stack:
                if f.filename.replace("\\", "/").endswith(suffix) and (
                    f.function.rpartition(".")[2] in funcs
                ):
                    return True
        if self._builtin(hit.stack):
            return True
        # The nearest caller outside the stdlib is pytest, a plugin or coverage
        # doing its own work (capture, logging handler, tmp_path, runner).
        for f in hit.stack:
            if f.filename.startswith(PLUGIN_DIR):
                continue  # asyncguard's own wrappers (Handle._run, create_task)
            if f.module == "asyncio.events" and f.function.endswith("_run"):
                return False  # the loop called the blocking function as a callback
            if not is_stdlib(f.filename):
                return is_infra(f)
        return True  # only stdlib frames: the interpreter's own machinery

    def _builtin(self, stack: list[Frame]) -> bool:
        """A frame of the stack is in the built-in allowlist."""
        if not self.builtin_allow:
            return False
        return any(builtin_allowed(f.module, f.function.rpartition(".")[2]) for f in stack)

    def _in_scope(self, stack: list[Frame]) -> bool:
        if not self.scope:
            return True
        return any(f.filename.startswith(s) for f in stack for s in self.scope)

    def _allowed_in(self, stack: list[Frame]) -> str | None:
        for entry in self.allow_in:
            path, sep, func = entry.rpartition(":")
            for f in stack:
                if sep:
                    ok = f.filename.replace("\\", "/").endswith(path) and func in (
                        f.function,
                        f.function.rpartition(".")[2],
                    )
                else:  # "pkg.*" covers pkg itself too
                    ok = fnmatchcase(f.module, entry) or (
                        entry.endswith(".*") and f.module == entry[:-2]
                    )
                if ok:
                    return f"asyncguard_allow_in: {entry}"
        return None

    def _allowed_name(self, names: list[str], test: TestPolicy) -> str | None:
        for pattern in self.allow:
            if any(fnmatchcase(n, pattern) for n in names):
                return f"asyncguard_allow: {pattern}"
        for pattern, label in test.patterns:
            if any(fnmatchcase(n, pattern) for n in names):
                return label
        return test.allow_all

    def blocking(self, hit: Hit, phase: str, test: TestPolicy) -> Violation | None:
        if "blocking-call" not in self.checks or self._machinery(hit):
            return None
        if not self._in_scope(hit.stack):
            return None
        loc = self.locator
        entry = entry_name(hit.stack, loc.is_user)
        name = entry or hit.rule
        names = [name, hit.rule] if entry else [name]
        user = loc.user_frame(hit.stack)
        where = loc.where(user)
        fix = fix_for(names, hit.stack)
        message = f"asyncguard: blocking call to {name}() at {where}" + (f" ({fix})" if fix else "")
        allowed_by = self._allowed_name(names, test) or self._allowed_in(hit.stack)
        if allowed_by:
            self.used.add(allowed_by)
        return Violation(
            kind="blocking-call",
            name=name,
            where=where,
            phase=phase,
            duration=hit.duration,
            allowed=allowed_by is not None,
            message=message,
            fix=fix,
            function=user.function if user else None,
            stack=loc.short_stack(hit.stack),
            allowed_by=allowed_by,
            via=hit.rule if entry and entry != hit.rule else None,
        )

    # -- stalls ---------------------------------------------------------------
    def stall(self, stall: Stall, phase: str, test: TestPolicy) -> Violation | None:
        if "loop-stall" not in self.checks or self._builtin(stall.stack):
            return None
        loc = self.locator
        user = loc.user_frame(stall.stack) if stall.stack else None
        func = user.function if user else "<unknown>"
        where = loc.where(user)
        message = f"asyncguard: loop stall of {stall.duration:.2f} s in {func}() at {where}"
        allowed_by = test.allow_all
        if allowed_by:
            self.used.add(allowed_by)
        return Violation(
            kind="loop-stall",
            name=func,
            where=where,
            phase=phase,
            duration=round(stall.duration, 4),
            allowed=allowed_by is not None,
            message=message,
            fix=f"the loop was held longer than {stall.threshold:g} s: await more often, or "
            "move CPU-bound or blocking work to asyncio.to_thread() or a process pool",
            function=func,
            stack=loc.short_stack(stall.stack) if stall.stack else [],
            allowed_by=allowed_by,
        )

    # -- hygiene --------------------------------------------------------------
    def finding(self, finding: Finding, phase: str) -> Violation | None:
        if finding.kind not in self.checks:
            return None
        loc = self.locator
        user = loc.user_frame(finding.stack) if finding.stack else None
        where = loc.where(user)
        name = finding.name
        if finding.kind == "never-awaited":
            head = f"coroutine {name}() was never awaited, created at {where}"
        elif finding.kind == "task-exception":
            head = (
                f"task {name}() raised {finding.detail} and nobody retrieved it, created at {where}"
            )
        else:
            head = f"task {name}() leaked: created at {where}, {finding.detail}"
        fix = _HYGIENE_FIX[finding.kind]
        return Violation(
            kind=finding.kind,
            name=name,
            where=where,
            phase=phase,
            message=f"asyncguard: {head} ({fix})",
            fix=fix,
            function=user.function if user else None,
            stack=loc.short_stack(finding.stack) if finding.stack else [],
        )


def _scope_path(entry: str, rootdir: str) -> str:
    """A scope entry as a path prefix: a folder, a file, or an importable package name."""
    candidate = os.path.join(rootdir, entry)
    if os.path.exists(candidate):
        return os.path.abspath(candidate)
    if os.path.exists(entry):
        return os.path.abspath(entry)
    import importlib.util

    try:
        spec = importlib.util.find_spec(entry)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return os.path.abspath(next(iter(spec.submodule_search_locations)))
    if spec is not None and spec.origin:
        return os.path.abspath(spec.origin)
    return os.path.abspath(candidate)
