"""pytest hooks only: each reads settings and delegates to the plain modules.

What happens when a test runs: before its setup the engine learns which test
is running; when pytest makes a phase's report (setup, call, teardown), the
engine returns what was found since the previous one: the phase's violations.
They travel on that TestReport (``report.asyncguard``, plain dicts, so xdist
carries them), and in strict mode a phase with violations neither allowed nor
baselined is failed. The per-test hooks (``Phases``, ``WideFixtures``) cost a
few microseconds a test, so there are as few as possible, and they are
registered only once the engine wakes: when an event loop first runs (see
``Engine.wake`` and docs/performance.md).
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Generator
from importlib.metadata import PackageNotFoundError, version
from types import FrameType
from typing import Any

import pytest

from pytest_asyncguard import markers, settings
from pytest_asyncguard.awaitless_plugin import AsyncFunctionsPlugin
from pytest_asyncguard.engine import Engine
from pytest_asyncguard.policy import TestPolicy
from pytest_asyncguard.report_plugin import ReportPlugin
from pytest_asyncguard.results import RunResults, Violation
from pytest_asyncguard.settings import Settings
from pytest_asyncguard.warnings import AsyncGuardWarning

SETTINGS_KEY = pytest.StashKey[Settings]()
_NO_POLICY = TestPolicy()


def pytest_addoption(parser: pytest.Parser) -> None:
    settings.add_options(parser)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    markers.register(config)
    resolved = settings.resolve(config)
    config.stash[SETTINGS_KEY] = resolved
    results = RunResults(every_test=bool(resolved.json or resolved.md or resolved.baseline))
    functions: AsyncFunctionsPlugin | None = None
    if resolved.active:
        functions = AsyncFunctionsPlugin(
            config,
            sources=list(resolved.source),
            fail_under=resolved.fail_under,
            allow_no_await=list(resolved.allow_no_await),
            measure=resolved.measure,
        )

    def async_functions() -> dict[str, Any] | None:
        result = functions.result if functions is not None else None
        return result.to_dict() if result is not None else None

    # The report plugin checks report paths, requirement declarations and the
    # baseline in its constructor: bad ones stop the run before any test.
    reports = ReportPlugin(config, resolved, results, async_functions=async_functions)
    config.pluginmanager.register(reports, "asyncguard-reports")
    if functions is not None:
        if functions.paths:  # no sources, no report: its hooks would have nothing to do
            config.pluginmanager.register(functions, "asyncguard-awaitless")
        core = AsyncGuard(config, resolved, results)
        core.is_baselined = reports.is_baselined
        config.pluginmanager.register(core, "asyncguard-core")
        if results.every_test or _is_xdist_controller(config):
            core.record_reports()


def pytest_report_header(config: pytest.Config) -> str:
    s = config.stash.get(SETTINGS_KEY, None)
    if s is None or not s.active:
        return "asyncguard: off"
    checks = "all" if len(s.checks) == 5 else ", ".join(sorted(s.checks))
    try:
        bb = version("blockbuster")
    except PackageNotFoundError:  # pragma: no cover
        bb = "?"
    return (
        f"asyncguard: mode {s.mode}, stall threshold {s.stall_threshold:g} s, "
        f"checks {checks}, blockbuster {bb}"
    )


def _is_xdist_controller(config: pytest.Config) -> bool:
    return getattr(config.option, "dist", "no") != "no" and not hasattr(config, "workerinput")


def _running_test(session: pytest.Session | None) -> str | None:
    """The node id of the session's test whose phase runs now: pytest sets
    ``PYTEST_CURRENT_TEST`` to "<node id> (<phase>)" for each phase. (During
    collection it can still name a test of an outer run, under pytester.)"""
    nodeid, paren, _ = os.environ.get("PYTEST_CURRENT_TEST", "").rpartition(" (")
    if not paren or session is None:
        return None
    return nodeid if any(item.nodeid == nodeid for item in session.items) else None


def _wide_fixtures_in_setup() -> list[Any]:
    """The fixtures wider than function scope that this thread is setting up
    (WideFixtures was not registered yet when their setup began): the frames of
    ``pytest_fixture_setup`` hook implementations on the stack, by the argument
    name the hook specification fixes."""
    found = []
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "pytest_fixture_setup":
            fixturedef = frame.f_locals.get("fixturedef")
            if getattr(fixturedef, "scope", "function") != "function":
                found.append(fixturedef)
        frame = frame.f_back
    return found


class AsyncGuard:
    """The per-session plugin object: owns the engine and the run's results."""

    def __init__(self, config: pytest.Config, s: Settings, results: RunResults) -> None:
        self.config = config
        self.settings = s
        self.results = results
        self.engine = Engine(s, str(config.rootpath))
        self.is_baselined: Callable[[str, Violation], bool] = lambda _n, _v: False
        self.internal_errors: list[str] = []
        self.is_worker = hasattr(config, "workerinput")
        self._recording: Recording | None = None
        self._phases: Phases | None = None
        self._session: pytest.Session | None = None
        #: the tests with allow_blocking / stall_threshold markers, by node id
        self.policies: dict[str, TestPolicy] = {}
        #: the tests' requirement ids, by node id
        self.requirements: dict[str, list[str]] = {}
        self.engine.on_wake = self._wake
        self.results.known_patterns |= {f"asyncguard_allow: {p}" for p in s.allow}
        self.results.known_patterns |= {f"asyncguard_allow_in: {p}" for p in s.allow_in}

    def record_reports(self) -> None:
        """Build the run's results from the test reports from now on.

        Registered when first needed (a violation, a failure, a requirement, a
        report listing every test, the xdist controller): a suite of clean tests
        does not pay a hook call per report for it. xdist workers never record,
        their controller does.
        """
        if self._recording is None and not self.is_worker:
            self._recording = Recording(self.results, self.internal_errors)
            self.config.pluginmanager.register(self._recording, "asyncguard-results")

    def open_phases(self) -> None:
        """Register the per-test hooks (once): when the engine wakes, or at
        collection for the tests' requirement ids, which their reports carry."""
        if self._phases is None:
            self._phases = Phases(self)
            self.config.pluginmanager.register(self._phases, "asyncguard-phases")

    # -- session ------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if _is_xdist_controller(self.config):
            return  # workers run the tests and the detectors
        try:
            self.engine.start()
        except Exception as exc:  # an unpatchable interpreter must not fail the run
            self.engine.stop()
            self.internal_errors.append(f"detectors not started: {exc!r}")

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.engine.stop()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._session = session  # its items: the tests that can run
        try:
            self.engine.collected()
        except Exception as exc:  # an unpatchable interpreter must not fail the run
            self.internal_errors.append(f"detectors not started: {exc!r}")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # Marker arguments are checked here, so a bad one stops the run before any test.
        memo: dict[int, Any] = {}
        for item in items:
            policy, requirements = markers.parse(item, memo)
            if policy is not None:  # most tests have no marker: they share _NO_POLICY
                self.policies[item.nodeid] = policy
                self.results.known_patterns |= markers.labels(policy)
            if requirements:
                self.requirements[item.nodeid] = requirements
        if self.requirements:
            self.record_reports()
            self.open_phases()

    def _wake(self) -> None:
        """The engine woke up (a loop runs): the tests need their per-test hooks
        from now on, the one running now included. This may run in a thread
        the test started; pluggy copies a hook's implementations for each call,
        so registering here does not disturb a call in progress."""
        self.open_phases()
        if self.engine.hygiene.track_tasks:
            self.config.pluginmanager.register(WideFixtures(self.engine), "asyncguard-fixtures")
        nodeid = _running_test(self._session)
        if nodeid is not None:  # woken in the middle of a test
            self.engine.begin(nodeid, self.policies.get(nodeid, _NO_POLICY))
            if self.engine.hygiene.track_tasks:
                self.engine.hygiene.wide_fixtures.extend(_wide_fixtures_in_setup())

    def pytest_enter_pdb(self) -> None:
        self.engine.watchdog.debugger()

    def pytest_leave_pdb(self) -> None:
        self.engine.watchdog.debugger()

    # -- xdist: workers send what they saw to the controller -----------------
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.results.used_patterns |= self.engine.used_patterns
        self.internal_errors.extend(self.engine.errors)
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput["asyncguard"] = {
                "used_patterns": sorted(self.results.used_patterns),
                "known_patterns": sorted(self.results.known_patterns),
                "internal_errors": self.internal_errors,
            }

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        data = getattr(node, "workeroutput", {}).get("asyncguard")
        if data:
            self.results.used_patterns |= set(data["used_patterns"])
            self.results.known_patterns |= set(data["known_patterns"])
            self.internal_errors.extend(data["internal_errors"])

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.internal_errors:
            terminalreporter.write_sep("-", "asyncguard: internal errors (tests unaffected)")
            for line in self.internal_errors:
                terminalreporter.write_line(line)


