"""Static analysis: which ``async def`` never awaits anything.

One ``ast.parse`` per file and one pass over its statements find every async
function; only async bodies are walked down to the expressions. Nothing here
imports pytest or coverage, so the benchmark and other tools can call
:func:`analyse_paths` directly.

Names: a function's qualname is the module's dotted name (found by walking up
the folders that hold an ``__init__.py``) followed by the names of the classes
and functions that enclose it, without ``<locals>``: ``pkg.mod.outer.inner``.

A function without await may be accepted for a reason. When several apply, the
first in :data:`ALLOWED_REASONS` wins: facts read from the code come before the
user's declarations, so the report says *why* the code is fine as it stands.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase, translate
from pathlib import Path
from typing import Any

#: Reasons a function without await is accepted, in order of precedence.
ALLOWED_REASONS = ("overload", "abstract", "protocol", "stub", "comment", "config")
#: The comment that accepts one function: after code on its ``def`` line, a decorator
#: line or a continuation line of its signature (not on a line of its own).
MARKER = "asyncguard: allow-no-await"

_MARKER_BYTES = MARKER.encode()
_STMT_LISTS = ("body", "orelse", "finalbody", "handlers", "cases")
_ASYNC_STMTS = (ast.AsyncFor, ast.AsyncWith)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages"})


@dataclass
class AsyncFunction:
    """One ``async def``; ``executed``/``await_executed`` stay None without coverage."""

    qualname: str
    #: report path: relative to the root when under it, POSIX separators.
    path: str
    line: int
    has_await: bool
    allowed: str | None
    executed: bool | None = None
    await_executed: bool | None = None
    #: absolute file, first body line, last line, and the line spans of the
    #: statements that await: what the coverage join needs. Not in the JSON.
    file: Path | None = field(default=None, repr=False, compare=False)
    #: first line of the code object (the first decorator's): its entry arc is
    #: ``(-code_line, ...)`` in branch data.
    code_line: int = field(default=0, repr=False, compare=False)
    body_start: int = field(default=0, repr=False, compare=False)
    end_line: int = field(default=0, repr=False, compare=False)
    await_spans: tuple[tuple[int, int], ...] = field(default=(), repr=False, compare=False)

    @property
    def flagged(self) -> bool:
        """Without await and not accepted: what the report complains about."""
        return not self.has_await and self.allowed is None

    @property
    def ran_without_await(self) -> bool:
        """Has an await, but this run executed it without reaching one."""
        return self.has_await and bool(self.executed) and self.await_executed is False

    def to_dict(self) -> dict[str, Any]:
        return {
            "qualname": self.qualname,
            "path": self.path,
            "line": self.line,
            "has_await": self.has_await,
            "allowed": self.allowed,
            "executed": self.executed,
            "await_executed": self.await_executed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AsyncFunction:
        return cls(
            qualname=data["qualname"],
            path=data["path"],
            line=data["line"],
            has_await=data["has_await"],
            allowed=data.get("allowed"),
            executed=data.get("executed"),
            await_executed=data.get("await_executed"),
        )


@dataclass
class SkippedFile:
    """A source file that could not be analysed, and why."""

    file: Path
    error: str
    path: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path or self.file.as_posix(), "error": self.error}


@dataclass
class Analysis:
    """Everything found in the sources; reporters read :meth:`to_dict`."""

    sources: list[Path] = field(default_factory=list)
    allow_no_await: tuple[str, ...] = ()
    root: Path | None = None
    functions: list[AsyncFunction] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    #: where the runtime columns came from (``pytest-cov``, ``asyncguard``), or None.
    coverage: str | None = None

    @property
    def score(self) -> float:
        """Percent of functions that await or are allowed, to two decimals."""
        if not self.functions:
            return 100.0
        good = sum(1 for f in self.functions if not f.flagged)
        return round(100.0 * good / len(self.functions), 2)

    @property
    def flagged(self) -> list[AsyncFunction]:
        return [f for f in self.functions if f.flagged]

    def unused_allow_no_await(self) -> list[str]:
        """``allow_no_await`` globs that match no analysed function at all."""
        names = [f.qualname for f in self.functions]
        return [g for g in self.allow_no_await if not any(fnmatchcase(n, g) for n in names)]

    def relativise(self) -> None:
        """Set report paths relative to ``root`` (absolute when outside it)."""
        for function in self.functions:
            if function.file is not None:
                function.path = self.display(function.file)
        for skipped in self.skipped:
            skipped.path = self.display(skipped.file)

    def display(self, file: Path) -> str:
        if self.root is not None and file.is_relative_to(self.root):
            return file.relative_to(self.root).as_posix()
        return file.as_posix()

    def to_dict(self) -> dict[str, Any]:
        return {
            "functions": [f.to_dict() for f in self.functions],
            "score": self.score,
            "skipped": [s.to_dict() for s in self.skipped],
            "sources": [self.display(s) for s in self.sources],
            "coverage": self.coverage,
            "unused_allow_no_await": self.unused_allow_no_await(),
        }


def analyse_paths(
    paths: Iterable[str | Path],
    allow_no_await: Sequence[str] = (),
    root: str | Path | None = None,
) -> Analysis:
    """Analyse every ``.py`` file under ``paths`` (files or folders).

    ``root`` is the folder report paths are relative to (pytest's rootdir).
    """
    sources = [Path(p).resolve() for p in paths]
    base = Path(root).resolve() if root is not None else None
    analysis = Analysis(sources=sources, allow_no_await=tuple(allow_no_await), root=base)
    config = _compile_globs(allow_no_await)
    modules: dict[Path, str] = {}
    for file in iter_source_files(sources):
        try:
            found = analyse_file(file, module_name(file, modules), config)
        except (SyntaxError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            analysis.skipped.append(SkippedFile(file, f"{type(exc).__name__}: {exc}"))
            continue
        analysis.functions.extend(found)
    analysis.relativise()
    return analysis


def iter_source_files(sources: Iterable[Path]) -> Iterator[Path]:
    """Every ``.py`` file under ``sources``, once each, sorted within a folder."""
    seen: set[Path] = set()
    for source in sources:
        files = [source] if source.is_file() else sorted(_walk(source))
        for file in files:
            if file not in seen:
                seen.add(file)
                yield file


def _walk(folder: Path) -> Iterator[Path]:
    for entry in folder.iterdir():
        if entry.is_dir():
            if not entry.name.startswith(".") and entry.name not in _SKIP_DIRS:
                yield from _walk(entry)
        elif entry.suffix == ".py":
            yield entry


def module_name(file: Path, cache: dict[Path, str] | None = None) -> str:
    """Dotted module name of ``file``: its package folders, up to the first without
    ``__init__.py``."""
    cache = {} if cache is None else cache
    package = _package_of(file.parent, cache)
    stem = file.stem
    if stem == "__init__":
        return package or file.parent.name
    return f"{package}.{stem}" if package else stem


def _package_of(folder: Path, cache: dict[Path, str]) -> str:
    if folder in cache:
        return cache[folder]
    if not (folder / "__init__.py").is_file() or folder.parent == folder:
        name = ""
    else:
        parent = _package_of(folder.parent, cache)
        name = f"{parent}.{folder.name}" if parent else folder.name
    cache[folder] = name
    return name


def _compile_globs(globs: Sequence[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(translate(g) for g in globs)) if globs else None


def analyse_file(
    file: Path, module: str, config: re.Pattern[str] | None = None
) -> list[AsyncFunction]:
    """The async functions of one file. Raises ``SyntaxError`` and friends."""
    data = file.read_bytes()
    tree = ast.parse(data, filename=str(file))
    if b"async" not in data:
        return []
    scanner = _Scanner(file, config, *_marker_lines(data), _Keywords(data))
    scanner.statements(tree.body, module, protocol=False)
    return scanner.found


class _Keywords:
    """The lines whose text holds ``async`` or ``await``. An ``async def``, an
    ``await`` and an async comprehension each have one of the two words within
    their lines, so a statement or expression whose lines hold neither needs no
    walk: most of a file is passed over by a look-up here."""

    def __init__(self, data: bytes) -> None:
        # bytes.splitlines() breaks where Python's tokenizer does: \n, \r\n, \r
        self._lines = [
            n for n, line in enumerate(data.splitlines(), 1) if b"async" in line or b"await" in line
        ]

    def within(self, node: ast.AST) -> bool:
        """Might ``node`` hold one (does one of its lines hold a keyword)?"""
        first = getattr(node, "lineno", None)
        if first is None:
            return True  # no position (a bare ``ast.arguments``): walk it
        last = getattr(node, "end_lineno", None) or first
        decorators = getattr(node, "decorator_list", None)
        if decorators:  # a decorated def or class starts at its first decorator
            first = min(first, decorators[0].lineno)
        i = bisect_left(self._lines, first)
        return i < len(self._lines) and self._lines[i] <= last


def _marker_lines(data: bytes) -> tuple[set[int], list[bytes], str]:
    """Lines holding the marker text (candidates, confirmed by :func:`_has_marker`),
    the file's lines and its encoding; nothing when the marker is absent."""
    if _MARKER_BYTES not in data:
        return set(), [], "utf-8"
    lines = data.splitlines()  # where the tokenizer breaks lines: \n, \r\n, \r
    encoding = tokenize.detect_encoding(iter(lines[:2]).__next__)[0]
    return {n for n, line in enumerate(lines, 1) if _MARKER_BYTES in line}, lines, encoding


def _has_marker(segment: list[bytes], encoding: str) -> bool:
    """Does a marker comment follow code on a line of this function header?

    Only the few header lines are tokenized, so a marker inside a string or on a
    comment-only line does not count, and big files pay nothing for it.
    """
    text = b"\n".join(segment).decode(encoding, "replace") + "\n"
    last_code_row = 0
    skip = {tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                if MARKER in tok.string and tok.start[0] == last_code_row:
                    return True
            elif tok.type not in skip:
                last_code_row = tok.end[0]
    except (tokenize.TokenError, SyntaxError):
        return False
    return False


@dataclass
class _Scanner:
    """Walks statements to find async defs; walks async bodies for awaits."""

    file: Path
    config: re.Pattern[str] | None
    marker_lines: set[int]
    lines: list[bytes]
    encoding: str
    keywords: _Keywords
    found: list[AsyncFunction] = field(default_factory=list)

    def statements(self, body: Sequence[ast.AST], prefix: str, protocol: bool) -> None:
        for node in body:
            if not self.keywords.within(node):
                continue  # no async def anywhere in it
            if isinstance(node, ast.AsyncFunctionDef):
                self.found.append(self.function(node, f"{prefix}.{node.name}", protocol))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.statements(node.body, f"{prefix}.{node.name}", protocol=False)
            elif isinstance(node, ast.ClassDef):
                is_protocol = any(_dotted_tail(b) == "Protocol" for b in node.bases)
                self.statements(node.body, f"{prefix}.{node.name}", protocol=is_protocol)
            else:
                for name in _STMT_LISTS:
                    child = getattr(node, name, None)
                    if child:
                        self.statements(child, prefix, protocol=False)

    def function(self, node: ast.AsyncFunctionDef, qualname: str, protocol: bool) -> AsyncFunction:
        spans: list[tuple[int, int]] = []
        _await_spans(node.body, spans, self.keywords)
        allowed = None if spans else self.allowed(node, qualname, protocol)
        return AsyncFunction(
            qualname=qualname,
            path=str(self.file),
            line=node.lineno,
            has_await=bool(spans),
            allowed=allowed,
            file=self.file,
            code_line=min([d.lineno for d in node.decorator_list] + [node.lineno]),
            body_start=node.body[0].lineno,
            end_line=node.end_lineno or node.lineno,
            await_spans=tuple(spans),
        )

    def allowed(self, node: ast.AsyncFunctionDef, qualname: str, protocol: bool) -> str | None:
        decorators = {_dotted_tail(d) for d in node.decorator_list}
        if "overload" in decorators:
            return "overload"
        if "abstractmethod" in decorators:
            return "abstract"
        if protocol:
            return "protocol"
        if all(_is_stub_statement(s) for s in node.body):
            return "stub"
        if self.marker_lines:
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            last = max(node.lineno, node.body[0].lineno - 1)
            marked = any(first <= n <= last for n in self.marker_lines)
            if marked and _has_marker(self.lines[first - 1 : last], self.encoding):
                return "comment"
        if self.config is not None and self.config.match(qualname):
            return "config"
        return None


def _dotted_tail(node: ast.expr) -> str:
    """``abc.abstractmethod`` -> ``abstractmethod``; ``Protocol[T]`` -> ``Protocol``."""
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _is_stub_statement(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return stmt.value.value is Ellipsis or isinstance(stmt.value.value, str)
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return _dotted_tail(exc) == "NotImplementedError"
    return False


def _await_spans(
    body: Sequence[ast.AST], spans: list[tuple[int, int]], keywords: _Keywords
) -> None:
    """Add the line spans of the statements in ``body`` that await, in its own scope.

    A simple statement's span is all its lines; a compound statement's is its
    header (``async with a, b:``), since its body statements have their own spans.
    ``except`` handlers and ``case`` blocks are treated like statements. Nested
    functions and classes are other scopes: only their decorators, defaults and
    bases run here.
    """
    for stmt in body:
        if not keywords.within(stmt):
            continue  # neither it nor anything in it awaits
        header: list[ast.AST] = []
        blocks: list[list[ast.AST]] = []
        if isinstance(stmt, _SCOPES):
            header.extend(stmt.decorator_list)
            if isinstance(stmt, ast.ClassDef):
                header.extend(stmt.bases)
                header.extend(stmt.keywords)
            else:
                header.extend(stmt.args.defaults)
                header.extend(d for d in stmt.args.kw_defaults if d is not None)
        else:
            for name in stmt._fields:
                value = getattr(stmt, name)
                if name in _STMT_LISTS:
                    if value:
                        blocks.append(value)
                elif isinstance(value, list):
                    header.extend(v for v in value if isinstance(v, ast.AST))
                elif isinstance(value, ast.AST):
                    header.append(value)
        if isinstance(stmt, _ASYNC_STMTS) or any(keywords.within(h) and _awaits(h) for h in header):
            first = _first_line(stmt)
            last = _first_line(blocks[0][0]) - 1 if blocks else getattr(stmt, "end_lineno", first)
            spans.append((first, max(first, last or first)))
        for block in blocks:
            _await_spans(block, spans, keywords)


def _first_line(node: ast.AST) -> int:
    if isinstance(node, ast.match_case):
        return node.pattern.lineno
    return int(getattr(node, "lineno", 0))


def _awaits(node: ast.AST) -> bool:
    """Does this expression await (``await``, or an async comprehension)?"""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Await):
            return True
        if isinstance(sub, ast.comprehension) and sub.is_async:
            return True
    return False
