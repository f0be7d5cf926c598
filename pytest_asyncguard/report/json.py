"""The JSON report CI reads (``--asyncguard-json``).

The keys listed in INTERFACE.md are a promise: new keys may be added, none may
be renamed or change meaning. Bump :data:`FORMAT` only for a change that breaks
a reader, and log every change here.

Format log:

- 1: first version. ``format``, ``version``, ``settings``, ``totals``,
  ``tests``, ``requirements``, ``async_functions``, ``allowlist``, ``baseline``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pytest_asyncguard.report import ReportData
from pytest_asyncguard.results import KINDS, RunResults

FORMAT = 1
OUTCOMES = ("passed", "failed", "skipped", "error")


def totals(results: RunResults) -> dict[str, Any]:
    """Counts of tests by outcome and of violations (call sites) by kind.

    ``violations`` counts every site; ``failing`` those neither allowed nor
    baselined; ``allowed`` and ``baselined`` the rest. ``by_kind`` has all kinds,
    zeros included, so a reader can index it without checking.
    """
    tests = dict.fromkeys(OUTCOMES, 0)
    for record in results.tests.values():
        tests[record.outcome] = tests.get(record.outcome, 0) + 1
    by_kind = {
        kind: {"violations": 0, "failing": 0, "allowed": 0, "baselined": 0} for kind in KINDS
    }
    for _, violation in results.violations():
        counts = by_kind.setdefault(
            violation.kind, {"violations": 0, "failing": 0, "allowed": 0, "baselined": 0}
        )
        counts["violations"] += 1
        if violation.allowed:
            counts["allowed"] += 1
        elif violation.baselined:
            counts["baselined"] += 1
        else:
            counts["failing"] += 1
    overall = {
        name: sum(c[name] for c in by_kind.values())
        for name in ("violations", "failing", "allowed", "baselined")
    }
    return {"tests": {"total": len(results.tests), **tests}, **overall, "by_kind": by_kind}


def to_dict(data: ReportData) -> dict[str, Any]:
    """The report as plain data, in the key order it is written."""
    body = _sections(data)
    body["tests"] = list(body["tests"])
    return body


def _sections(data: ReportData) -> dict[str, Any]:
    """:func:`to_dict`, with the tests as an iterator: the writer turns each test
    into its line and lets the dict go, so a large run is never held twice."""
    return {
        "format": FORMAT,
        "version": data.version,
        "settings": data.settings,
        "totals": totals(data.results),
        "tests": (record.to_dict() for record in data.results.tests.values()),
        "requirements": [row.to_dict() for row in data.rows],
        "async_functions": data.async_functions,
        "allowlist": {"unused": list(data.unused_patterns)},
        "baseline": {"fixed": [entry.to_dict() for entry in data.fixed]},
    }


class JsonReporter:
    """Renders :func:`to_dict` as JSON with a trailing newline: the sections and
    their keys one per line, and one line per test, requirement or function."""

    label = "JSON"

    def render(self, data: ReportData) -> str:
        return _layout(_sections(data), 0) + "\n"


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _layout(value: Any, depth: int) -> str:
    """Indented JSON down to the lists of records, each record on its own line.

    ``json.dumps(indent=2)`` runs the encoder written in Python (one generator
    step per value); compact records go through the C encoder, about five times
    faster, which matters for a report of many thousands of tests.
    """
    pad = "  " * (depth + 1)
    if isinstance(value, dict) and value and depth < 3:
        items = [f"{_compact(k)}: {_layout(v, depth + 1)}" for k, v in value.items()]
    elif isinstance(value, (list, Iterator)) and depth < 3:
        items = [_compact(v) for v in value]
        if not items:
            return "[]"
    else:
        return _compact(value)
    opening, closing = "{}" if isinstance(value, dict) else "[]"
    return f"{opening}\n{pad}" + f",\n{pad}".join(items) + f"\n{pad[2:]}{closing}"
