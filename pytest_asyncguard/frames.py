"""Where a frame's code lives: the user's project, a library, the stdlib, or test machinery.

A captured stack is a list of :class:`Frame` tuples, innermost first. The
classification answers two questions the reports ask: which frame is "the
user's line of code", and whether the nearest caller of a blocking call is
test machinery (pytest, pytest-asyncio, coverage, ...) doing its own work.
"""

from __future__ import annotations

import linecache
import os
import site
from functools import lru_cache
from types import CodeType, FrameType
from typing import NamedTuple

PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_MAX_DEPTH = 80


class Frame(NamedTuple):
    filename: str
    lineno: int
    function: str  # co_qualname where the interpreter has it
    module: str


_new = tuple.__new__  # a Frame without the Python-level NamedTuple constructor


def _frame(code: CodeType, lineno: int | None, module: str) -> Frame:
    name = getattr(code, "co_qualname", code.co_name)
    return _new(Frame, (code.co_filename, lineno or code.co_firstlineno, name, module))


def capture(frame: FrameType | None, limit: int = _MAX_DEPTH) -> list[Frame]:
    """The stack from ``frame`` outward, innermost first."""
    out: list[Frame] = []
    while frame is not None and len(out) < limit:
        out.append(_frame(frame.f_code, frame.f_lineno, frame.f_globals.get("__name__") or ""))
        frame = frame.f_back
    return out


#: a stack as cheap to take as possible: (code, last instruction, module) per frame.
RawStack = list[tuple[CodeType, int, str]]


def capture_raw(frame: FrameType | None, limit: int) -> RawStack:
    """:func:`capture` for the hot path (every task created): line numbers, the
    costly part, are worked out by :func:`resolve` only for stacks that are reported."""
    out: RawStack = []
    append = out.append
    for _ in range(limit):
        if frame is None:
            break
        append((frame.f_code, frame.f_lasti, frame.f_globals.get("__name__") or ""))
        frame = frame.f_back
    return out


def resolve(raw: RawStack) -> list[Frame]:
    return [_frame(code, _line_at(code, lasti), module) for code, lasti, module in raw]


def _line_at(code: CodeType, lasti: int) -> int | None:
    for start, end, line in code.co_lines():
        if start <= lasti < end:
            return line
    return None


def _dirs(paths: list[str]) -> tuple[str, ...]:
    paths = [p for p in paths if p]
    found = {os.path.realpath(p) + os.sep for p in paths} | {
        os.path.abspath(p) + os.sep for p in paths
    }
    return tuple(sorted(found))


# The stdlib is where ``os`` lives; installed packages are in the site folders
# (both as sysconfig names them, without importing sysconfig at start-up).
_STDLIB = _dirs([os.path.dirname(os.__file__)])
_SITE = _dirs(
    [*getattr(site, "getsitepackages", list)(), getattr(site, "getusersitepackages", str)()]
)
# Packages whose own work (capture, logging, assertion rewriting, tmp_path,
# coverage measurement, the event-loop runner) is not the code under test.
INFRA_PACKAGES = frozenset(
    {
        "_pytest",
        "pytest",
        "pluggy",
        "pytest_asyncio",
        "pytest_asyncguard",
        "blockbuster",
        "coverage",
        "pytest_cov",
        "xdist",
        "execnet",
        "_pydevd_bundle",
        "pydevd",
        "_pydev_bundle",
        "pytest_timeout",
    }
)
# Single modules of otherwise user-facing packages that are test machinery.
INFRA_MODULES = frozenset({"anyio.pytest_plugin", "pdb", "bdb", "cmd"})


@lru_cache(maxsize=4096)
def is_stdlib(filename: str) -> bool:
    if filename.startswith("<"):
        return True  # <frozen importlib._bootstrap>, <string> of the stdlib
    if _SITE and filename.startswith(_SITE):
        return False
    return bool(_STDLIB) and filename.startswith(_STDLIB)


@lru_cache(maxsize=4096)
def is_library(filename: str) -> bool:
    """Installed third-party code (site-packages, dist-packages)."""
    return (bool(_SITE) and filename.startswith(_SITE)) or (
        "site-packages" + os.sep in filename or "dist-packages" + os.sep in filename
    )


def is_infra(frame: Frame) -> bool:
    if frame.filename.startswith(PLUGIN_DIR):
        return True
    top = frame.module.partition(".")[0]
    return top in INFRA_PACKAGES or frame.module in INFRA_MODULES


class Locator:
    """Turns captured stacks into report locations relative to the rootdir."""

    def __init__(self, rootdir: str) -> None:
        self.rootdir = os.path.abspath(rootdir) + os.sep

    def is_user(self, frame: Frame) -> bool:
        """Code of the project under test: not stdlib, libraries or machinery."""
        f = frame.filename
        return not (is_stdlib(f) or is_library(f) or is_infra(frame))

    def user_frame(self, stack: list[Frame]) -> Frame | None:
        """The innermost frame of the user's code, preferring files under the rootdir."""
        candidates = [f for f in stack if self.is_user(f)]
        for f in candidates:
            if f.filename.startswith(self.rootdir):
                return f
        if candidates:
            return candidates[0]
        for f in stack:
            if not is_stdlib(f.filename) and not is_infra(f):
                return f
        return stack[0] if stack else None

    def relpath(self, filename: str) -> str:
        if filename.startswith(self.rootdir):
            return filename[len(self.rootdir) :].replace(os.sep, "/")
        return filename

    def where(self, frame: Frame | None) -> str:
        if frame is None:
            return "<unknown>:0"
        return f"{self.relpath(frame.filename)}:{frame.lineno}"

    def short_stack(self, stack: list[Frame], limit: int = 6) -> list[str]:
        """User frames, outermost first, each with its source line."""
        user = [f for f in stack if self.is_user(f)]
        local = [f for f in user if f.filename.startswith(self.rootdir)]
        user = local or user or stack[:1]
        lines = []
        for f in reversed(user[:limit]):
            source = linecache.getline(f.filename, f.lineno).strip()
            text = f"{self.where(f)} in {f.function}"
            lines.append(f"{text}\n    {source}" if source else text)
        return lines
