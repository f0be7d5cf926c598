"""The async-without-await report end to end, through pytester.

Each run copies the acceptance package ``shop`` (or a small one) into the
pytester folder, runs a few tests that call into it, and reads both the terminal
section and ``plugin.result.to_dict()`` (dumped by a conftest hook after the run,
the way the JSON and Markdown reporters read it).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import coverage  # imported here on purpose, see below
import pytest

from pytest_asyncguard.awaitless_plugin import FAIL_UNDER_MESSAGE
from pytest_asyncguard.report import asyncfuncs

# coverage is imported here, in the outer process, on purpose: pytester's in-process
# runs drop the modules they imported, and coverage's C tracer cannot be imported a
# second time in one process.

SHOP = Path(__file__).parent / "data" / "orders.py"
ACCEPTANCE = Path(__file__).resolve().parents[3] / "shared" / "acceptance" / "shop" / "orders.py"

DUMP_RESULT = """
import json, pathlib

def pytest_sessionfinish(session):
    if hasattr(session.config, "workerinput"):
        return
    plugin = session.config.pluginmanager.get_plugin("asyncguard-awaitless")
    if plugin is not None and plugin.result is not None:
        pathlib.Path("result.json").write_text(json.dumps(plugin.result.to_dict()))
"""


def not_under_outer_coverage(monkeypatch: pytest.MonkeyPatch) -> None:
    """asyncguard reads a coverage measurement that is already running instead of
    starting its own. When this suite itself runs under coverage (tox's xdist-cov),
    that measurement covers pytest_asyncguard, not the inner ``shop``: skip the
    tests of asyncguard's own measurement there, and keep subprocesses unmeasured."""
    if coverage.Coverage.current() is not None:
        pytest.skip("an outer coverage run is measuring this process")
    unmeasured_subprocesses(monkeypatch)


def unmeasured_subprocesses(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG", "COV_CORE_SOURCE"):
        monkeypatch.delenv(name, raising=False)


SHOP_TESTS = """
import asyncio
import pytest
from shop import orders

def test_render():
    assert asyncio.run(orders.render_invoice({"id": 7})) == "Invoice #7"

def test_send_gives_up():
    async def send():
        raise AssertionError("never called")
    with pytest.raises(ConnectionError):
        asyncio.run(orders.send_with_retry(send, attempts=0))
"""


@pytest.fixture
def shop(pytester: pytest.Pytester) -> pytest.Pytester:
    """The acceptance ``shop`` package plus tests that run two of its functions."""
    source = ACCEPTANCE if ACCEPTANCE.is_file() else SHOP
    package = pytester.mkpydir("shop")
    shutil.copy(source, package / "orders.py")
    pytester.makepyfile(test_shop=SHOP_TESTS)
    pytester.makeini(
        "[pytest]\nfilterwarnings = error\nasyncio_default_fixture_loop_scope = function\n"
    )
    return pytester


def use_plugin(
    pytester: pytest.Pytester,
    sources: list[str],
    fail_under: float | None = None,
    allow_no_await: list[str] | None = None,
) -> list[str]:
    """The command line that turns the report on, through the real options; the
    conftest dumps ``plugin.result.to_dict()`` after the run."""
    pytester.makeconftest(DUMP_RESULT)
    args = ["-p", "asyncguard", "-p", "no:cacheprovider"]
    args += [f"--asyncguard-source={source}" for source in sources]
    if fail_under is not None:
        args.append(f"--asyncguard-fail-under={fail_under:g}")
    if allow_no_await:
        ini = (pytester.path / "tox.ini").read_text().rstrip("\n") + "\n"
        lines = "".join(f"\n    {glob}" for glob in allow_no_await)
        (pytester.path / "tox.ini").write_text(f"{ini}asyncguard_allow_no_await ={lines}\n")
    return args


def result_of(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / "result.json").read_text())
    return data


def by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["qualname"].removeprefix("shop.orders."): f for f in data["functions"]}


