"""asyncguard's own measurement on Python 3.12+: which lines of the sources ran.

The async-functions report asks two things of a run: did each ``async def`` run,
and did it reach one of its awaits. Where the suite measures coverage anyway
(pytest-cov, ``coverage run``) that data is read; otherwise asyncguard measured
with a ``coverage.Coverage`` of its own, whose import and set-up alone cost
about 40 ms a run. A ``sys.monitoring`` tool answers the same two questions for
far less: it hears of each code object once (when it first starts), listens to
the lines of those in the sources only, and to each line once.

:class:`Lines` reads like coverage's data as far as ``coverage_join.join``
needs it, and travels between xdist processes as a plain dict. No pytest and no
coverage import here.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from types import CodeType
from typing import Any

#: sys.monitoring tool ids tried, in order: those no standard tool claims
#: (debuggers, coverage and profilers have 0, 1 and 2; optimisers 5).
TOOL_IDS = (3, 4)
_NAME = "asyncguard"


class Lines:
    """What ran: the lines per file, and the first line of every code object that
    started, read as coverage's entry arcs ``(-line, line)``."""

    def __init__(
        self,
        lines: dict[str, set[int]] | None = None,
        entries: dict[str, set[int]] | None = None,
    ) -> None:
        self._lines = lines if lines is not None else {}
        self._entries = entries if entries is not None else {}

    def measured_files(self) -> list[str]:
        return sorted(self._lines.keys() | self._entries.keys())

    def lines(self, file: str) -> list[int]:
        return sorted(self._lines.get(file, ()))

    def has_arcs(self) -> bool:
        return True  # the entry arcs: enough to tell a one-line body that ran

    def arcs(self, file: str) -> list[tuple[int, int]]:
        return [(-line, line) for line in sorted(self._entries.get(file, ()))]

    def update(self, other: Lines) -> None:
        for mine, theirs in ((self._lines, other._lines), (self._entries, other._entries)):
            for file, found in theirs.items():
                mine.setdefault(file, set()).update(found)

    def to_json(self) -> str:
        def plain(data: dict[str, set[int]]) -> dict[str, list[int]]:
            return {file: sorted(found) for file, found in data.items()}

        return json.dumps({"lines": plain(self._lines), "entries": plain(self._entries)})

    @classmethod
    def from_json(cls, text: str) -> Lines:
        data: dict[str, dict[str, Iterable[int]]] = json.loads(text)

        def sets(part: str) -> dict[str, set[int]]:
            return {file: set(found) for file, found in data.get(part, {}).items()}

        return cls(sets("lines"), sets("entries"))


class LineMonitor:
    """Records :class:`Lines` for the files under ``folders`` between start and stop."""

    def __init__(self, folders: Sequence[str]) -> None:
        # As written and resolved: the callbacks run inside the code under test,
        # often on an event loop, so they compare strings and make no system call
        # (a realpath() there would be a blocking call of asyncguard's own).
        found = {os.path.realpath(f) for f in folders} | {os.path.abspath(f) for f in folders}
        self._folders = tuple(sorted(f.rstrip(os.sep) + os.sep for f in found))
        self._wanted: dict[str, bool] = {}
        self._data = Lines()
        self._tool: int | None = None
        #: code objects whose lines are listened to: their local events go at stop
        self._watched: list[CodeType] = []

    def start(self) -> None:
        """Raises RuntimeError when every tool id asyncguard may use is taken."""
        monitoring: Any = getattr(sys, "monitoring", None)
        if monitoring is None:
            raise RuntimeError("sys.monitoring needs Python 3.12")
        tool = next((t for t in TOOL_IDS if monitoring.get_tool(t) is None), None)
        if tool is None:
            raise RuntimeError(f"sys.monitoring tool ids {TOOL_IDS} are all in use")
        events, disable = monitoring.events, monitoring.DISABLE
        wanted, folders, cwd = self._wanted, self._folders, os.getcwd()
        lines, entries = self._data._lines, self._data._entries
        watched = self._watched

        def started(code: CodeType, _offset: int) -> object:
            file = code.co_filename
            inside = wanted.get(file)
            if inside is None:
                path = file if os.path.isabs(file) else os.path.normpath(os.path.join(cwd, file))
                inside = wanted[file] = path.startswith(folders)
            if inside:
                if code.co_name != "<module>":
                    entries.setdefault(file, set()).add(code.co_firstlineno)
                monitoring.set_local_events(tool, code, events.LINE)
                watched.append(code)
            return disable  # for this code object: one event is all it takes

        def line(code: CodeType, number: int) -> object:
            lines.setdefault(code.co_filename, set()).add(number)
            return disable

        monitoring.use_tool_id(tool, _NAME)
        monitoring.register_callback(tool, events.PY_START, started)
        monitoring.register_callback(tool, events.LINE, line)
        monitoring.set_events(tool, events.PY_START)
        self._tool = tool

    def stop(self) -> Lines:
        tool, self._tool = self._tool, None
        if tool is not None:
            monitoring: Any = sys.monitoring  # type: ignore[attr-defined,unused-ignore]
            monitoring.set_events(tool, 0)
            for code in self._watched:
                monitoring.set_local_events(tool, code, 0)
            self._watched.clear()
            monitoring.register_callback(tool, monitoring.events.PY_START, None)
            monitoring.register_callback(tool, monitoring.events.LINE, None)
            monitoring.free_tool_id(tool)
        return self._data
