"""Terminal sections (through a recording writer), JUnit properties, output files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_asyncguard.report import ReportData, ReportError, check_writable, write_output
from pytest_asyncguard.report.junit import family_allows_properties, junit_properties
from pytest_asyncguard.report.terminal import write_summary
from pytest_asyncguard.results import Violation


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def write_sep(self, sep: str, title: str | None = None, **markup: bool) -> None:
        self.lines.append((f"{sep * 3} {title} {sep * 3}", markup))

    def write_line(self, line: str, **markup: bool) -> None:
        self.lines.append((line, markup))

    @property
    def text(self) -> str:
        return "\n".join(line for line, _ in self.lines)


def test_terminal_sections(data: ReportData) -> None:
    tw = Recorder()
    write_summary(tw, data)
    text = tw.text
    assert "=== asyncguard violations ===" in text
    assert (
        "  blocking-call time.sleep() at src/shop/orders.py:42 x3 -> use await asyncio.sleep()"
        in text
    )
    assert "[allowed by asyncguard_allow: os.stat]" in text
    assert (
        "loop-stall shop.refunds.compute_fee at src/shop/refunds.py:88 (0.250s) [baselined]" in text
    )
    assert "leaked-task Task-7 (shop.refunds.notify) at tests/test_refunds.py:21 [teardown]" in text
    assert "=== asyncguard requirements ===" in text
    assert "1/5 requirements met" in text
    assert "--- asyncguard baseline: fixed, remove from baseline ---" in text
    assert "--- asyncguard: unused allowlist patterns ---" in text
    assert "asyncguard_allow: sqlite3.*" in text


def test_terminal_requirement_rows_are_aligned_and_coloured(data: ReportData) -> None:
    tw = Recorder()
    write_summary(tw, data)
    rows = {line.split()[0]: (line, markup) for line, markup in tw.lines if line[:1] in "7RU"}
    line, markup = rows["7.10"]
    assert markup == {"red": True}
    assert line.endswith("unmet     Refunds | chargebacks never stall the loop")
    assert rows["REQ-10"][1] == {"yellow": True}
    assert rows["UNDECLARED-1"][0].endswith("met       (not declared)")
    assert rows["UNDECLARED-1"][1] == {"green": True}
    assert len({len(line.split("  unmet")[0]) for line, _ in rows.values() if "unmet" in line}) == 1


def test_terminal_prints_nothing_for_a_clean_run(data: ReportData) -> None:
    data.results.tests.clear()
    data.rows, data.fixed, data.unused_patterns = [], [], []
    tw = Recorder()
    write_summary(tw, data)
    assert tw.lines == []


def test_junit_properties_from_dicts() -> None:
    violations = [
        Violation("blocking-call", "time.sleep", "a.py:3", count=2).to_dict(),
        Violation("loop-stall", "f", "b.py:9", phase="setup", baselined=True).to_dict(),
        Violation("never-awaited", "coro", "c.py:1", allowed=True).to_dict(),
    ]
    assert junit_properties(violations, ["7.2", "7.10", "7.2"]) == [
        ("requirements", "7.2,7.10"),
        ("asyncguard.violation", "blocking-call time.sleep at a.py:3 x2"),
        ("asyncguard.violation", "loop-stall f at b.py:9 (setup) [baselined]"),
        ("asyncguard.violation", "never-awaited coro at c.py:1 [allowed]"),
    ]
    assert junit_properties([], []) == []


def test_junit_properties_from_a_record(data: ReportData) -> None:
    record = data.results.tests["tests/test_orders.py::test_save"]
    props = junit_properties(record)
    assert props[0] == ("requirements", "7.2")
    assert len(props) == 3


@pytest.mark.parametrize(
    ("family", "allowed"), [("xunit1", True), ("legacy", True), ("xunit2", False), (None, False)]
)
def test_junit_family(family: str | None, allowed: bool) -> None:
    assert family_allows_properties(family) is allowed


def test_write_output_creates_parents(tmp_path: Path) -> None:
    path = write_output(tmp_path / "a" / "b" / "r.md", "x\n")
    assert path.read_text() == "x\n"


def test_check_writable(tmp_path: Path) -> None:
    check_writable(tmp_path / "new" / "deeper" / "r.json")  # parents can be created
    (tmp_path / "file").write_text("")
    check_writable(tmp_path / "file")
    with pytest.raises(ReportError, match="is not a directory"):
        check_writable(tmp_path / "file" / "r.json")
    with pytest.raises(ReportError, match="is a directory"):
        check_writable(tmp_path)
    with pytest.raises(ReportError, match="cannot write"):
        write_output(tmp_path / "file" / "r.json", "x")


def test_terminal_violations_are_capped_failing_first(data: ReportData) -> None:
    tw = Recorder()
    write_summary(tw, data, limit=1)
    text = tw.text
    assert "tests/test_orders.py::test_save" in text
    assert "test_refund[card]" not in text.split("=== asyncguard requirements")[0]
    assert "...and 1 more tests with violations (-v shows all; see the JSON report)" in text
