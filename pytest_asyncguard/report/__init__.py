"""Reporters: each turns one :class:`ReportData` into one format.

Reporters read the merged results at the end of the run, never the detectors.
File reporters implement :class:`Reporter` (render to text); :func:`write_output`
is the one place that opens and writes an output file, and :func:`check_writable`
lets the plugin refuse an unusable path before any test runs. Nothing here
imports pytest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pytest_asyncguard.results import RunResults

if TYPE_CHECKING:
    from pytest_asyncguard.baseline import Entry
    from pytest_asyncguard.requirements import RequirementRow


class ReportError(OSError):
    """An output path cannot be written; the message names the path and the reason."""


@dataclass
class ReportData:
    """Everything a reporter may show, gathered once at the end of the run."""

    results: RunResults
    rows: list[RequirementRow] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    #: the async-without-await analysis (``{"functions": [...], "score": ...}``), if run.
    async_functions: dict[str, Any] | None = None
    #: baseline entries whose violation is gone (remove them from the baseline).
    fixed: list[Entry] = field(default_factory=list)
    #: allowlist patterns that never matched.
    unused_patterns: list[str] = field(default_factory=list)


class Reporter(Protocol):
    """A file format: ``render`` returns the whole file's text."""

    #: a short name for messages, e.g. ``"JSON"``.
    label: str

    def render(self, data: ReportData) -> str: ...


def check_writable(path: str | os.PathLike[str]) -> None:
    """Raise :class:`ReportError` when ``path`` could not be written at the end.

    The file itself is not created (a run that stops early leaves nothing
    behind); missing parent folders are fine as long as they can be created.
    """
    target = Path(path)
    if target.is_dir():
        raise ReportError(f"{str(target)!r} is a directory, not a file")
    if target.exists():
        if not os.access(target, os.W_OK):
            raise ReportError(f"{str(target)!r} is not writable")
        return
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ReportError(f"cannot create {str(target)!r}: {str(parent)!r} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ReportError(f"cannot create {str(target)!r}: {str(parent)!r} is not writable")


def write_output(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` as UTF-8, creating parent folders. Returns the path.

    Raises :class:`ReportError` (an :class:`OSError`) with the path in the
    message when it cannot.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        raise ReportError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from exc
    return target


def write_report(reporter: Reporter, data: ReportData, path: str | os.PathLike[str]) -> Path:
    """Render ``data`` with ``reporter`` and write it to ``path``."""
    return write_output(path, reporter.render(data))
