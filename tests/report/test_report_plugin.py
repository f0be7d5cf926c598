"""ReportPlugin in a real inner pytest session, with a stand-in for the core.

The inner run switches the real core off (``-p no:asyncguard``) and its conftest
registers :class:`ReportPlugin` beside a small fake core that does what the
core promises: it asks ``is_baselined``, puts ``report.asyncguard`` and
``report.asyncguard_requirements`` on each report and fills ``RunResults``.
Violations come from a ``fake_violation(kind, name, line)`` marker. This tests
the plugin's hooks independently of detection; ``test_report_e2e_core.py``
runs the real thing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

CONFTEST = """
import pytest
from pytest_asyncguard.report_plugin import ReportPlugin
from pytest_asyncguard.results import RunResults, Violation
from pytest_asyncguard.settings import Settings

SETTINGS = {settings!r}


class FakeCore:
    def __init__(self, results, reports):
        self.results, self.reports = results, reports

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        found = []
        for mark in item.iter_markers("fake_violation"):
            kind, name, line = mark.args
            if mark.kwargs.get("when", "call") != call.when:
                continue
            v = Violation(kind, name, f"test_it.py:{{line}}", phase=call.when,
                          function=item.name, message=f"asyncguard: {{kind}} {{name}}")
            v.baselined = self.reports.is_baselined(item.nodeid, v)
            found.append(v)
        report.asyncguard = [v.to_dict() for v in found]
        report.asyncguard_requirements = [
            r for m in item.iter_markers("requirement") for r in m.args]
        return report

    def pytest_runtest_logreport(self, report):
        rec = self.results.record(report.nodeid)
        rec.requirements = list(report.asyncguard_requirements)
        for data in report.asyncguard:
            rec.add(Violation.from_dict(data))
        if report.when == "call" or report.skipped:
            rec.outcome = report.outcome


def pytest_configure(config):
    config.addinivalue_line("markers", "fake_violation(kind, name, line, when='call')")
    config.addinivalue_line("markers", "requirement(*ids)")
    results = RunResults()
    reports = ReportPlugin(config, Settings(**SETTINGS), results,
                           async_functions=lambda: {{"functions": [], "score": 100.0}})
    config.pluginmanager.register(reports, "asyncguard-reports")
    config.pluginmanager.register(FakeCore(results, reports), "fake-core")
"""

TESTS = """
import pytest

@pytest.mark.requirement("7.10")
@pytest.mark.fake_violation("blocking-call", "time.sleep", 5)
def test_sleeps():
    pass

@pytest.mark.requirement("7.2", "NEW-1")
def test_clean():
    pass

@pytest.mark.requirement("7.2")
@pytest.mark.skip(reason="later")
def test_later():
    pass
