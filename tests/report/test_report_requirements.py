"""Requirement declarations, natural order and the met/unmet/untested rules."""

from __future__ import annotations

import pytest

from pytest_asyncguard.report import ReportData
from pytest_asyncguard.requirements import (
    build_rows,
    natural_key,
    parse_declarations,
    summary,
    undeclared,
)
from pytest_asyncguard.results import RunResults, TestRecord, Violation


def run(*records: TestRecord) -> RunResults:
    return RunResults(tests={r.nodeid: r for r in records})


def violation(**kw: object) -> Violation:
    return Violation(kind="blocking-call", name="time.sleep", where="a.py:1", **kw)  # type: ignore[arg-type]


def status(results: RunResults, req: str = "R1") -> str:
    (row,) = [r for r in build_rows(results, {req: None}) if r.id == req]
    return row.status


def test_natural_order() -> None:
    ids = ["REQ-10", "7.10", "REQ-2", "7.2", "7.9", "10.1", "req-3", "A"]
    assert sorted(ids, key=natural_key) == [
        "7.2",
        "7.9",
        "7.10",
        "10.1",
        "A",
        "REQ-2",
        "req-3",
        "REQ-10",
    ]


def test_parse_declarations() -> None:
    lines = ["7.2: Orders: saved fast", "", "# a comment", "REQ-1", "REQ-3:", "  X-1 :  spaced  "]
    assert parse_declarations(lines) == {
        "7.2": "Orders: saved fast",
        "REQ-1": None,
        "REQ-3": None,
        "X-1": "spaced",
    }


@pytest.mark.parametrize("line", ["REQ 7: title with a spaced id", ": no id", "  :x"])
def test_malformed_declaration_names_the_line(line: str) -> None:
    with pytest.raises(ValueError, match="malformed requirement line") as info:
        parse_declarations(["OK: fine", line])
    assert repr(line.strip()) in str(info.value)


def test_duplicate_declaration() -> None:
    with pytest.raises(ValueError, match="'R1' declared twice"):
        parse_declarations(["R1: a", "R1: b"])


def test_met() -> None:
    results = run(TestRecord("t::a", "passed", ["R1"]), TestRecord("t::b", "skipped", ["R1"]))
    (row,) = build_rows(results, {"R1": "title"})
    assert (row.status, row.tests, row.passed, row.skipped, row.title) == ("met", 2, 1, 1, "title")


@pytest.mark.parametrize("outcome", ["failed", "error"])
def test_unmet_by_failure(outcome: str) -> None:
    results = run(TestRecord("t::a", "passed", ["R1"]), TestRecord("t::b", outcome, ["R1"]))
    assert status(results) == "unmet"


def test_unmet_by_violation_in_warn_mode() -> None:
    # In warn mode the test keeps its "passed" outcome; the violation still counts.
    results = run(TestRecord("t::a", "passed", ["R1"], [violation()]))
    (row,) = build_rows(results, {"R1": None})
    assert (row.status, row.passed, row.violations) == ("unmet", 1, 1)


def test_allowed_violation_keeps_met() -> None:
    results = run(TestRecord("t::a", "passed", ["R1"], [violation(allowed=True)]))
    (row,) = build_rows(results, {"R1": None})
    assert (row.status, row.violations) == ("met", 0)


def test_baselined_violation_keeps_met_but_is_counted() -> None:
    results = run(TestRecord("t::a", "passed", ["R1"], [violation(baselined=True)]))
    (row,) = build_rows(results, {"R1": None})
    assert (row.status, row.violations, row.baselined) == ("met", 0, 1)


def test_untested_without_tests_and_when_all_skipped() -> None:
    results = run(TestRecord("t::a", "skipped", ["R2"]))
    rows = {r.id: r for r in build_rows(results, {"R1": None, "R2": None})}
    assert rows["R1"].status == "untested"
    assert rows["R1"].tests == 0
    assert rows["R2"].status == "untested"
    assert rows["R2"].skipped == 1


def test_undeclared_ids_get_rows() -> None:
    results = run(TestRecord("t::a", "passed", ["R1", "NEW-1"]))
    rows = build_rows(results, {"R1": None})
    assert [(r.id, r.declared, r.status) for r in rows] == [
        ("NEW-1", False, "met"),
        ("R1", True, "met"),
    ]
    assert undeclared(rows) == ["NEW-1"]
    assert summary(rows) == (2, 2)


def test_a_test_naming_an_id_twice_counts_once() -> None:
    (row,) = build_rows(run(TestRecord("t::a", "passed", ["R1", "R1"])), {})
    assert row.tests == 1


def test_rows_sorted_naturally_and_to_dict(data: ReportData) -> None:
    assert [r.id for r in data.rows] == ["7.2", "7.10", "REQ-2", "REQ-10", "UNDECLARED-1"]
    by_id = {r.id: r.to_dict() for r in data.rows}
    assert by_id["7.2"]["status"] == "unmet"
    assert by_id["7.10"]["status"] == "unmet"  # the leaked task counts
    assert by_id["REQ-10"]["status"] == "untested"
    assert by_id["UNDECLARED-1"]["declared"] is False
    interface = {"id", "title", "tests", "passed", "failed", "violations", "status"}
    assert interface | {"skipped", "declared"} <= set(by_id["7.2"])