def runtime(data: dict[str, Any]) -> dict[str, tuple[bool | None, bool | None]]:
    return {name: (f["executed"], f["await_executed"]) for name, f in by_name(data).items()}


EXPECTED_RUNTIME = {
    "Notifier.notify": (None, None),  # a one-liner: unknown without branch data
    "OrderRepository.save": (False, False),
    "OrderRepository.load": (False, False),
    "render_invoice": (True, False),
    "send_with_retry": (True, False),
    "archive": (False, False),
    "total": (False, False),
    "stream_orders": (False, False),
}
#: asyncguard's own measurement on Python 3.12+ (sys.monitoring) sees functions
#: start, so it knows that the one-liner never ran
EXPECTED_OWN = (
    {**EXPECTED_RUNTIME, "Notifier.notify": (False, False)}
    if sys.version_info >= (3, 12)
    else EXPECTED_RUNTIME
)
NO_BENCHMARK = ("-p", "no:benchmark")  # it warns under xdist, an error here


def test_acceptance_shop_without_coverage_plugin(
    shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_under_outer_coverage(monkeypatch)
    args = use_plugin(shop, sources=["shop"])
    result = shop.runpytest(*args, "--asyncguard-measure=always")
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    data = result_of(shop)
    flagged = sorted(n for n, f in by_name(data).items() if not f["has_await"] and not f["allowed"])
    assert flagged == ["OrderRepository.save", "archive", "render_invoice", "total"]
    assert by_name(data)["Notifier.notify"]["allowed"] == "protocol"
    assert data["score"] == 50.0
    assert runtime(data) == EXPECTED_OWN
    result.stdout.fnmatch_lines(
        [
            f"*- {asyncfuncs.TITLE} -*",
            "File*async functions*without await*allowed*ran without await",
            "shop/orders.py * 8 * 4 * 1 * 2",
            "TOTAL * 8 * 4 * 1 * 2",
            "async functions without await*",
            "  shop/orders.py:17  shop.orders.OrderRepository.save  (never ran)",
            "  shop/orders.py:29  shop.orders.render_invoice  (ran, never awaited)",
            "  shop/orders.py:42  shop.orders.archive  (never ran)",
            "  shop/orders.py:51  shop.orders.total  (never ran)",
            "async in name only in this run*",
            "  shop/orders.py:33  shop.orders.send_with_retry",
            "async-without-await score: 50.00 % (4 of 8 functions await or are allowed)",
        ]
    )


def test_with_pytest_cov_reads_its_data(shop: pytest.Pytester) -> None:
    args = use_plugin(shop, sources=["shop"])
    result = shop.runpytest_subprocess(*args, "--cov=shop", "--cov-report=term")
    assert result.ret == 0
    data = result_of(shop)
    assert data["coverage"] == "pytest-cov"
    assert runtime(data) == EXPECTED_RUNTIME
    result.stdout.fnmatch_lines(["*ran without await*", "*coverage: platform*"])


@pytest.mark.parametrize("cov", [[], ["--cov=shop", "--cov-report="]], ids=["own", "pytest-cov"])
def test_xdist_workers_measure_and_controller_combines(
    shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, cov: list[str]
) -> None:
    # Under pytest-cov this also proves the ordering: were our runtestloop wrapper
    # inside pytest-cov's, the controller would read its data before the workers'
    # data was combined, and nothing would have run.
    unmeasured_subprocesses(monkeypatch)
    args = use_plugin(shop, sources=["shop"])
    private_tmp = shop.mkdir("tmp")  # where the controller's data folder goes
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    measure = "--asyncguard-measure=always"  # own measurement on every Python
    result = shop.runpytest_subprocess(*args, *NO_BENCHMARK, "-n", "2", measure, *cov)
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    assert runtime(result_of(shop)) == (EXPECTED_RUNTIME if cov else EXPECTED_OWN)
    assert result_of(shop)["coverage"] == ("pytest-cov" if cov else "coverage")
    result.stdout.fnmatch_lines(["*shop.orders.render_invoice  (ran, never awaited)"])
    assert not list(private_tmp.glob("asyncguard-coverage-*"))  # removed at the end


def test_no_cov_means_no_runtime_columns(shop: pytest.Pytester) -> None:
    args = use_plugin(shop, sources=["shop"])
    result = shop.runpytest(*args, "--no-cov")
    assert result.ret == 0
    assert set(runtime(result_of(shop)).values()) == {(None, None)}
    result.stdout.fnmatch_lines(
        ["File*async functions*without await*allowed", "*no coverage data*"]
    )
    result.stdout.no_fnmatch_line("*ran without await*")


@pytest.mark.parametrize(("fail_under", "ret"), [(50.0, 0), (80.0, 1)])
def test_fail_under(shop: pytest.Pytester, fail_under: float, ret: int) -> None:
    args = use_plugin(shop, sources=["shop"], fail_under=fail_under)
    result = shop.runpytest(*args)
    result.assert_outcomes(passed=2)
    assert result.ret == ret
    message = FAIL_UNDER_MESSAGE.format(score=50.0, fail_under=80, short=30.0)
    assert message.endswith("is below --asyncguard-fail-under=80 (short by 30.00)")
    if ret:
        result.stdout.fnmatch_lines([message])
    else:
        result.stdout.no_fnmatch_line("*below --asyncguard-fail-under*")


def test_missing_source_is_a_usage_error(shop: pytest.Pytester) -> None:
    args = use_plugin(shop, sources=["shop", "no_such_dir"])
    result = shop.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*asyncguard_source / --asyncguard-source: 'no_such_dir'*"])
    assert not (shop.path / "result.json").exists()


def test_sources_as_dotted_names_and_files(shop: pytest.Pytester) -> None:
    args = use_plugin(shop, sources=["shop.orders"])
    shop.runpytest(*args).assert_outcomes(passed=2)
    assert len(result_of(shop)["functions"]) == 8


def test_syntax_error_file_is_skipped(shop: pytest.Pytester) -> None:
    (shop.path / "shop" / "broken.py").write_text("async def oops(:\n    pass\n")
    args = use_plugin(shop, sources=["shop"])
    result = shop.runpytest(*args)
    assert result.ret == 0
    assert [s["path"] for s in result_of(shop)["skipped"]] == ["shop/broken.py"]
    result.stdout.fnmatch_lines(
        ["skipped (could not be parsed):", "  shop/broken.py: SyntaxError*"]
    )


def test_sources_default_to_coverage_config(
    shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_under_outer_coverage(monkeypatch)
    args = use_plugin(shop, sources=[])
    shop.path.joinpath(".coveragerc").write_text("[run]\nsource = shop\n")
    result = shop.runpytest(*args, "--asyncguard-measure=always")
    assert result.ret == 0
    assert runtime(result_of(shop)) == EXPECTED_OWN


def test_no_sources_anywhere_does_nothing(shop: pytest.Pytester) -> None:
    args = use_plugin(shop, sources=[])
    result = shop.runpytest(*args)
    assert result.ret == 0
    result.stdout.no_fnmatch_line(f"*{asyncfuncs.TITLE}*")
    assert not (shop.path / "result.json").exists()


def test_internal_failure_warns_and_keeps_the_run_green(shop: pytest.Pytester) -> None:
    # Our own code fails (not coverage's, not pytest's): the run must stay green
    # even under filterwarnings=error, and the report falls back to static data.
    shop.makeconftest(
        "from pytest_asyncguard.awaitless_plugin import AsyncFunctionsPlugin\n"
        "class Broken(AsyncFunctionsPlugin):\n"
        "    def _runtime_data(self):\n"
        "        raise RuntimeError('boom')\n"
        "def pytest_configure(config):\n"
        "    config.pluginmanager.register(Broken(config, ['shop']), 'asyncguard-awaitless')\n"
        + DUMP_RESULT
    )
    result = shop.runpytest("-p", "no:asyncguard")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        ["*AsyncGuardWarning: asyncguard: could not read coverage data: RuntimeError('boom')"]
    )
    assert set(runtime(result_of(shop)).values()) == {(None, None)}


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring needs Python 3.12")
@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["single", "xdist"])
def test_sysmon_core(
    shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, xdist: list[str]
) -> None:
    monkeypatch.setenv("COVERAGE_CORE", "sysmon")
    args = use_plugin(shop, sources=["shop"])
    shop.makepyfile(
        test_core="""
        import pathlib
        import coverage

        def test_core():
            info = dict(coverage.Coverage.current().sys_info())
            pathlib.Path("core.txt").write_text(str(info["core"]))
        """
    )
    result = shop.runpytest_subprocess(*args, *NO_BENCHMARK, *xdist)
    result.assert_outcomes(passed=3)
    assert (shop.path / "core.txt").read_text() == "SysMonitor"
    assert runtime(result_of(shop)) == EXPECTED_RUNTIME


