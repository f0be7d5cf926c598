"""Terminal lines of the async-without-await report, in the manner of
``coverage report``: a table per file, a TOTAL row, the functions to fix, and the
score. Plain strings only, so any reporter (or a test) can use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the analyser is imported only by runs that use it
    from pytest_asyncguard.awaitless import Analysis, AsyncFunction

TITLE = "asyncguard: async functions without await"
HEADERS = ("File", "async functions", "without await", "allowed", "ran without await")
NEVER_RAN = "never ran"
RAN_NEVER_AWAITED = "ran, never awaited"
SCORE_LINE = (
    "async-without-await score: {score:.2f} % ({good} of {total} functions await or are allowed)"
)


def ran_without_await(function: AsyncFunction) -> bool:
    """Ran in this run and reached no await, and no reason accepts that."""
    return function.allowed is None and bool(function.executed) and not function.await_executed


def table_rows(analysis: Analysis) -> list[tuple[str, int, int, int, int]]:
    """Per file: (path, async functions, without await, allowed, ran without await)."""
    rows: dict[str, list[int]] = {}
    for f in analysis.functions:
        row = rows.setdefault(f.path, [0, 0, 0, 0])
        row[0] += 1
        row[1] += f.flagged
        row[2] += f.allowed is not None
        row[3] += ran_without_await(f)
    return [(path, *counts) for path, counts in sorted(rows.items())]  # type: ignore[misc]


def format_table(analysis: Analysis) -> list[str]:
    """The per-file table with a TOTAL row; the last column only with coverage data."""
    width = 5 if analysis.coverage else 4
    rows = [tuple(str(c) for c in row[:width]) for row in table_rows(analysis)]
    totals = [sum(int(r[i]) for r in rows) for i in range(1, width)]
    total_row = ("TOTAL", *(str(t) for t in totals))
    head = HEADERS[:width]
    sizes = [max(len(r[i]) for r in [head, *rows, total_row]) for i in range(width)]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(sizes[0])
        rest = (c.rjust(s) for c, s in zip(cells[1:], sizes[1:], strict=True))
        return "   ".join([first, *rest])

    rule = "-" * len(line(head))
    return [line(head), rule, *(line(r) for r in rows), rule, line(total_row)]


def format_function(function: AsyncFunction) -> str:
    """``path:line  qualname`` with a note from the coverage data, if any."""
    text = f"{function.path}:{function.line}  {function.qualname}"
    if function.executed is None:
        return text
    return f"{text}  ({RAN_NEVER_AWAITED if function.executed else NEVER_RAN})"


#: why a run on Python < 3.12 shows no run/await columns by default
MEASURE_HINT = (
    "(before Python 3.12 asyncguard measures only with --asyncguard-measure=always, "
    "which slows the run; it reads pytest-cov or 'coverage run' data at no cost)"
)


def format_report(analysis: Analysis) -> list[str]:
    """Every line of the terminal section, below its title."""
    lines: list[str] = []
    if analysis.functions:
        lines += format_table(analysis)
    else:
        lines.append("no async functions found in " + ", ".join(analysis.to_dict()["sources"]))
    flagged = analysis.flagged
    if flagged:
        lines += ["", "async functions without await (make them sync, or await):"]
        lines += [f"  {format_function(f)}" for f in flagged]
    in_name_only = [f for f in analysis.functions if f.has_await and ran_without_await(f)]
    if in_name_only:
        lines += ["", "async in name only in this run (ran, never reached an await):"]
        lines += [f"  {f.path}:{f.line}  {f.qualname}" for f in in_name_only]
    if analysis.skipped:
        lines += ["", "skipped (could not be parsed):"]
        lines += [f"  {s.to_dict()['path']}: {s.error}" for s in analysis.skipped]
    total = len(analysis.functions)
    good = total - len(flagged)
    lines += ["", SCORE_LINE.format(score=analysis.score, good=good, total=total)]
    if analysis.coverage is None:
        lines.append("(no coverage data measured: run and await columns not shown)")
    return lines
