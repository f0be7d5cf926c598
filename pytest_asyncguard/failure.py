"""How a test that asyncguard fails looks in the terminal, in JUnit and under xdist."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_asyncguard.results import Violation


@dataclass
class Crash:
    """What pytest's short summary and junitxml read from ``longrepr.reprcrash``."""

    path: str
    lineno: int
    message: str


def describe(v: Violation) -> list[str]:
    """The lines under a violation's message: how often, where, and the user's stack."""
    lines = [v.message]
    facts = [f"phase: {v.phase}"]
    if v.count > 1:
        facts.append(f"{v.count} times")
    if v.duration is not None and v.duration >= 0.001:
        facts.append(f"{v.duration:.3f} s")
    if v.allowed:
        facts.append(f"allowed by {v.allowed_by}")
    if v.baselined:
        facts.append("baselined")
    if v.via:
        facts.append(f"blocked in {v.via}()")
    if v.also:
        facts.append("also " + ", ".join(f"{n}()" for n in v.also))
    lines.append("  " + ", ".join(facts))
    lines.extend("  " + line.replace("\n", "\n  ") for line in v.stack)
    if v.kind == "loop-stall" and v.fix:
        lines.append(f"  {v.fix}")
    return lines


class ViolationRepr:
    """A failure made of asyncguard violations, shown before any original failure."""

    def __init__(self, violations: list[Violation], original: Any = None) -> None:
        self.violations = violations
        self.original = original
        first = violations[0]
        path, _, line = first.where.rpartition(":")
        self.reprcrash = Crash(path, int(line) if line.isdigit() else 0, first.message)

    def toterminal(self, tw: Any) -> None:
        for i, v in enumerate(self.violations):
            for j, line in enumerate(describe(v)):
                tw.line(line, red=j == 0, bold=j == 0)
            if i + 1 < len(self.violations):
                tw.line("")
        if self.original is not None:
            tw.line("")
            if hasattr(self.original, "toterminal"):
                self.original.toterminal(tw)
            else:
                tw.line(str(self.original))

    def __str__(self) -> str:
        blocks = ["\n".join(describe(v)) for v in self.violations]
        if self.original is not None:
            blocks.append(str(self.original))  # pytest's TerminalRepr renders itself
        return "\n\n".join(blocks)
