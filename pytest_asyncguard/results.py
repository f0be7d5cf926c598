"""The plain data every part of asyncguard shares.

Detectors create :class:`Violation` objects, the plugin groups them per test
into :class:`TestRecord`, and reporters read a :class:`RunResults` at the end.
A violation converts to and from a plain dict: that is how it travels from an
xdist worker to the controller, on the test report. Nothing here imports pytest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

KINDS = ("blocking-call", "loop-stall", "never-awaited", "task-exception", "leaked-task")


@dataclass
class Violation:
    """One problem found while a test ran (one call site, possibly many times)."""

    kind: str
    #: the blocked function as users know it (``time.sleep``); for a stall, the
    #: function that held the loop; for hygiene kinds, the coroutine or task name.
    name: str
    #: ``path:line`` of the first frame in user code, relative to the rootdir.
    where: str
    phase: str = "call"
    #: seconds, for stalls and for blocking calls that also held the loop.
    duration: float | None = None
    allowed: bool = False
    baselined: bool = False
    #: the one-line message (``asyncguard: blocking call to ...``).
    message: str = ""
    #: the async alternative, when there is one.
    fix: str | None = None
    #: the enclosing function of ``where``, used by the baseline key.
    function: str | None = None
    #: how many times this call site was hit in this phase.
    count: int = 1
    #: short stack of user frames: ``path:line in func`` plus a source line.
    stack: list[str] = field(default_factory=list)
    #: why it is allowed (marker reason, ini pattern), for the reports.
    allowed_by: str | None = None
    #: the patched function that saw the call, when ``name`` is the API the
    #: user called (``subprocess.run`` via ``os.read``).
    via: str | None = None
    #: other blocked functions reached from the same line of code.
    also: list[str] = field(default_factory=list)

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
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Violation:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class TestRecord:
    """What asyncguard knows about one test after it ran."""

    __test__ = False  # not a pytest test class

    nodeid: str
    outcome: str = "passed"  # passed | failed | skipped | error
    requirements: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    #: ``path:line`` of the test function, for reports.
    location: str | None = None

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


@dataclass
class RunResults:
    """Everything the reporters read at the end of a run."""

    tests: dict[str, TestRecord] = field(default_factory=dict)
    #: record tests that passed without violations or requirements too: the JSON
    #: and Markdown reports and the baseline need every test, the terminal does not.
    every_test: bool = True
    #: allowlist patterns (ini and markers) that matched at least once.
    used_patterns: set[str] = field(default_factory=set)
    #: every allowlist pattern that was in force somewhere in the run.
    known_patterns: set[str] = field(default_factory=set)

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
