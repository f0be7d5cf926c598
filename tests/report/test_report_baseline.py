"""The baseline file: load errors, matching without line numbers, fixed entries, writing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_asyncguard.baseline import Baseline, BaselineError, Entry, write
from pytest_asyncguard.results import RunResults, TestRecord, Violation


def sleep(where: str = "src/app.py:10", **kw: object) -> Violation:
    return Violation(
        kind="blocking-call",
        name="time.sleep",
        where=where,
        function="handler",
        **kw,  # type: ignore[arg-type]
    )


def run(*records: TestRecord) -> RunResults:
    return RunResults(tests={r.nodeid: r for r in records})


def recorded(tmp_path: Path, *records: TestRecord) -> Baseline:
    path = tmp_path / "baseline.json"
    write(path, run(*records))
    return Baseline.load(path)


def test_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text("{not json")
    with pytest.raises(BaselineError, match="is not valid JSON"):
        Baseline.load(path)


@pytest.mark.parametrize("content", ['{"entries": []}', "[1, 2]", '"text"'])
def test_foreign_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "package.json"
    path.write_text(content)
    with pytest.raises(BaselineError, match="is not an asyncguard baseline file"):
        Baseline.load(path)


def test_future_format(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text('{"asyncguard_baseline": 2, "entries": []}')
    with pytest.raises(BaselineError, match="has format 2"):
        Baseline.load(path)


def test_malformed_entry(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text('{"asyncguard_baseline": 1, "entries": [{"kind": "x"}]}')
    with pytest.raises(BaselineError, match="malformed entry"):
        Baseline.load(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="--asyncguard-update-baseline"):
        Baseline.load(tmp_path / "nope.json")
    assert len(Baseline.load(tmp_path / "nope.json", missing_ok=True)) == 0


def test_key_survives_a_line_move(tmp_path: Path) -> None:
    baseline = recorded(tmp_path, TestRecord("t::a", violations=[sleep("src/app.py:10")]))
    assert baseline.is_baselined("t::a", sleep("src/app.py:14"))
    assert not baseline.is_baselined("t::b", sleep("src/app.py:10"))  # other test
    assert not baseline.is_baselined("t::a", sleep("src/other.py:10"))  # other file
    moved = Violation(kind="blocking-call", name="time.sleep", where="src/app.py:10", function="f")
    assert not baseline.is_baselined("t::a", moved)  # other function


def test_fixed_only_for_tests_that_ran(tmp_path: Path) -> None:
    baseline = recorded(
        tmp_path,
        TestRecord("t::a", violations=[sleep()]),
        TestRecord("t::b", violations=[sleep()]),
        TestRecord("t::c", violations=[sleep()]),
        TestRecord("t::d", violations=[sleep()]),
        TestRecord("t::e", violations=[sleep()]),
    )
    # a: still violates; b: fixed; c: skipped; d: failed (may not have reached it);
    # e: not in this run (-k subset)
    results = run(
        TestRecord("t::a", violations=[sleep(where="src/app.py:99", baselined=True)]),
        TestRecord("t::b"),
        TestRecord("t::c", outcome="skipped"),
        TestRecord("t::d", outcome="failed"),
    )
    assert [e.test for e in baseline.fixed(results)] == ["t::b"]


def test_allowed_now_counts_as_fixed(tmp_path: Path) -> None:
    baseline = recorded(tmp_path, TestRecord("t::a", violations=[sleep()]))
    results = run(TestRecord("t::a", violations=[sleep(allowed=True)]))
    assert [e.test for e in baseline.fixed(results)] == ["t::a"]


def test_write_is_stable_and_sorted(tmp_path: Path) -> None:
    results = run(
        TestRecord("t::z", violations=[sleep(count=2), sleep(where="src/app.py:12")]),
        TestRecord("t::a", violations=[sleep(where="b.py:1"), sleep(where="a.py:1")]),
        TestRecord("t::m", violations=[sleep(allowed=True)]),
    )
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    write(one, results)
    write(two, results)
    assert one.read_bytes() == two.read_bytes()
    text = one.read_text()
    assert text.endswith("}\n")
    data = json.loads(text)
    assert data["asyncguard_baseline"] == 1
    keys = [(e["test"], e["path"]) for e in data["entries"]]
    assert keys == [("t::a", "a.py"), ("t::a", "b.py"), ("t::z", "src/app.py")]
    assert data["entries"][-1]["count"] == 3  # two lines of one function: one entry
    assert "t::m" not in text  # allowed violations are not written
    assert '\n      "kind": "blocking-call",\n' in text  # one key per line


def test_update_keeps_entries_of_tests_that_did_not_run(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    old = write(
        path,
        run(TestRecord("t::a", violations=[sleep()]), TestRecord("t::b", violations=[sleep()])),
    )
    new = write(path, run(TestRecord("t::b")), previous=old)
    assert [e.test for e in new.entries.values()] == ["t::a"]
    assert [e.test for e in Baseline.load(path).entries.values()] == ["t::a"]


def test_entry_round_trip() -> None:
    entry = Entry("loop-stall", "f", "a.py", None, "t::a", count=4)
    assert Entry.from_dict(entry.to_dict()) == entry
