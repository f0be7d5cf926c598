"""The plain data every part of asyncguard shares.

Detectors create :class:`Violation` objects, the plugin groups them per test
into :class:`TestRecord`, and reporters read a :class:`RunResults` at the end.
A violation converts to and from a plain dict: that is how it travels from an
xdist worker to the controller, on the test report. Nothing here imports pytest.
"""

from __future__ import annotations

from typing import Any

KINDS = ("blocking-call", "loop-stall", "never-awaited", "task-exception", "leaked-task")


class Violation:
    """One problem found while a test ran (one call site, possibly many times)."""

    # Plain classes here, not dataclasses: every run imports this module, and a
    # dataclass compiles its generated methods again at each import (a few
    # million instructions for these three, a sizeable part of the plugin's
    # fixed cost on a small suite).
    __slots__ = _FIELDS = (
        "kind",
        "name",
        "where",
        "phase",
        "duration",
        "allowed",
        "baselined",
        "message",
        "fix",
        "function",
        "count",
        "stack",
        "allowed_by",
        "via",
        "also",
    )

    def __init__(
        self,
        kind: str,
        name: str,
        where: str,
        phase: str = "call",
        duration: float | None = None,
        allowed: bool = False,
        baselined: bool = False,
        message: str = "",
        fix: str | None = None,
        function: str | None = None,
        count: int = 1,
        stack: list[str] | None = None,
        allowed_by: str | None = None,
        via: str | None = None,
        also: list[str] | None = None,
    ) -> None:
        self.kind = kind
        #: the blocked function as users know it (``time.sleep``); for a stall, the
        #: function that held the loop; for hygiene kinds, the coroutine or task name.
        self.name = name
        #: ``path:line`` of the first frame in user code, relative to the rootdir.
        self.where = where
        self.phase = phase
        #: seconds, for stalls and for blocking calls that also held the loop.
        self.duration = duration
        self.allowed = allowed
        self.baselined = baselined
        #: the one-line message (``asyncguard: blocking call to ...``).
        self.message = message
        #: the async alternative, when there is one.
        self.fix = fix
        #: the enclosing function of ``where``, used by the baseline key.
        self.function = function
        #: how many times this call site was hit in this phase.
        self.count = count
        #: short stack of user frames: ``path:line in func`` plus a source line.
        self.stack = stack if stack is not None else []
        #: why it is allowed (marker reason, ini pattern), for the reports.
        self.allowed_by = allowed_by
        #: the patched function that saw the call, when ``name`` is the API the
        #: user called (``subprocess.run`` via ``os.read``).
        self.via = via
        #: other blocked functions reached from the same line of code.
        self.also = also if also is not None else []

    def __repr__(self) -> str:
        return f"Violation({self.kind!r}, {self.name!r}, {self.where!r}, phase={self.phase!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Violation):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass would be

    def key(self) -> tuple[str, str, str, bool]:
        """Identity of a call site (a line of code) within one test phase."""
        return (self.kind, self.where, self.phase, self.allowed)

    def absorb(self, other: Violation) -> None:
        """Fold another detection at the same call site into this one."""
        if (other.name, other.via) == (self.name, self.via):
            self.count += other.count
        elif other.name not in self.also and other.name != self.name:
            self.also.append(other.name)
        if other.duration is not None:
            self.duration = round((self.duration or 0.0) + other.duration, 6)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (lists copied), keys in the order of the JSON report."""
        data = {name: getattr(self, name) for name in self._FIELDS}
        data["stack"] = list(self.stack)
        data["also"] = list(self.also)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Violation:
        """Ignores keys it does not know (a newer worker's), as the reports do."""
        return cls(**{k: v for k, v in data.items() if k in cls._FIELDS})


class TestRecord:
    """What asyncguard knows about one test after it ran."""

    __test__ = False  # not a pytest test class
    __slots__ = ("location", "nodeid", "outcome", "requirements", "violations")

    def __init__(
        self,
        nodeid: str,
        outcome: str = "passed",
        requirements: list[str] | None = None,
        violations: list[Violation] | None = None,
        location: str | None = None,
    ) -> None:
        self.nodeid = nodeid
        self.outcome = outcome  # passed | failed | skipped | error
        self.requirements = requirements if requirements is not None else []
        self.violations = violations if violations is not None else []
        #: ``path:line`` of the test function, for reports.
        self.location = location

    def __repr__(self) -> str:
        return f"TestRecord({self.nodeid!r}, outcome={self.outcome!r})"

    def add(self, violation: Violation) -> None:
        """Add a violation, merging repeats of the same call site."""
        for known in self.violations:
            if known.key() == violation.key():
                known.absorb(violation)
                return
        self.violations.append(violation)

    @property
    def failing(self) -> list[Violation]:
        """Violations that count against the test (not allowed, not baselined)."""
        return [v for v in self.violations if not v.allowed and not v.baselined]

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "requirements": list(self.requirements),
            "violations": [v.to_dict() for v in self.violations],
            "location": self.location,
        }


class RunResults:
    """Everything the reporters read at the end of a run."""

    __slots__ = ("every_test", "known_patterns", "tests", "used_patterns")

    def __init__(
        self, tests: dict[str, TestRecord] | None = None, *, every_test: bool = True
    ) -> None:
        self.tests = tests if tests is not None else {}
        #: record tests that passed without violations or requirements too: the JSON
        #: and Markdown reports and the baseline need every test, the terminal does not.
        self.every_test = every_test
        #: allowlist patterns (ini and markers) that matched at least once.
        self.used_patterns: set[str] = set()
        #: every allowlist pattern that was in force somewhere in the run.
        self.known_patterns: set[str] = set()

    def record(self, nodeid: str) -> TestRecord:
        rec = self.tests.get(nodeid)
        if rec is None:
            rec = self.tests[nodeid] = TestRecord(nodeid)
        return rec

    @property
    def unused_patterns(self) -> list[str]:
        return sorted(self.known_patterns - self.used_patterns)

    def violations(self) -> list[tuple[TestRecord, Violation]]:
        return [(t, v) for t in self.tests.values() for v in t.violations]
