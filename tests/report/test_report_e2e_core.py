"""End to end with the real core: the baseline cycle, report paths, the requirement table.

``test_report_plugin.py`` covers the same hooks with a stand-in core, so a
failure here that is not there points at the wiring in ``plugin.py`` or at
detection rather than at the reports.
"""

from __future__ import annotations

import json

import pytest

BEFORE = """
import time
import pytest

def save():
    time.sleep(0.001)

def refund():
    time.sleep(0.001)

@pytest.mark.asyncio
@pytest.mark.requirement("7.2")
async def test_save():
    save()

@pytest.mark.asyncio
@pytest.mark.requirement("7.10")
async def test_refund():
    refund()
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def test_baseline_cycle(ag: pytest.Pytester) -> None:
    ag.makepyfile(test_shop=BEFORE)
    base = ["--asyncguard-baseline=base.json"]

    # 1. Record: the run passes and the file holds one entry per call site.
    run(ag, *base, "--asyncguard-update-baseline").assert_outcomes(passed=2)
    entries = json.loads((ag.path / "base.json").read_text())["entries"]
    assert sorted((e["test"], e["function"], e["name"]) for e in entries) == [
        ("test_shop.py::test_refund", "refund", "time.sleep"),
        ("test_shop.py::test_save", "save", "time.sleep"),
    ]
    recorded = (ag.path / "base.json").read_bytes()

    # 2. With the baseline the same code passes, also after moving it down two lines.
    ag.makepyfile(test_shop="\n\n" + BEFORE)
    result = run(ag, *base)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*time.sleep() at test_shop.py:* [[]baselined]*"])

    # 3. A new violation fails its test; the baselined one does not.
    new = BEFORE.replace("    save()", "    save()\n    time.sleep(0.001)")
    ag.makepyfile(test_shop=new)
    result = run(ag, *base)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*FAILED test_shop.py::test_save*blocking*"])

    # 4. Fixing test_refund lists its entry as fixed; the file is not rewritten.
    ag.makepyfile(test_shop=new.replace("    refund()", "    pass"))
    result = run(ag, *base, "--asyncguard-json=r.json")
    result.stdout.fnmatch_lines(
        [
            "*asyncguard baseline: fixed, remove from baseline*",
            "blocking-call time.sleep at test_shop.py in refund() (test_shop.py::test_refund)",
        ]
    )
    fixed = json.loads((ag.path / "r.json").read_text())["baseline"]["fixed"]
    assert [e["test"] for e in fixed] == ["test_shop.py::test_refund"]
    assert (ag.path / "base.json").read_bytes() == recorded


def test_missing_baseline_is_a_usage_error(ag: pytest.Pytester) -> None:
    ag.makepyfile(test_shop=BEFORE)
    result = run(ag, "--asyncguard-baseline=nope.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--asyncguard-baseline: baseline file*nope.json* does not exist; create it by "
         "running with --asyncguard-update-baseline"]
    )  # fmt: skip


@pytest.mark.parametrize("option", ["--asyncguard-json", "--asyncguard-md"])
def test_unwritable_report_path_stops_before_tests(ag: pytest.Pytester, option: str) -> None:
    ag.makepyfile(test_shop=BEFORE)
    (ag.path / "blocker").write_text("a file, not a folder")
    result = run(ag, f"{option}=blocker/report.out")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*asyncguard: {option}: cannot create*not a directory*"])
    result.stdout.no_fnmatch_line("*test_shop.py*")


def test_requirement_table_at_end_of_run(ag: pytest.Pytester) -> None:
    ag.makeini(
        """
        [pytest]
        asyncio_mode = strict
        asyncio_default_fixture_loop_scope = function
        asyncguard_mode = warn
        asyncguard_requirements =
            7.2: Orders are saved
            7.10: Refunds are fast
            7.11: Not yet tested
        """
    )
    ag.makepyfile(test_shop=BEFORE.replace("    save()", "    pass"))
    result = run(ag, "-W", "default::pytest_asyncguard.AsyncGuardWarning", "--asyncguard-md=s.md")
    result.assert_outcomes(passed=2, warnings=1)  # warn mode: the violation is a warning
    result.stdout.fnmatch_lines(
        [
            "*= asyncguard requirements =*",
            "requirement*status*title",
            "7.2 *  met * Orders are saved",
            "7.10 *  unmet * Refunds are fast",
            "7.11 *  untested * Not yet tested",
            "1/3 requirements met",
        ]
    )
    assert (
        (ag.path / "s.md")
        .read_text()
        .startswith("## asyncguard: 1 violation in 1 test, requirements 1/3 met\n")
    )


def test_mode_off_writes_nothing(ag: pytest.Pytester) -> None:
    ag.makepyfile(test_shop=BEFORE)
    result = run(ag, "--asyncguard-mode=off", "--asyncguard-json=r.json")
    result.assert_outcomes(passed=2)
    assert not (ag.path / "r.json").exists()
