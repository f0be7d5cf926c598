"""Terminal sections at the end of the run.

Writes through any object with pytest's ``TerminalReporter`` methods
``write_sep(sep, title, **markup)`` and ``write_line(line, **markup)`` (markup
keywords such as ``red=True`` colour the text), so the sections can be unit
tested with a small recorder.
"""

from __future__ import annotations

from typing import Any, Protocol

from pytest_asyncguard.report import ReportData
from pytest_asyncguard.results import Violation

STATUS_MARKUP = {"met": {"green": True}, "unmet": {"red": True}, "untested": {"yellow": True}}


class TerminalWriter(Protocol):
    def write_sep(self, sep: str, title: str | None = ..., **markup: bool) -> Any: ...

    def write_line(self, line: str, **markup: bool) -> Any: ...


def describe(violation: Violation) -> str:
    """One line for a violation: kind, name, location, count, state and fix."""
    name = violation.name + ("()" if violation.kind == "blocking-call" else "")
    text = f"{violation.kind} {name} at {violation.where or '?'}"
    if violation.phase != "call":
        text += f" [{violation.phase}]"
    if violation.duration is not None and violation.duration >= 0.0005:  # no "(0.000s)"
        text += f" ({violation.duration:.3f}s)"
    if violation.count > 1:
        text += f" x{violation.count}"
    if violation.allowed:
        text += " [allowed" + (f" by {violation.allowed_by}" if violation.allowed_by else "") + "]"
    elif violation.baselined:
        text += " [baselined]"
    if violation.fix:
        text += f" -> {violation.fix}"
    return text


def write_violations(tw: TerminalWriter, data: ReportData, limit: int | None = None) -> None:
    """Violations per test; tests with failing ones first, at most ``limit`` tests."""
    records = [r for r in data.results.tests.values() if r.violations]
    if not records:
        return
    records.sort(key=lambda r: not r.failing)  # stable: run order within each group
    tw.write_sep("=", "asyncguard violations")
    for record in records[:limit]:
        tw.write_line(record.nodeid, bold=True)
        for violation in record.violations:
            failing = not violation.allowed and not violation.baselined
            tw.write_line("  " + describe(violation), red=failing)
    if limit is not None and len(records) > limit:
        more = len(records) - limit
        tw.write_line(
            f"...and {more} more tests with violations (-v shows all; see the JSON report)"
        )


def write_requirements(tw: TerminalWriter, data: ReportData) -> None:
    if not data.rows:
        return
    tw.write_sep("=", "asyncguard requirements")
    # Without any declarations every row is undeclared; marking them all is noise.
    mark = any(row.declared for row in data.rows)
    header = ["requirement", "tests", "passed", "failed", "skipped", "violations", "baselined"]
    header += ["status", "title"]
    table = [header] + [
        [
            row.id,
            *map(str, (row.tests, row.passed, row.failed, row.skipped)),
            *map(str, (row.violations, row.baselined)),
            row.status,
            (row.title or "") + (" (not declared)" if mark and not row.declared else ""),
        ]
        for row in data.rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for index, line in enumerate(table):
        cells = [line[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(line[1:7], widths[1:7], strict=True)]
        cells += [line[7].ljust(widths[7]), line[8].strip()]
        markup = STATUS_MARKUP[data.rows[index - 1].status] if index else {}
        tw.write_line("  ".join(cells).rstrip(), **markup)
    met = sum(1 for row in data.rows if row.status == "met")
    tw.write_line(f"{met}/{len(data.rows)} requirements met")


def write_housekeeping(tw: TerminalWriter, data: ReportData) -> None:
    if data.fixed:
        tw.write_sep("-", "asyncguard baseline: fixed, remove from baseline")
        for e in data.fixed:
            where = e.path + (f" in {e.function}()" if e.function else "")
            tw.write_line(f"{e.kind} {e.name} at {where} ({e.test})", green=True)
        tw.write_line("rerun with --asyncguard-update-baseline to drop them")
    if data.unused_patterns:
        tw.write_sep("-", "asyncguard: unused allowlist patterns")
        for pattern in data.unused_patterns:
            tw.write_line(pattern, yellow=True)


def write_summary(tw: TerminalWriter, data: ReportData, limit: int | None = None) -> None:
    """All asyncguard sections, each only when it has something to say.

    ``limit`` caps the tests listed in the violations section (None: all).
    """
    write_violations(tw, data, limit)
    write_requirements(tw, data)
    write_housekeeping(tw, data)