class Phases:
    """The per-test hooks, registered when the engine wakes (see Engine.wake).

    A test opens in pytest_runtest_setup (tryfirst, so before fixtures and
    pytest-asyncio run). pytest makes each phase's report right after the phase
    ran: the makereport wrapper closes that phase, and the last closes the test.
    """

    def __init__(self, core: AsyncGuard) -> None:
        self.core = core
        self.engine = core.engine
        self.policies = core.policies
        self.requirements = core.requirements
        #: the test whose phases run now: item, node id, policy
        self._open: tuple[pytest.Item | None, str, TestPolicy] = (None, "", _NO_POLICY)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        nodeid = item.nodeid
        test = self.policies.get(nodeid, _NO_POLICY)
        self._open = (item, nodeid, test)  # its phases' reports need both again
        self.engine.begin(nodeid, test)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        phase = call.when
        opened, nodeid, test = self._open
        if opened is not item:  # a report made outside the test's own run
            nodeid = item.nodeid
            test = self.policies.get(nodeid, _NO_POLICY)
        try:
            found = self.engine.end(phase, test, last=phase == "teardown")
            for v in found:
                v.baselined = not v.allowed and self.core.is_baselined(nodeid, v)
        except Exception as exc:  # never turn a green suite red by our own bug
            self.core.internal_errors.append(f"{nodeid} ({phase}): {exc!r}")
            found = []
        requirements = self.requirements.get(nodeid)
        if not found and not requirements:  # the common case: nothing to add
            report = yield
            if report.outcome != "passed":
                self.core.record_reports()  # the outcome of a test that may have violations later
            return report
        self.core.record_reports()
        failing = [v for v in found if not v.allowed and not v.baselined]
        fail = self.core.settings.mode == "strict"
        if failing and not fail:  # warn mode
            for v in failing:
                try:
                    warnings.warn(AsyncGuardWarning(v.message), stacklevel=1)
                except AsyncGuardWarning:
                    fail = True  # the user's filters turn these warnings into errors
        report = yield
        if found:  # plain dicts: xdist carries them to the controller
            report.asyncguard = [v.to_dict() for v in found]  # type: ignore[attr-defined]
        if requirements:
            report.asyncguard_requirements = requirements  # type: ignore[attr-defined]
        if failing and fail and not report.skipped:
            original = report.longrepr if report.failed else None
            report.outcome = "failed"
            from pytest_asyncguard.failure import ViolationRepr  # only when a test fails

            report.longrepr = ViolationRepr(failing, original)  # type: ignore[assignment]
        return report


