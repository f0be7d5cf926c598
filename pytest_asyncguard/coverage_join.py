"""Join the static analysis with coverage data: did each async def run, and did
it reach one of its awaits?

The data comes from whoever measured: pytest-cov (read after it combined), a
``coverage run`` wrapped around pytest (``Coverage.current()``), or
asyncguard's own :class:`Measurement`. Under xdist each worker writes its data to
a shared folder and the controller combines it (:func:`combine_folder`).

coverage is imported only inside the functions here, so a run that asks for no
async-functions report never imports it. Nothing here imports pytest.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Union

from pytest_asyncguard.linemonitor import Lines

if TYPE_CHECKING:
    from coverage import Coverage, CoverageData

    from pytest_asyncguard.awaitless import Analysis
    from pytest_asyncguard.linemonitor import LineMonitor

#: what was measured: coverage's data, or asyncguard's own (Python 3.12+)
Data = Union["CoverageData", Lines]

#: (file, dotted module name) -> was this file measured at all?
Scope = Callable[[Path, str], bool]

#: Our own measurement must stay silent: its warnings are not the user's business.
_QUIET = [
    "module-not-imported",
    "module-not-measured",
    "no-data-collected",
    "already-imported",
    "include-ignored",
    "couldnt-parse",
    "no-ctracer",
    "no-sysmon",
]
#: name prefix of an xdist worker's part of asyncguard's own measurement
_LINES_PART = ".asyncguard-lines."
_COVERAGE_CONFIGS = (".coveragerc", ".coveragerc.toml", "setup.cfg", "tox.ini", "pyproject.toml")


def configured_sources(rootdir: Path) -> list[str]:
    """coverage's ``[run] source`` and ``source_pkgs`` from the config files in
    ``rootdir`` (or ``$COVERAGE_RCFILE``), read the way coverage reads them."""
    rcfile = os.environ.get("COVERAGE_RCFILE")
    candidates = [Path(rcfile)] if rcfile else [rootdir / name for name in _COVERAGE_CONFIGS]
    existing = [c for c in candidates if c.is_file()]
    if not any(_mentions_coverage(c) for c in existing):
        return []  # do not import coverage for nothing
    from coverage.config import CoverageConfig

    for candidate in existing:
        config = CoverageConfig()
        ours = bool(rcfile) or candidate.name.startswith(".coveragerc")
        if config.from_file(str(candidate), warn=lambda _msg: None, our_file=ours):
            return [*(config.source or []), *config.source_pkgs]
    return []


def _mentions_coverage(path: Path) -> bool:
    if path.name.startswith(".coveragerc") or os.environ.get("COVERAGE_RCFILE"):
        return True
    try:
        return "coverage" in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


class Measurement:
    """Coverage of the sources in this process, for runs without pytest-cov.

    When a ``Coverage`` is already running (``coverage run -m pytest``), its data
    is read instead: starting a second one would pause the user's.
    """

    def __init__(self, sources: Sequence[Path]) -> None:
        self.sources = [s if s.is_dir() else s.parent for s in sources]
        self._folders = [str(s) for s in self.sources]
        self._own: Coverage | None = None
        self._external: Coverage | None = None
        self._monitor: LineMonitor | None = None

    @property
    def started(self) -> bool:
        return self._own is not None or self._external is not None or self._monitor is not None

    def start(self) -> None:
        # `coverage run -m pytest` imported coverage before pytest: read its data
        running = sys.modules.get("coverage")
        self._external = running.Coverage.current() if running is not None else None
        if self._external is not None:
            return
        if _sysmon_is_ours():
            from pytest_asyncguard.linemonitor import LineMonitor

            monitor = LineMonitor(self._folders)
            with contextlib.suppress(RuntimeError):  # no tool id free: coverage measures
                monitor.start()
                self._monitor = monitor
                return
        import coverage

        cov = coverage.Coverage(data_file=None, source=self._folders, config_file=False)
        cov.set_option("run:disable_warnings", _QUIET)
        if _sysmon_is_ours():
            # sys.monitoring costs a fraction of a trace function; it is only
            # asyncguard's own measurement, so its choice of core is ours
            with contextlib.suppress(Exception):  # coverage too old to know "core"
                cov.set_option("run:core", "sysmon")
        cov.start()
        self._own = cov

    def stop(self) -> tuple[Data, Scope, bool] | None:
        """Stop measuring: the data, which files it covers, and whether it is ours
        (to :func:`release` after use) rather than the user's ``Coverage``'s."""
        own, external, monitor = self._own, self._external, self._monitor
        self._own = self._external = self._monitor = None
        folders = self._folders

        def scope(file: Path, _module: str) -> bool:
            return in_folders(file, folders)

        if monitor is not None:
            return monitor.stop(), scope, True
        if own is not None:
            own.stop()
            return own.get_data(), scope, True
        if external is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return external.get_data(), scope_of(external), False
        return None


def _sysmon_is_ours() -> bool:
    """Python 3.12+ and no ``COVERAGE_CORE``: asyncguard's own measurement may use
    ``sys.monitoring`` (its own tool, or coverage's sysmon core as the fallback)."""
    return sys.version_info >= (3, 12) and not os.environ.get("COVERAGE_CORE")


def release(data: Data) -> None:
    """Close the sqlite connections of data asyncguard made; in-memory ones stay
    open otherwise, and Python 3.13 reports them as unclosed (a ResourceWarning).
    coverage before 7.6.x has no ``close``; its connections go with the object."""
    close = getattr(data, "close", None)
    if close is not None:
        close(force=True)


def write_part(data: Data, folder: str) -> None:
    """Write an xdist worker's data into the shared folder, under a unique suffix."""
    if isinstance(data, Lines):
        with tempfile.NamedTemporaryFile(
            "w", dir=folder, prefix=_LINES_PART, suffix=".json", delete=False, encoding="utf-8"
        ) as part_file:
            part_file.write(data.to_json())
        return
    from coverage import CoverageData

    part = CoverageData(basename=os.path.join(folder, ".coverage"), suffix=True)
    part.update(data)
    part.write()
    release(part)


def combine_folder(folder: str) -> Data:
    """Add up the workers' data files in ``folder`` (all of one kind: the workers
    run the same interpreter)."""
    names = sorted(os.listdir(folder))
    if any(name.startswith(_LINES_PART) for name in names):
        lines = Lines()
        for name in names:
            if name.startswith(_LINES_PART):
                with open(os.path.join(folder, name), encoding="utf-8") as part_file:
                    lines.update(Lines.from_json(part_file.read()))
        return lines
    from coverage import CoverageData

    combined = CoverageData(no_disk=True)
    for name in names:
        if name.startswith(".coverage."):
            part = CoverageData(basename=os.path.join(folder, name))
            part.read()
            combined.update(part)
            release(part)
    return combined


def scope_of(cov: Coverage) -> Scope:
    """Which files a ``Coverage`` (pytest-cov's, the user's) measures, so that a file
    it never saw is ``executed: false`` only when it would have seen it."""
    from coverage.files import GlobMatcher, prep_patterns

    config = cov.config
    dirs = [os.path.abspath(s) for s in config.source or [] if os.path.isdir(s)]
    pkgs = [s for s in config.source or [] if not os.path.isdir(s)] + list(config.source_pkgs)
    omit = GlobMatcher(prep_patterns(config.run_omit)) if config.run_omit else None
    include = GlobMatcher(prep_patterns(config.run_include)) if config.run_include else None

    def scope(file: Path, module: str) -> bool:
        name = os.path.abspath(file)
        if omit is not None and omit.match(name):
            return False
        if not dirs and not pkgs:
            return include is None or include.match(name)
        in_pkg = any(module == p or module.startswith(p + ".") for p in pkgs)
        return in_pkg or in_folders(file, dirs)

    return scope


def in_folders(file: Path, folders: Sequence[str]) -> bool:
    name = os.path.realpath(file)
    return any(
        name == f or name.startswith(f.rstrip(os.sep) + os.sep)
        for f in (os.path.realpath(x) for x in folders)
    )


def join(analysis: Analysis, data: Data, scope: Scope | None = None) -> None:
    """Fill ``executed`` and ``await_executed`` of every function from ``data``.

    A function whose file the data never saw is unexecuted when ``scope`` says the
    file was measured, and unknown (None) otherwise. A body on the ``def`` line
    cannot be told from the definition running at import, so it stays unknown
    unless the data has arcs (branch coverage), whose entry arc tells.
    """
    from pytest_asyncguard.awaitless import module_name

    measured = {_canonical(name): name for name in data.measured_files()}
    arcs = data.has_arcs()
    modules: dict[Path, str] = {}
    seen: dict[Path, tuple[set[int], set[int]] | None] = {}
    for function in analysis.functions:
        file = function.file
        if file is None:
            continue
        if file not in seen:
            name = measured.get(_canonical(str(file)))
            if name is not None:
                entries = {-a for a, _ in data.arcs(name) or () if a < 0} if arcs else set()
                seen[file] = set(data.lines(name) or ()), entries
            elif scope is None or scope(file, module_name(file, modules)):
                seen[file] = set(), set()
            else:
                seen[file] = None
        found = seen[file]
        if found is None:
            function.executed = function.await_executed = None
            continue
        lines, entries = found
        if function.body_start == function.line:  # a one-liner
            ran = function.code_line in entries if arcs else None
            function.executed = ran
            function.await_executed = ran and function.has_await if ran is not None else None
            continue
        body = range(function.body_start, function.end_line + 1)
        function.executed = any(n in lines for n in body)
        function.await_executed = any(
            n in lines for first, last in function.await_spans for n in range(first, last + 1)
        )


def _canonical(name: str) -> str:
    return os.path.normcase(os.path.realpath(name))


def pytest_cov_coverage(cov_plugin: object) -> Coverage | None:
    """The combined ``Coverage`` of pytest-cov's plugin (``_cov``), once it finished.

    On a pytest-cov controller, ``cov_controller.cov`` is the combining instance
    after ``finish()``; reading it is the documented way its ``cov`` fixture works.
    """
    controller = getattr(cov_plugin, "cov_controller", None)
    cov = getattr(controller, "cov", None)
    return cov if cov is not None and hasattr(cov, "get_data") else None
