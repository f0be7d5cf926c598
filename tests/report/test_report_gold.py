"""The JSON and Markdown reports of a fixed example run, against files in ``gold/``.

The example is built in ``conftest.py`` (``example_data``). After an intended
change to a report, regenerate the expected files and review the diff::

    ASYNCGUARD_REGEN_GOLD=1 pytest tests/report/test_report_gold.py
    git diff tests/report/gold/

The example carries a fixed version string and no timestamps or absolute paths;
:func:`normalise` still masks the version, so bumping ``__version__`` never
touches the gold files.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from pytest_asyncguard.report import ReportData, Reporter, write_report
from pytest_asyncguard.report import json as json_report
from pytest_asyncguard.report.json import JsonReporter
from pytest_asyncguard.report.markdown import MarkdownReporter

GOLD = Path(__file__).parent / "gold"
REGEN = os.environ.get("ASYNCGUARD_REGEN_GOLD") == "1"


def normalise(text: str, data: ReportData) -> str:
    text = text.replace(data.version, "VERSION")
    return re.sub(r'"duration": [0-9.]+', '"duration": DURATION', text)


@pytest.mark.parametrize(
    ("reporter", "name"), [(JsonReporter(), "example.json"), (MarkdownReporter(), "example.md")]
)
def test_gold(reporter: Reporter, name: str, data: ReportData, tmp_path: Path) -> None:
    written = write_report(reporter, data, tmp_path / "out" / name)
    actual = normalise(written.read_text(encoding="utf-8"), data)
    if REGEN:
        (GOLD / name).write_text(actual, encoding="utf-8")
    expected = (GOLD / name).read_text(encoding="utf-8")
    assert actual == expected, f"{name} differs; see this module's docstring to regenerate"


def test_json_keeps_the_interface(data: ReportData) -> None:
    report = json.loads(JsonReporter().render(data))
    assert report["format"] == 1
    assert {"tests", "requirements", "async_functions", "allowlist"} <= set(report)
    violation_keys = {
        "kind", "name", "where", "phase", "duration", "allowed", "baselined", "message"
    }  # fmt: skip
    for test in report["tests"]:
        assert {"nodeid", "outcome", "requirements", "violations"} <= set(test)
        for violation in test["violations"]:
            assert violation_keys <= set(violation)
    assert report["allowlist"] == {"unused": ["asyncguard_allow: sqlite3.*"]}
    assert report["baseline"]["fixed"][0]["function"] == "load_rates"
    totals = report["totals"]
    assert (totals["violations"], totals["failing"], totals["allowed"], totals["baselined"]) == (
        4,
        2,
        1,
        1,
    )
    assert totals["by_kind"]["never-awaited"]["violations"] == 0


def test_json_without_async_functions(data: ReportData) -> None:
    data.async_functions = None
    assert json.loads(JsonReporter().render(data))["async_functions"] is None


def test_markdown_escapes_pipes_and_caps_lists(data: ReportData) -> None:
    functions = [
        {"qualname": f"m.f{i}", "path": "m.py", "line": i, "has_await": False, "allowed": None}
        for i in range(60)
    ]
    data.async_functions = {"functions": functions, "score": 0.0}
    text = MarkdownReporter().render(data)
    assert "Refunds \\| chargebacks" in text
    assert "- `m.f49`" in text
    assert "m.f50" not in text
    assert "…and 10 more" in text


def test_markdown_headline_without_violations(data: ReportData) -> None:
    for record in data.results.tests.values():
        record.violations.clear()
    data.rows = []
    assert MarkdownReporter().render(data).startswith("## asyncguard: no violations in 4 tests\n")


def test_json_layout_round_trips(data: ReportData) -> None:
    # one record per line, but the same data as json.dumps would write
    text = JsonReporter().render(data)
    assert json.loads(text) == json.loads(json.dumps(json_report.to_dict(data)))
    assert text.count("\n") > len(data.results.tests) + 10  # not one long line
