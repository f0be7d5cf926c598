"""The Markdown report (``--asyncguard-md``), shaped for a GitHub Actions job summary.

Point it at ``$GITHUB_STEP_SUMMARY`` (``--asyncguard-md="$GITHUB_STEP_SUMMARY"``)
and the run's page shows a headline, the requirement table, the violations
grouped by kind, the async-without-await summary and the baseline and allowlist
housekeeping. Long lists are capped so that a bad run still gives a readable
page.
"""

from __future__ import annotations

from typing import Any

from pytest_asyncguard.report import ReportData
from pytest_asyncguard.requirements import summary
from pytest_asyncguard.results import KINDS, TestRecord, Violation

#: at most this many rows per violation kind and functions without await.
MAX_ROWS = 50
STATUS_ICONS = {"met": "✅ met", "unmet": "❌ unmet", "untested": "⚪ untested"}


def cell(value: object) -> str:
    """Text safe inside a table cell: ``|`` escaped, newlines folded."""
    text = "" if value is None else str(value)
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split())


def code(value: object) -> str:
    """A table cell as inline code (GitHub keeps ``\\|`` escapes inside code spans)."""
    text = cell(value)
    return f"`{text}`" if text else ""


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def headline(data: ReportData) -> str:
    failing = [(t, v) for t, v in data.results.violations() if not v.allowed and not v.baselined]
    tests = {t.nodeid for t, _ in failing}
    if failing:
        parts = [f"{plural(len(failing), 'violation')} in {plural(len(tests), 'test')}"]
    else:
        parts = [f"no violations in {plural(len(data.results.tests), 'test')}"]
    if data.rows:
        met, total = summary(data.rows)
        parts.append(f"requirements {met}/{total} met")
    return "## asyncguard: " + ", ".join(parts)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _requirements(data: ReportData) -> list[str]:
    header = ["Requirement", "Title", "Tests", "Passed", "Failed", "Skipped", "Violations"]
    rows = []
    mark = any(row.declared for row in data.rows)  # not when nothing is declared
    for row in data.rows:
        title = cell(row.title) + (" *(not declared)*" if mark and not row.declared else "")
        violations = str(row.violations)
        if row.baselined:
            violations += f" (+{row.baselined} baselined)"
        counts = [row.tests, row.passed, row.failed, row.skipped]
        rows.append([code(row.id), title.strip(), *map(str, counts), violations])
        rows[-1].append(STATUS_ICONS[row.status])
    return ["### Requirements", "", *_table([*header, "Status"], rows), ""]


def _state(violation: Violation) -> str:
    if violation.allowed:
        return "allowed" + (f" ({cell(violation.allowed_by)})" if violation.allowed_by else "")
    return "baselined" if violation.baselined else "**failing**"


def _violations(data: ReportData) -> list[str]:
    by_kind: dict[str, list[tuple[TestRecord, Violation]]] = {}
    for record, violation in data.results.violations():
        by_kind.setdefault(violation.kind, []).append((record, violation))
    if not by_kind:
        return []
    lines = ["### Violations", ""]
    order = [k for k in KINDS if k in by_kind] + sorted(set(by_kind) - set(KINDS))
    for kind in order:
        found = by_kind[kind]
        lines += [f"#### {kind} ({len(found)})", ""]
        header = ["Location", "Call", "Count", "Test", "Fix", "State"]
        rows = []
        for record, v in found[:MAX_ROWS]:
            call = code(v.name + ("()" if kind == "blocking-call" else ""))
            if v.duration is not None and v.duration >= 0.0005:  # no "(0.000 s)"
                call += f" ({v.duration:.3f} s)"
            test = code(record.nodeid)
            rows.append([code(v.where), call, str(v.count), test, cell(v.fix), _state(v)])
        lines += _table(header, rows)
        if len(found) > MAX_ROWS:
            lines.append(f"\n…and {len(found) - MAX_ROWS} more (see the JSON report).")
        lines.append("")
    return lines


def _async_functions(report: dict[str, Any]) -> list[str]:
    functions = report.get("functions") or []
    lacking = [f for f in functions if not f.get("has_await") and not f.get("allowed")]
    score = report.get("score")
    score_text = f"{score:.1f}%" if isinstance(score, (int, float)) else "n/a"
    lines = [
        "### Async functions without await",
        "",
        f"Score **{score_text}**: {plural(len(functions), 'async function')} analysed, "
        f"{len(lacking)} without await.",
        "",
    ]
    for func in lacking[:MAX_ROWS]:
        lines.append(f"- `{func.get('qualname')}` ({func.get('path')}:{func.get('line')})")
    if len(lacking) > MAX_ROWS:
        lines.append(f"- …and {len(lacking) - MAX_ROWS} more")
    return [*lines, ""] if lacking else lines


def _housekeeping(data: ReportData) -> list[str]:
    lines: list[str] = []
    if data.fixed:
        lines += [
            "### Baseline: fixed",
            "",
            "These baselined violations no longer happen; remove them from the baseline "
            "(rerun with `--asyncguard-update-baseline`).",
            "",
        ]
        for e in data.fixed:
            where = f"{e.path}" + (f" in {e.function}()" if e.function else "")
            lines.append(f"- {e.kind} `{e.name}` at `{where}` — `{e.test}`")
        lines.append("")
    if data.unused_patterns:
        lines += ["### Unused allowlist patterns", ""]
        lines += [f"- `{pattern}`" for pattern in data.unused_patterns]
        lines.append("")
    return lines


class MarkdownReporter:
    """Renders the job-summary page."""

    label = "Markdown"

    def render(self, data: ReportData) -> str:
        lines = [headline(data), ""]
        if data.rows:
            lines += _requirements(data)
        lines += _violations(data)
        if data.async_functions is not None:
            lines += _async_functions(data.async_functions)
        lines += _housekeeping(data)
        lines.append(f"<sub>pytest-asyncguard {data.version}</sub>")
        return "\n".join(lines) + "\n"