@pytest.mark.parametrize(("fail_under", "ret"), [(60, 0), (70, 1)])
def test_ini_keys(shop: pytest.Pytester, fail_under: int, ret: int) -> None:
    use_plugin(shop, sources=[], allow_no_await=["shop.orders.to*"])
    ini = (shop.path / "tox.ini").read_text().rstrip("\n") + "\n"
    settings = f"asyncguard_source = shop\nasyncguard_fail_under = {fail_under}\n"
    (shop.path / "tox.ini").write_text(ini + settings)
    result = shop.runpytest("-p", "asyncguard")
    result.assert_outcomes(passed=2)
    assert result.ret == ret
    assert by_name(result_of(shop))["total"]["allowed"] == "config"
    assert result_of(shop)["score"] == 62.5
    message = "asyncguard: async-without-await score 62.50 % is below "
    message += "--asyncguard-fail-under=70 (short by 7.50)"
    if ret:
        result.stdout.fnmatch_lines([message])
    else:
        result.stdout.no_fnmatch_line("*is below --asyncguard-fail-under*")


@pytest.mark.parametrize("measure", ["auto", "never"])
def test_measure_auto_and_never(
    shop: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, measure: str
) -> None:
    # auto measures where it is cheap (sys.monitoring, Python 3.12+); never does not
    # measure at all. Without runtime data the report is the static one, with a hint.
    not_under_outer_coverage(monkeypatch)
    args = use_plugin(shop, sources=["shop"])
    result = shop.runpytest(*args, f"--asyncguard-measure={measure}")
    result.assert_outcomes(passed=2)
    measured = measure == "auto" and sys.version_info >= (3, 12)
    if measured:
        assert runtime(result_of(shop)) == EXPECTED_OWN
        result.stdout.no_fnmatch_line("*no coverage data measured*")
    else:
        assert set(runtime(result_of(shop)).values()) == {(None, None)}
        result.stdout.fnmatch_lines(["(no coverage data measured:*"])
    hint = "(before Python 3.12 asyncguard measures only with --asyncguard-measure=always*"
    if measure == "auto" and not measured:
        result.stdout.fnmatch_lines([hint])
    else:
        result.stdout.no_fnmatch_line(hint)


def test_measure_setting_is_checked(shop: pytest.Pytester) -> None:
    args = use_plugin(shop, sources=["shop"])
    ini = (shop.path / "tox.ini").read_text().rstrip("\n") + "\n"
    (shop.path / "tox.ini").write_text(ini + "asyncguard_measure = sometimes\n")
    result = shop.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    message = "asyncguard: ini key asyncguard_measure got 'sometimes'; valid values: "
    result.stderr.fnmatch_lines([f"*{message}auto, always, never"])
