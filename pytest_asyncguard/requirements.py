"""Requirement rows: which declared requirements the run shows met, unmet or untested.

Declarations come from the ``asyncguard_requirements`` ini key, one per line,
``ID: title`` or just ``ID``. Tests name the requirements they verify with
``@pytest.mark.requirement(*ids)``; the core copies those ids into
:attr:`TestRecord.requirements`. Nothing here imports pytest.

Status rules (a row is one requirement id):

- ``unmet`` when any of its tests failed or errored, or had a violation that
  counts: not allowed (allowlist, ``allow_blocking``) and not baselined. This
  holds in ``warn`` mode too, where the test itself keeps its ``passed`` outcome:
  the violation was still seen, so the requirement is not shown to be met.
- ``met`` when at least one of its tests ran (passed) and none of the above.
  Baselined violations do not make a requirement unmet (the baseline is the
  accepted state of the code), but they are counted in ``baselined``.
- ``untested`` when no test of it ran: no test names it, or all that do were
  skipped. A skipped test verifies nothing.

Ids that tests use but the ini does not declare still get a row, with
``declared=False``; :func:`undeclared` lists them so the plugin can warn (only when
some requirements are declared at all: without a declaration list there is
nothing to check the ids against).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_asyncguard.results import RunResults

STATUSES = ("met", "unmet", "untested")

# An id is one token: no whitespace, no colon (the colon separates the title).
_DECLARATION = re.compile(r"^(?P<id>[^\s:]+)\s*(?::\s*(?P<title>.*?))?\s*$")
_DIGITS = re.compile(r"(\d+)")


def parse_declarations(lines: Iterable[str]) -> dict[str, str | None]:
    """Parse ``ID: title`` lines (title optional) into ``{id: title or None}``.

    Blank lines and lines starting with ``#`` are skipped. A line that is not
    ``ID`` or ``ID: title`` (an id with spaces, an empty id) or that repeats an
    id raises :class:`ValueError` naming the line.
    """
    declared: dict[str, str | None] = {}
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _DECLARATION.match(line)
        if match is None:
            raise ValueError(
                f"malformed requirement line {line!r}: expected 'ID: title' or 'ID', "
                "where ID has no spaces or colons"
            )
        req_id = match["id"]
        if req_id in declared:
            raise ValueError(f"requirement {req_id!r} declared twice, again in line {line!r}")
        declared[req_id] = match["title"] or None
    return declared


def natural_key(req_id: str) -> tuple[Any, ...]:
    """Sort key that orders numbers by value: ``7.2`` < ``7.10``, ``REQ-2`` < ``REQ-10``.

    ``re.split`` with a capturing group always yields text at even and digits
    at odd positions, so two keys only ever compare str with str and int with
    int. The id itself breaks ties (``REQ-02`` vs ``REQ-2``).
    """
    parts = _DIGITS.split(req_id)
    chunks = tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts))
    return (chunks, req_id)


@dataclass
class RequirementRow:
    """One line of the requirement table."""

    id: str
    title: str | None = None
    #: every test that names this requirement, in run order.
    nodeids: list[str] = field(default_factory=list)
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    #: violations that count (neither allowed nor baselined).
    violations: int = 0
    baselined: int = 0
    declared: bool = True

    @property
    def tests(self) -> int:
        return len(self.nodeids)

    @property
    def status(self) -> str:
        if self.failed or self.violations:
            return "unmet"
        if self.passed:
            return "met"
        return "untested"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "tests": self.tests,
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "violations": self.violations,
            "baselined": self.baselined,
            "status": self.status,
            "declared": self.declared,
            "nodeids": list(self.nodeids),
        }


def build_rows(results: RunResults, declared: Mapping[str, str | None]) -> list[RequirementRow]:
    """One row per declared or used requirement id, sorted by :func:`natural_key`."""
    rows = {req_id: RequirementRow(req_id, title) for req_id, title in declared.items()}
    for record in results.tests.values():
        for req_id in dict.fromkeys(record.requirements):  # once per test
            row = rows.get(req_id)
            if row is None:
                row = rows[req_id] = RequirementRow(req_id, declared=False)
            row.nodeids.append(record.nodeid)
            if record.outcome == "passed":
                row.passed += 1
            elif record.outcome == "skipped":
                row.skipped += 1
            else:  # failed, error
                row.failed += 1
            row.violations += len(record.failing)
            row.baselined += sum(1 for v in record.violations if v.baselined and not v.allowed)
    return sorted(rows.values(), key=lambda row: natural_key(row.id))


def undeclared(rows: Iterable[RequirementRow]) -> list[str]:
    """Ids that tests use but the declarations lack (in table order)."""
    return [row.id for row in rows if not row.declared]


def summary(rows: Iterable[RequirementRow]) -> tuple[int, int]:
    """``(met, total)`` for a headline such as ``requirements 4/5 met``."""
    rows = list(rows)
    return sum(1 for row in rows if row.status == "met"), len(rows)
