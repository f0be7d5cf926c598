"""The baseline file: violations a project has accepted for now.

A violation is baselined when its :data:`Key` is in the file. The key is
``(kind, name, path, function, test nodeid)``: the file of the ``where``
location and its enclosing function, but not the line number, so that moving
code a few lines (or editing above it) keeps the entry valid.

File format (``asyncguard_baseline`` 1)::

    {
      "asyncguard_baseline": 1,
      "entries": [
        {"count": 2, "function": "fetch", "kind": "blocking-call",
         "name": "time.sleep", "path": "src/app/api.py",
         "test": "tests/test_api.py::test_fetch"}
      ]
    }

Entries are sorted and written one key per line, so an update reviews well in a
diff. ``count`` is how often the site was hit when the baseline was written; it
is information for the reader and plays no part in matching. Allowed violations
are never written: the allowlist already accepts them.

Nothing here imports pytest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_asyncguard.report import write_output
from pytest_asyncguard.results import RunResults, Violation

FORMAT = 1
MARKER = "asyncguard_baseline"

#: (kind, name, path, function, test nodeid)
Key = tuple[str, str, str, str | None, str]


class BaselineError(Exception):
    """The baseline file cannot be used; the message says why and what to do."""


def site_path(where: str) -> str:
    """The file part of a ``path:line`` location, with forward slashes."""
    path, sep, line = where.rpartition(":")
    if not sep or not line.isdigit():
        path = where
    return path.replace("\\", "/")


def key_of(nodeid: str, violation: Violation) -> Key:
    return (
        violation.kind,
        violation.name,
        site_path(violation.where),
        violation.function,
        nodeid,
    )


@dataclass(frozen=True)
class Entry:
    """One accepted violation site (any line within ``function`` of ``path``)."""

    kind: str
    name: str
    path: str
    function: str | None
    test: str
    count: int = 1

    @property
    def key(self) -> Key:
        return (self.kind, self.name, self.path, self.function, self.test)

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "function": self.function,
            "kind": self.kind,
            "name": self.name,
            "path": self.path,
            "test": self.test,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        return cls(
            kind=str(data["kind"]),
            name=str(data["name"]),
            path=str(data["path"]),
            function=None if data.get("function") is None else str(data["function"]),
            test=str(data["test"]),
            count=int(data.get("count", 1)),
        )


def _sort_key(entry: Entry) -> tuple[str, str, str, str, str]:
    return (entry.test, entry.path, entry.function or "", entry.kind, entry.name)


@dataclass
class Baseline:
    """The accepted violations, looked up by :data:`Key`."""

    entries: dict[Key, Entry] = field(default_factory=dict)

    @classmethod
    def from_entries(cls, entries: Iterable[Entry]) -> Baseline:
        return cls({entry.key: entry for entry in entries})

    @classmethod
    def load(cls, path: str | Path, *, missing_ok: bool = False) -> Baseline:
        """Read a baseline file.

        A missing file is an empty baseline only with ``missing_ok`` (when the
        run is about to write it); otherwise it is an error, since a typo in
        the path would silently fail every baselined test.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if missing_ok:
                return cls()
            raise BaselineError(
                f"baseline file {str(path)!r} does not exist; create it by running "
                "with --asyncguard-update-baseline"
            ) from None
        except OSError as exc:
            raise BaselineError(f"cannot read baseline file {str(path)!r}: {exc}") from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise BaselineError(
                f"baseline file {str(path)!r} is not valid JSON ({exc}); fix it, or "
                "delete it and rerun with --asyncguard-update-baseline"
            ) from exc
        if not isinstance(data, dict) or MARKER not in data:
            raise BaselineError(
                f"{str(path)!r} is not an asyncguard baseline file (no "
                f"{MARKER!r} key); is the path right?"
            )
        if data[MARKER] != FORMAT:
            raise BaselineError(
                f"baseline file {str(path)!r} has format {data[MARKER]!r}; this "
                f"version of asyncguard reads format {FORMAT}"
            )
        try:
            return cls.from_entries(Entry.from_dict(e) for e in data.get("entries", []))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BaselineError(
                f"baseline file {str(path)!r} has a malformed entry ({exc!r})"
            ) from exc

    def __len__(self) -> int:
        return len(self.entries)

    def is_baselined(self, nodeid: str, violation: Violation) -> bool:
        return key_of(nodeid, violation) in self.entries

    def fixed(self, results: RunResults) -> list[Entry]:
        """Entries whose violation no longer happens.

        Only tests that ran to completion in this run (outcome ``passed``) are
        evidence: a test left out by ``-k``, skipped, or failing before the
        call site says nothing about whether the violation is gone.
        """
        seen: set[Key] = set()
        finished: set[str] = set()
        for record in results.tests.values():
            if record.outcome == "passed":
                finished.add(record.nodeid)
            seen.update(key_of(record.nodeid, v) for v in record.violations if not v.allowed)
        fixed = [e for k, e in self.entries.items() if e.test in finished and k not in seen]
        return sorted(fixed, key=_sort_key)

    def updated(self, results: RunResults) -> Baseline:
        """The baseline after recording this run.

        Tests that ran (any outcome but skipped) get exactly the violations
        they had now; entries of tests that did not run are kept, so updating
        from a ``-k`` subset does not drop the rest of the file.
        """
        ran = {r.nodeid for r in results.tests.values() if r.outcome != "skipped"}
        counts: dict[Key, int] = {k: e.count for k, e in self.entries.items() if e.test not in ran}
        for record in results.tests.values():
            if record.nodeid not in ran:
                continue
            for violation in record.violations:
                if violation.allowed:
                    continue
                key = key_of(record.nodeid, violation)
                counts[key] = counts.get(key, 0) + violation.count
        return Baseline.from_entries(Entry(*key, count=count) for key, count in counts.items())

    def render(self) -> str:
        """The file's text: stable, sorted, indented, newline-terminated."""
        entries = sorted(self.entries.values(), key=_sort_key)
        data = {MARKER: FORMAT, "entries": [e.to_dict() for e in entries]}
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(path: str | Path, results: RunResults, previous: Baseline | None = None) -> Baseline:
    """Record ``results`` into the baseline file at ``path`` and return the new baseline.

    ``previous`` is the baseline the run used; its entries for tests that did
    not run are kept (see :meth:`Baseline.updated`).
    """
    new = (previous or Baseline()).updated(results)
    write_output(path, new.render())
    return new