class Recording:
    """Builds the run's results from the test reports (on the xdist controller,
    from the reports the workers send)."""

    def __init__(self, results: RunResults, internal_errors: list[str]) -> None:
        self.results = results
        self.internal_errors = internal_errors

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # A passing phase without violations or requirements only needs a record
        # when every test is listed (reports, baseline) or the test already has one.
        if not (
            self.results.every_test
            or report.outcome != "passed"
            or report.nodeid in self.results.tests
            or getattr(report, "asyncguard", None)
            or getattr(report, "asyncguard_requirements", None)
        ):
            return
        try:
            self._record(report)
        except Exception as exc:  # never turn a green suite red by our own bug
            self.internal_errors.append(f"{report.nodeid}: {exc!r}")

    def _record(self, report: pytest.TestReport) -> None:
        rec = self.results.record(report.nodeid)
        rec.location = rec.location or f"{report.location[0]}:{(report.location[1] or 0) + 1}"
        reqs = getattr(report, "asyncguard_requirements", None)
        if reqs:
            rec.requirements = list(reqs)
        for data in getattr(report, "asyncguard", None) or []:
            rec.add(Violation.from_dict(data))
        if report.when == "call":
            if report.outcome == "failed" or rec.outcome != "error":
                rec.outcome = report.outcome
        elif report.failed:
            rec.outcome = "error"
        elif report.skipped and report.when == "setup":
            rec.outcome = "skipped"


class WideFixtures:
    """Tells the task tracker which fixtures wider than function scope are being set
    up: their tasks belong to the fixture, not to the test that happens to need it
    first. Registered only when tasks are tracked. A plain hook, not a wrapper
    (it runs for every fixture): the tracker sees a setup end by itself, when
    pytest stores the fixture's result."""

    def __init__(self, engine: Engine) -> None:
        self.hygiene = engine.hygiene

    @pytest.hookimpl(tryfirst=True)
    def pytest_fixture_setup(self, fixturedef: Any) -> None:
        if fixturedef.scope != "function":
            self.hygiene.wide_fixtures.append(fixturedef)
