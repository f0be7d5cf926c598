"""The reporting half of the plugin: requirement table, report files, baseline, JUnit.

``plugin.py`` registers one :class:`ReportPlugin` per run (on xdist workers too)::

    reports = ReportPlugin(config, settings, results, async_functions=lambda: ...)
    config.pluginmanager.register(reports, "asyncguard-reports")

What happens when:

- construction (``pytest_configure``): requirement declarations are parsed, the
  report paths are checked and the baseline is loaded, so a bad setting stops
  the run with ``pytest.UsageError`` before any test runs. Workers only parse
  and load: the controller already checked the paths.
- each test phase: the core asks :meth:`ReportPlugin.is_baselined`.
- each test report (controller, with ``--junitxml``): JUnit properties, see
  :class:`JunitProperties` and :mod:`.report.junit`.
- ``pytest_sessionfinish`` (controller, after the core's): report files are
  written and the baseline updated; a write failure is reported in the summary,
  not raised.
- ``pytest_terminal_summary``: the asyncguard sections.

With ``--asyncguard-mode=off`` asyncguard watches nothing, so it also reports
nothing: no terminal sections, no JSON or Markdown file, no baseline read or
written. Only the requirement declarations are still parsed, so that a broken
ini fails the same way in every mode.

``--asyncguard-update-baseline`` records the run: every violation counts as
baselined while recording (the run shows what the code does, tests are not
failed by what is being accepted), and the file is rewritten at the end.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_asyncguard import __version__
from pytest_asyncguard.results import RunResults, Violation
from pytest_asyncguard.settings import Settings
from pytest_asyncguard.warnings import AsyncGuardWarning

if TYPE_CHECKING:
    from pytest_asyncguard.baseline import Baseline
    from pytest_asyncguard.report import ReportData, Reporter

# The report modules are imported by the runs that report something: a clean
# run without report files imports none of them (every run pays for its imports).

#: tests listed in the terminal's violations section without ``-v``.
TERMINAL_LIMIT = 30


class ReportPlugin:
    """Reads ``results`` at the end of the run and writes what CI reads."""

    def __init__(
        self,
        config: pytest.Config,
        settings: Settings,
        results: RunResults,
        async_functions: Callable[[], dict[str, Any] | None] | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.results = results
        self._async_functions = async_functions or (lambda: None)
        self.is_worker = hasattr(config, "workerinput")
        self.baseline: Baseline | None = None
        self.data: ReportData | None = None
        self.messages: list[tuple[str, dict[str, bool]]] = []
        self.declared: dict[str, str | None] = {}
        if settings.requirements:
            from pytest_asyncguard.requirements import parse_declarations

            try:
                self.declared = parse_declarations(settings.requirements)
            except ValueError as exc:
                where = "ini key asyncguard_requirements"
                raise pytest.UsageError(f"asyncguard: {where}: {exc}") from exc
        self.outputs: list[tuple[Reporter, Path]] = []
        self.baseline_path: Path | None = None
        if not settings.active:
            return
        if settings.json:
            from pytest_asyncguard.report.json import JsonReporter

            self.outputs.append((JsonReporter(), self._check(settings.json, "asyncguard_json")))
        if settings.md:
            from pytest_asyncguard.report.markdown import MarkdownReporter

            self.outputs.append((MarkdownReporter(), self._check(settings.md, "asyncguard_md")))
        if settings.update_baseline and not settings.baseline:
            raise pytest.UsageError(
                "asyncguard: --asyncguard-update-baseline needs a baseline file: "
                "set --asyncguard-baseline=PATH or the ini key asyncguard_baseline"
            )
        if settings.baseline:
            from pytest_asyncguard.baseline import Baseline, BaselineError

            self.baseline_path = self._check(settings.baseline, "asyncguard_baseline")
            try:
                self.baseline = Baseline.load(
                    self.baseline_path, missing_ok=settings.update_baseline
                )
            except BaselineError as exc:
                where = self._where("asyncguard_baseline")
                raise pytest.UsageError(f"asyncguard: {where}: {exc}") from None
        if self._junit_enabled():  # a hook for every test report: only when it has work
            config.pluginmanager.register(JunitProperties(), "asyncguard-junit")

    # -- settings -------------------------------------------------------------

    def _where(self, opt: str) -> str:
        if self.config.getoption(opt, None) is not None:
            return "--" + opt.replace("_", "-")
        return f"ini key {opt}"

    def _resolve(self, value: str, opt: str) -> Path:
        """A path from the command line is relative to where pytest was started,
        one from the ini file to the ini file's folder (the rootdir without one)."""
        path = Path(value).expanduser()
        if path.is_absolute():
            return path
        if self.config.getoption(opt, None) is not None:
            return self.config.invocation_params.dir / path
        base = self.config.inipath.parent if self.config.inipath else self.config.rootpath
        return base / path

    def _check(self, value: str, opt: str) -> Path:
        from pytest_asyncguard.report import ReportError, check_writable

        path = self._resolve(value, opt)
        if self.is_worker or (opt == "asyncguard_baseline" and not self.settings.update_baseline):
            return path
        try:
            check_writable(path)
        except ReportError as exc:
            raise pytest.UsageError(f"asyncguard: {self._where(opt)}: {exc}") from None
        return path

    # -- called by the core ---------------------------------------------------

    def is_baselined(self, nodeid: str, violation: Violation) -> bool:
        """Whether the baseline accepts this violation of this test."""
        if not self.settings.active:
            return False
        if self.settings.update_baseline:
            return True
        return self.baseline is not None and self.baseline.is_baselined(nodeid, violation)

    # -- hooks ----------------------------------------------------------------

    def _junit_enabled(self) -> bool:
        if self.is_worker or not self.settings.active:
            return False
        if not getattr(self.config.option, "xmlpath", None):
            return False
        from pytest_asyncguard.report.junit import family_allows_properties

        return family_allows_properties(str(self.config.getini("junit_family")))

    def _has_news(self) -> bool:
        """Is there anything to report? A clean run without report files,
        baseline or requirements prints and writes nothing."""
        results = self.results
        return bool(
            self.outputs
            or self.baseline_path
            or self.declared
            or results.tests
            or results.unused_patterns
        )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.is_worker or not self.settings.active or not self._has_news():
            return
        from pytest_asyncguard.report import ReportError, write_report
        from pytest_asyncguard.requirements import undeclared

        data = self.data = self.build()
        missing = undeclared(data.rows) if self.declared else []
        if missing:
            self._warn(
                session,
                "asyncguard: tests name requirements not declared in asyncguard_requirements: "
                + ", ".join(missing),
            )
        for reporter, path in self.outputs:
            try:
                write_report(reporter, data, path)
            except ReportError as exc:
                self._note(f"asyncguard: {reporter.label} report not written: {exc}", red=True)
            else:
                self._note(f"asyncguard: {reporter.label} report written to {path}")
        if self.settings.update_baseline and self.baseline_path is not None:
            from pytest_asyncguard.baseline import write as write_baseline

            try:
                new = write_baseline(self.baseline_path, self.results, self.baseline)
            except ReportError as exc:
                self._note(f"asyncguard: baseline not written: {exc}", red=True)
            else:
                old = self.baseline.entries if self.baseline is not None else {}
                gone = len(set(old) - set(new.entries))
                self._note(
                    f"asyncguard: baseline written to {self.baseline_path} "
                    f"({len(new)} entries, {gone} removed)"
                )

    def build(self) -> ReportData:
        """Gather what the reporters show (also usable by the core or tests)."""
        from pytest_asyncguard.report import ReportData
        from pytest_asyncguard.requirements import build_rows

        fixed = []
        if self.baseline is not None and not self.settings.update_baseline:
            fixed = self.baseline.fixed(self.results)
        return ReportData(
            results=self.results,
            rows=build_rows(self.results, self.declared),
            settings=self.settings.to_dict(),
            version=__version__,
            async_functions=self._async_functions(),
            fixed=fixed,
            unused_patterns=self.results.unused_patterns,
        )

    def _note(self, line: str, **markup: bool) -> None:
        self.messages.append((line, markup))

    def _warn(self, session: pytest.Session, message: str) -> None:
        """Warn; when the user's filters turn warnings into errors, fail the run instead
        of crashing in a hook."""
        try:
            # Point at the ini file, where the declarations live, not at this line.
            where = self.config.inipath or self.config.rootpath
            warnings.warn_explicit(AsyncGuardWarning(message), AsyncGuardWarning, str(where), 1)
        except AsyncGuardWarning:
            self._note(message, red=True)
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.is_worker or not self.settings.active:
            return
        if self.data is None:  # sessionfinish had nothing to report
            if not self._has_news():
                return
            self.data = self.build()
        from pytest_asyncguard.report.terminal import write_summary

        verbose = self.config.get_verbosity() > 0
        write_summary(terminalreporter, self.data, None if verbose else TERMINAL_LIMIT)
        for line, markup in self.messages:
            terminalreporter.write_line(line, **markup)


class JunitProperties:
    """Adds each test's violations and requirements to its JUnit XML entry, as
    properties of the teardown report (junitxml reads them from there)."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, object], tuple[dict[Any, Violation], list[str]]] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        key = (report.nodeid, getattr(report, "node", None))
        found, requirements = self._pending.setdefault(key, ({}, []))
        for item in getattr(report, "asyncguard", None) or ():
            violation = item if isinstance(item, Violation) else Violation.from_dict(item)
            found[violation.key()] = violation
        for req in getattr(report, "asyncguard_requirements", None) or ():
            if req not in requirements:
                requirements.append(req)
        if report.when == "teardown":
            del self._pending[key]
            from pytest_asyncguard.report.junit import junit_properties

            found_list = list(found.values())
            report.user_properties.extend(junit_properties(found_list, requirements))
