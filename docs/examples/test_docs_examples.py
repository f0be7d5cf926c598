"""The documentation's examples, run with asyncguard on, and the docs' quotes of them.

Every Markdown page under docs/ that quotes an example file does it like this::

    <!-- example: examples/test_quickstart.py -->
    ```python
    ...the whole file...
    ```

``test_quoted_examples_match_the_files`` keeps those quotes equal to the files;
the other tests run the files under asyncguard and check the output the pages show.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent
EXAMPLES = DOCS / "examples"
QUOTE = re.compile(r"<!-- example: (?P<file>[\w./-]+) -->\n```\w*\n(?P<body>.*?)```", re.S)
INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
"""


def quotes() -> list[tuple[str, str, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for match in QUOTE.finditer(page.read_text(encoding="utf-8")):
            found.append((page.name, match["file"], match["body"]))
    return found


def test_quoted_examples_match_the_files() -> None:
    found = quotes()
    assert found, "no page quotes an example"
    for page, file, body in found:
        source = (DOCS / file).read_text(encoding="utf-8")
        assert body == source, f"{page} quotes an outdated copy of {file}"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    return pytester


def copy(pytester: pytest.Pytester, name: str) -> None:
    pytester.path.joinpath(name).write_text((EXAMPLES / name).read_text(encoding="utf-8"))


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # A fresh interpreter per run: the patches asyncguard installs are process-wide.
    return pytester.runpytest_subprocess("-p", "asyncguard", "-p", "no:cacheprovider", *args)


def test_quickstart(project: pytest.Pytester) -> None:
    copy(project, "test_quickstart.py")
    result = run(project)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "asyncguard: mode strict, stall threshold 0.1 s, checks all, blockbuster *",
            "*_ test_fetch_profile _*",
            "asyncguard: blocking call to time.sleep() at test_quickstart.py:8 "
            "(use await asyncio.sleep())",
            "  phase: call, 0.05* s",
            "  test_quickstart.py:19 in test_fetch_profile",
            '      assert (await fetch_profile(7))["id"] == 7',
            "  test_quickstart.py:8 in fetch_profile",
            "      time.sleep(0.05)  # a slow call: the whole event loop waits here",
            "FAILED test_quickstart.py::test_fetch_profile - asyncguard: blocking call*",
        ]
    )


def test_quickstart_warn_mode(pytester: pytest.Pytester) -> None:
    # A project that turns warnings into errors keeps asyncguard's as warnings.
    pytester.makeini(
        INI
        + """filterwarnings =
    error
    default::pytest_asyncguard.AsyncGuardWarning
"""
    )
    copy(pytester, "test_quickstart.py")
    result = run(pytester, "--asyncguard-mode=warn")
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(
        ["*AsyncGuardWarning: asyncguard: blocking call to time.sleep() at test_quickstart.py:8*"]
    )


def test_quickstart_off(project: pytest.Pytester) -> None:
    copy(project, "test_quickstart.py")
    result = run(project, "--asyncguard-mode=off")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["asyncguard: off"])


def test_every_kind(project: pytest.Pytester) -> None:
    copy(project, "test_violations.py")
    result = run(project)
    result.assert_outcomes(failed=3, passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "asyncguard: loop stall of * s in crunch() at test_violations.py:10",
            "*the loop was held longer than 0.01 s: await more often*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "asyncguard: coroutine refresh() was never awaited, created at "
            "test_violations.py:31 (await it, or schedule it with asyncio.create_task())",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "asyncguard: task fail() raised ConnectionError: upstream went away and nobody "
            "retrieved it, created at test_violations.py:36 (await the task, or retrieve "
            "task.exception() in a done callback)",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaked_task*",
            # pytest-asyncio >= 1.0 shuts its loop down with asyncio.Runner, which
            # cancels the task; older releases leave it pending when the test ends
            "asyncguard: task sleep() leaked: created at test_violations.py:42, * (cancel "
            "and await it before the test ends, or use asyncio.TaskGroup)",
        ]
    )