"""

WARN_DEFAULT = ["-W", "default::pytest_asyncguard.AsyncGuardWarning"]


def project(pytester: pytest.Pytester, tests: str = TESTS, **settings: Any) -> pytest.Pytester:
    settings.setdefault("requirements", ("7.2: Saved", "7.10: Fast | safe"))
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest(CONFTEST.format(settings=settings))
    pytester.makepyfile(test_it=tests)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:asyncguard", "-p", "no:cacheprovider", *args)


def test_table_reports_and_undeclared_warning(pytester: pytest.Pytester) -> None:
    project(pytester, json="out/r.json", md="out/r.md")
    result = run(pytester, *WARN_DEFAULT)
    result.assert_outcomes(passed=2, skipped=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*= asyncguard violations =*",
            "test_it.py::test_sleeps",
            "  blocking-call time.sleep() at test_it.py:5",
            "*= asyncguard requirements =*",
            "requirement*status*title",
            "7.2 * 2 * 1 * 0 * 1 * 0 * 0  met * Saved",
            "7.10 * 1 * 1 * 0 * 0 * 1 * 0  unmet * Fast | safe",
            "NEW-1 * met * (not declared)",
            "2/3 requirements met",
            "asyncguard: JSON report written to *r.json",
            "asyncguard: Markdown report written to *r.md",
        ]
    )
    result.stdout.fnmatch_lines(["*AsyncGuardWarning: asyncguard: tests name requirements not*"])
    report = json.loads((pytester.path / "out" / "r.json").read_text())
    assert [r["status"] for r in report["requirements"]] == ["met", "unmet", "met"]
    assert report["async_functions"] == {"functions": [], "score": 100.0}
    md = (pytester.path / "out" / "r.md").read_text()
    assert md.startswith("## asyncguard: 1 violation in 1 test, requirements 2/3 met\n")


def test_undeclared_warning_as_error_fails_the_run(pytester: pytest.Pytester) -> None:
    project(pytester)
    result = run(pytester, "-W", "error::pytest_asyncguard.AsyncGuardWarning")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["asyncguard: tests name requirements not declared*NEW-1"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_no_warning_without_declarations(pytester: pytest.Pytester) -> None:
    project(pytester, requirements=())
    result = run(pytester, "-W", "error::pytest_asyncguard.AsyncGuardWarning")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["NEW-1 * met"])
    result.stdout.no_fnmatch_line("*not declared*")


def test_malformed_declaration(pytester: pytest.Pytester) -> None:
    project(pytester, requirements=("7.2: ok", "REQ 9: spaced id"))
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*asyncguard: ini key asyncguard_requirements: malformed requirement line 'REQ 9*"]
    )


def test_unwritable_report_path_stops_before_tests(pytester: pytest.Pytester) -> None:
    project(pytester, md="blocker/summary.md")
    (pytester.path / "blocker").write_text("a file, not a folder")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*asyncguard: ini key asyncguard_md: cannot create*not a directory*"]
    )
    result.stdout.no_fnmatch_line("*passed*")


def test_write_failure_at_the_end_is_reported(pytester: pytest.Pytester) -> None:
    tests = TESTS + "\ndef test_zz_take_the_path():\n    import os; os.mkdir('late.json')\n"
    project(pytester, tests, json="late.json")
    result = run(pytester)
    result.assert_outcomes(passed=3, skipped=1)
    result.stdout.fnmatch_lines(["asyncguard: JSON report not written: cannot write *late.json*"])
    result.stdout.no_fnmatch_line("*Traceback*")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "*does not exist; create it by running with --asyncguard-update-baseline*"),
        ("{oops", "*is not valid JSON*"),
        ('{"name": "my-package"}', "*is not an asyncguard baseline file*"),
    ],
)
def test_baseline_errors(pytester: pytest.Pytester, content: str | None, message: str) -> None:
    project(pytester, baseline="base.json")
    if content is not None:
        (pytester.path / "base.json").write_text(content)
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*asyncguard: ini key asyncguard_baseline:" + message])


def test_update_baseline_needs_a_path(pytester: pytest.Pytester) -> None:
    project(pytester, update_baseline=True)
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--asyncguard-update-baseline needs a baseline file*"])


def test_baseline_cycle(pytester: pytest.Pytester) -> None:
    project(pytester, baseline="base.json", update_baseline=True, json="r.json")
    run(pytester).stdout.fnmatch_lines(
        ["asyncguard: baseline written to *base.json (1 entries, 0 removed)"]
    )
    first = (pytester.path / "base.json").read_bytes()
    entry = json.loads(first)["entries"][0]
    assert entry == {
        "count": 1,
        "function": "test_sleeps",
        "kind": "blocking-call",
        "name": "time.sleep",
        "path": "test_it.py",
        "test": "test_it.py::test_sleeps",
    }
    # The violation moves a line: still baselined. (The new file differs in
    # size too: pytest 8.4 keeps a rewritten module whose size and mtime match.)
    moved = TESTS.replace('"time.sleep", 5', '"time.sleep", 12')
    project(pytester, moved, baseline="base.json", json="r.json")
    run(pytester).stdout.fnmatch_lines(
        ["*blocking-call time.sleep() at test_it.py:12 [[]baselined]"]
    )
    # Fixed: listed, and the file is untouched without the update flag.
    project(
        pytester,
        TESTS.replace('@pytest.mark.fake_violation("blocking-call", "time.sleep", 5)', ""),
        baseline="base.json",
        json="r.json",
    )
    result = run(pytester)
    result.stdout.fnmatch_lines(
        [
            "*- asyncguard baseline: fixed, remove from baseline -*",
            "blocking-call time.sleep at test_it.py in test_sleeps() (test_it.py::test_sleeps)",
        ]
    )
    assert (pytester.path / "base.json").read_bytes() == first
    assert (
        json.loads((pytester.path / "r.json").read_text())["baseline"]["fixed"][0]["name"]
        == "time.sleep"
    )
    # -k subset: the baselined test did not run, so nothing is "fixed".
    run(pytester, "-k", "clean").stdout.no_fnmatch_line("*fixed, remove from baseline*")


def test_mode_off_reports_nothing(pytester: pytest.Pytester) -> None:
    project(pytester, mode="off", json="r.json", md="blocker/r.md", baseline="missing.json")
    (pytester.path / "blocker").write_text("")
    result = run(pytester)
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.no_fnmatch_line("*asyncguard*")
    assert not (pytester.path / "r.json").exists()


JUNIT_TESTS = """
import pytest

@pytest.mark.requirement("7.2", "7.10")
@pytest.mark.fake_violation("blocking-call", "time.sleep", 5)
@pytest.mark.fake_violation("leaked-task", "Task-1", 6, when="teardown")
def test_one():
    pass

def test_two():
    pass
"""


def junit_props(path: Path) -> dict[str, list[tuple[str, str]]]:
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    return {
        tc.get("name", ""): [(p.get("name", ""), p.get("value", "")) for p in tc.iter("property")]
        for tc in root.iter("testcase")
    }


EXPECTED_PROPS = [
    ("requirements", "7.2,7.10"),
    ("asyncguard.violation", "blocking-call time.sleep at test_it.py:5"),
    ("asyncguard.violation", "leaked-task Task-1 at test_it.py:6 (teardown)"),
]


@pytest.mark.parametrize("family", ["xunit1", "legacy"])
def test_junit_properties(pytester: pytest.Pytester, family: str) -> None:
    project(pytester, JUNIT_TESTS)
    run(pytester, "--junitxml=j.xml", "-o", f"junit_family={family}").assert_outcomes(passed=2)
    assert junit_props(pytester.path / "j.xml") == {"test_one": EXPECTED_PROPS, "test_two": []}


def test_junit_xunit2_stays_valid(pytester: pytest.Pytester) -> None:
    project(pytester, JUNIT_TESTS)
    run(pytester, "--junitxml=j.xml").assert_outcomes(passed=2)
    assert junit_props(pytester.path / "j.xml") == {"test_one": [], "test_two": []}


def test_junit_properties_under_xdist(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    project(pytester, JUNIT_TESTS, json="r.json")
    result = pytester.runpytest_subprocess(
        "-p", "no:asyncguard", "-p", "xdist", "-n", "2", "--junitxml=j.xml",
        "-o", "junit_family=xunit1",
    )  # fmt: skip
    result.assert_outcomes(passed=2)
    assert junit_props(pytester.path / "j.xml")["test_one"] == EXPECTED_PROPS
    report = json.loads((pytester.path / "r.json").read_text())
    assert report["totals"]["violations"] == 2
    assert report["requirements"][0]["status"] == "unmet"
