"""The async-without-await report as a pytest plugin object.

``plugin.py`` registers one :class:`AsyncFunctionsPlugin` per run. It measures
coverage of the sources only when pytest-cov does not (and never starts a second
``Coverage`` over a running one), analyses the sources after the test loop, joins
the two, and shows the section in the terminal summary. Reporters read
``plugin.result.to_dict()`` once ``pytest_runtestloop`` has finished.

Anything that goes wrong inside becomes an :class:`AsyncGuardWarning`: an
internal problem must never turn a green run red. Only the fail-under does that.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import warnings
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_asyncguard import coverage_join
from pytest_asyncguard.warnings import AsyncGuardWarning

if TYPE_CHECKING:  # the analyser itself is imported when a report is due
    from pytest_asyncguard.awaitless import Analysis

#: workerinput key naming the folder where xdist workers leave their coverage data.
WORKER_FOLDER_KEY = "asyncguard_coverage_folder"
FAIL_UNDER_MESSAGE = (
    "asyncguard: async-without-await score {score:.2f} % is below "
    "--asyncguard-fail-under={fail_under:g} (short by {short:.2f})"
)
MISSING_SOURCE_MESSAGE = (
    "asyncguard_source / --asyncguard-source: {entry!r} is neither a file, a folder nor "
    "an importable package (looked in {where} and on sys.path)"
)


class AsyncFunctionsPlugin:
    """Measure, analyse, join and report async functions that never await."""

    def __init__(
        self,
        config: pytest.Config,
        sources: Sequence[str],
        fail_under: float | None = None,
        allow_no_await: Sequence[str] = (),
        measure: str = "auto",
    ) -> None:
        self.config = config
        #: asyncguard_measure: auto | always | never
        self.measure = measure
        #: no runtime columns because measuring here would have been costly (auto)
        self.measure_skipped = False
        self.fail_under = fail_under
        self.allow_no_await = tuple(allow_no_await)
        #: the analysis, once the test loop has finished (None: no report).
        self.result: Analysis | None = None
        #: the fail-under message, when the score fell short.
        self.failure: str | None = None
        self.problems: list[str] = []
        self._measurement: coverage_join.Measurement | None = None
        self._folder: str | None = None
        self._owned: list[coverage_join.Data] = []
        bases = _unique([config.invocation_params.dir, config.rootpath])
        if config.inipath is not None:
            bases = _unique([*bases, config.inipath.parent])
        if sources:
            self.paths = [_resolve_or_fail(entry, bases) for entry in sources]
        else:  # coverage's own [run] source, when it names one; unknown entries are its business
            found = (_resolve(e, bases) for e in coverage_join.configured_sources(config.rootpath))
            self.paths = [p for p in found if p is not None]

    # -- measuring ----------------------------------------------------------------

    def _wanted(self) -> bool:
        """Should asyncguard measure coverage itself in this process?"""
        cfg = self.config
        return bool(
            self.paths
            and not cfg.option.collectonly
            and not cfg.getoption("no_cov", False)
            and not cfg.pluginmanager.has_plugin("_cov")
        )

    def _ensure_folder(self) -> str:
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="asyncguard-coverage-")
        return self._folder

    def _own_measurement_allowed(self) -> bool:
        """May asyncguard start a coverage measurement of its own? On Python 3.12+
        it runs on sys.monitoring, which costs little; before, coverage installs a
        trace function that slows every line of the run, so only when asked."""
        return self.measure == "always" or (self.measure == "auto" and sys.version_info >= (3, 12))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if not self._wanted():
            return
        workerinput: dict[str, Any] | None = getattr(self.config, "workerinput", None)
        if workerinput is None and self.config.pluginmanager.has_plugin("dsession"):
            if self._own_measurement_allowed():
                self._ensure_folder()  # xdist controller: the workers measure
            else:
                self.measure_skipped = self.measure == "auto"
            return
        if workerinput is not None and WORKER_FOLDER_KEY not in workerinput:
            return
        if workerinput is None and not self._own_measurement_allowed():
            # `coverage run -m pytest` imported coverage before pytest: reading the
            # data of its measurement costs nothing. Without it, nothing to read.
            coverage = sys.modules.get("coverage")
            if coverage is None or coverage.Coverage.current() is None:
                self.measure_skipped = self.measure == "auto"
                return
        measurement = coverage_join.Measurement(self.paths)
        try:
            measurement.start()
        except Exception as exc:
            self.problems.append(f"could not start coverage measurement: {exc!r}")
        else:
            self._measurement = measurement

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist: tell each worker where to leave its coverage data."""
        if self._wanted() and self._own_measurement_allowed():
            node.workerinput[WORKER_FOLDER_KEY] = self._ensure_folder()

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        # tryfirst makes this the outer wrapper: the code after ``yield`` runs after
        # pytest-cov's wrapper has stopped and combined its data.
        try:
            result = yield
        except BaseException:
            self._stop_quietly()
            raise
        self._finish(session)
        return result

    def _runtime_data(self) -> tuple[coverage_join.Data, coverage_join.Scope, str] | None:
        """Stop measuring; on a worker, ship the data; elsewhere return it.

        Data asyncguard made itself is remembered in ``_owned``, to be released.
        """
        workerinput = getattr(self.config, "workerinput", None)
        cov_plugin = self.config.pluginmanager.get_plugin("_cov")
        if cov_plugin is not None:
            if workerinput is not None or self.config.getoption("no_cov", False):
                return None
            cov = coverage_join.pytest_cov_coverage(cov_plugin)
            if cov is None:
                return None
            return cov.get_data(), coverage_join.scope_of(cov), "pytest-cov"
        if self._measurement is not None:
            measurement, self._measurement = self._measurement, None
            measured = measurement.stop()
            if measured is None:
                return None
            data, scope, owned = measured
            if owned:
                self._owned.append(data)
            if workerinput is not None:
                coverage_join.write_part(data, workerinput[WORKER_FOLDER_KEY])
                return None
            return data, scope, "coverage"
        if self._folder is not None and workerinput is None:
            data = coverage_join.combine_folder(self._folder)
            self._owned.append(data)
            sources = [str(p) for p in self.paths]
            return data, lambda file, _: coverage_join.in_folders(file, sources), "coverage"
        return None

    def _finish(self, session: pytest.Session) -> None:
        try:
            runtime = self._runtime_data()
        except Exception as exc:
            self.problems.append(f"could not read coverage data: {exc!r}")
            runtime = None
        try:
            if not hasattr(self.config, "workerinput") and not self.config.option.collectonly:
                self._report(session, runtime)
        finally:
            self._release()

    def _report(
        self,
        session: pytest.Session,
        runtime: tuple[coverage_join.Data, coverage_join.Scope, str] | None,
    ) -> None:
        if not self.paths:
            return
        try:
            from pytest_asyncguard.awaitless import analyse_paths

            analysis = analyse_paths(self.paths, self.allow_no_await, root=self.config.rootpath)
        except Exception as exc:
            self.problems.append(f"could not analyse the sources: {exc!r}")
            return
        if runtime is not None:
            data, scope, origin = runtime
            try:
                coverage_join.join(analysis, data, scope)
                analysis.coverage = origin
            except Exception as exc:
                self.problems.append(f"could not join coverage data, skipped: {exc!r}")
                for function in analysis.functions:
                    function.executed = function.await_executed = None
        self.result = analysis
        if self.fail_under is not None and analysis.score < self.fail_under:
            self.failure = FAIL_UNDER_MESSAGE.format(
                score=analysis.score,
                fail_under=self.fail_under,
                short=self.fail_under - analysis.score,
            )
            session.testsfailed += 1  # the exit status pytest-cov's fail-under gives too

    def _release(self) -> None:
        owned, self._owned = self._owned, []
        for data in owned:
            try:
                coverage_join.release(data)
            except Exception as exc:
                self.problems.append(f"could not close coverage data: {exc!r}")

    def _stop_quietly(self) -> None:
        measurement, self._measurement = self._measurement, None
        if measurement is not None:
            try:
                measured = measurement.stop()
                if measured is not None and measured[2]:
                    coverage_join.release(measured[0])
            except Exception as exc:
                self.problems.append(f"could not stop coverage measurement: {exc!r}")

    # -- reporting ----------------------------------------------------------------

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        with warnings.catch_warnings():
            # Shown in the warnings summary, but never raised under -W error.
            warnings.simplefilter("always", AsyncGuardWarning)
            for problem in self.problems:
                warnings.warn(AsyncGuardWarning(f"asyncguard: {problem}"), stacklevel=1)
        if self.result is None:
            return
        from pytest_asyncguard.report import asyncfuncs  # imported by runs with a report

        terminalreporter.write_sep("-", asyncfuncs.TITLE)
        for line in asyncfuncs.format_report(self.result):
            terminalreporter.write_line(line)
        if self.measure_skipped and self.result.coverage is None:
            terminalreporter.write_line(asyncfuncs.MEASURE_HINT)
        if self.failure:
            terminalreporter.write_line(self.failure, red=True, bold=True)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._stop_quietly()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


def _unique(paths: Sequence[Path]) -> list[Path]:
    return list(dict.fromkeys(Path(p) for p in paths))


def _resolve_or_fail(entry: str, bases: Sequence[Path]) -> Path:
    path = _resolve(entry, bases)
    if path is None:
        where = ", ".join(str(b) for b in bases)
        raise pytest.UsageError(MISSING_SOURCE_MESSAGE.format(entry=entry, where=where))
    return path


def _resolve(entry: str, bases: Sequence[Path]) -> Path | None:
    """A source entry as a path: a file or folder (relative to one of ``bases``), or a
    dotted package name found on ``bases`` or ``sys.path`` (without importing it)."""
    for base in bases:
        candidate = base / entry
        if candidate.exists():
            return candidate.resolve()
    parts = entry.split(".")
    if not all(part.isidentifier() for part in parts):
        return None
    for base in [*bases, *(Path(p) for p in sys.path if p)]:
        package = base.joinpath(*parts)
        if package.is_dir():
            return package.resolve()
        module = package.with_name(parts[-1] + ".py")
        if module.is_file():
            return module.resolve()
    return None