def test_markers(project: pytest.Pytester) -> None:
    copy(project, "test_markers.py")
    result = run(project)
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "*asyncguard violations*",
            "test_markers.py::test_cache_warm_up",
            "  blocking-call sqlite3.Connection.execute() at test_markers.py:12 ?allowed by "
            "@pytest.mark.allow_blocking on test_markers.py::test_cache_warm_up: 'sqlite3.?']*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*asyncguard requirements*",
            "requirement  tests  passed  failed  skipped  violations  baselined  status*",
            "7.1 * 1 * 1 * 0 * 0 * 0 * 0 * met*",
            "7.3 * 1 * 1 * 0 * 0 * 0 * 0 * met*",
            "2/2 requirements met",
        ]
    )


def test_json_report(project: pytest.Pytester) -> None:
    copy(project, "test_quickstart.py")
    run(project, "--asyncguard-json=report.json").assert_outcomes(failed=1, passed=1)
    report = json.loads((project.path / "report.json").read_text())
    assert report["format"] == 1
    (test,) = [t for t in report["tests"] if t["violations"]]
    assert test["nodeid"] == "test_quickstart.py::test_fetch_profile"
    assert test["outcome"] == "failed"
    (v,) = test["violations"]
    assert {k: v[k] for k in ("kind", "name", "where", "phase", "allowed", "baselined")} == {
        "kind": "blocking-call",
        "name": "time.sleep",
        "where": "test_quickstart.py:8",
        "phase": "call",
        "allowed": False,
        "baselined": False,
    }
    assert v["message"].startswith("asyncguard: blocking call to time.sleep()")


def test_markdown_report(project: pytest.Pytester) -> None:
    copy(project, "test_quickstart.py")
    run(project, "--asyncguard-md=report.md").assert_outcomes(failed=1, passed=1)
    text = (project.path / "report.md").read_text()
    assert text.startswith("## asyncguard: 1 violation")
    assert "`test_quickstart.py:8`" in text


def test_junit_properties(project: pytest.Pytester) -> None:
    copy(project, "test_quickstart.py")
    run(project, "--junitxml=junit.xml", "-o", "junit_family=xunit1")
    xml = (project.path / "junit.xml").read_text()
    assert (
        '<property name="asyncguard.violation" '
        'value="blocking-call time.sleep at test_quickstart.py:8" />' in xml
    )


def test_baseline_workflow(project: pytest.Pytester) -> None:
    copy(project, "test_quickstart.py")
    first = run(
        project, "--asyncguard-baseline=asyncguard-baseline.json", "--asyncguard-update-baseline"
    )
    first.assert_outcomes(passed=2)
    first.stdout.fnmatch_lines(["asyncguard: baseline written to *asyncguard-baseline.json*"])
    data = json.loads((project.path / "asyncguard-baseline.json").read_text())
    assert data["asyncguard_baseline"] == 1
    assert [
        (e["kind"], e["name"], e["path"], e["function"], e["test"]) for e in data["entries"]
    ] == [
        (
            "blocking-call",
            "time.sleep",
            "test_quickstart.py",
            "fetch_profile",
            "test_quickstart.py::test_fetch_profile",
        )
    ]
    again = run(project, "--asyncguard-baseline=asyncguard-baseline.json")
    again.assert_outcomes(passed=2)


def test_example_ini(project: pytest.Pytester) -> None:
    """configuration.md's full pytest.ini is valid as written."""
    project.makeini((EXAMPLES / "pytest-example.ini").read_text())
    project.mkpydir("myapp").joinpath("handlers.py").write_text(
        "import asyncio\n\n\nasync def ping():\n    await asyncio.sleep(0)\n"
    )
    copy(project, "test_quickstart.py")
    # The ini names a baseline file: the first run writes it.
    result = run(project, "--asyncguard-update-baseline")
    result.assert_outcomes(passed=2)
    # asyncguard_scope = myapp: the tests' own time.sleep does not count.
    assert "blocking call to time.sleep" not in result.stdout.str()
    result.stdout.fnmatch_lines(["asyncguard: mode strict, stall threshold 0.1 s, checks all*"])
    assert (project.path / "asyncguard-report.json").exists()
    assert (project.path / "asyncguard-report.md").exists()
