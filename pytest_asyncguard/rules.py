"""The catalogue of blocking functions: blockbuster's rules plus the ones users hit that it misses.

blockbuster supplies most of the catalogue (which functions, which arguments
make them non-blocking, which callers are known to be fine); asyncguard adds
DNS look-ups, ``open()``, line reads, ``os.system``, ``select``, waits on
subprocesses and contended ``RLock``/``with lock:``, and knows the async
alternative for each. Nothing here patches anything: see ``guard.py``.
"""

from __future__ import annotations

import _thread
import builtins
import io
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from types import FrameType, ModuleType
from typing import Any

from pytest_asyncguard.frames import Frame


def _never(*_args: Any, **_kwargs: Any) -> bool:
    return False


class Rule:
    """One patchable function and how to tell a harmless call of it."""

    # A plain class, not a dataclass: every run imports this module, and a
    # dataclass compiles its generated methods again at each import.
    __slots__ = ("attr", "harmless", "is_wait", "known_callers", "name", "owner")

    def __init__(
        self,
        name: str,
        owner: ModuleType | type,
        attr: str,
        *,
        harmless: Callable[..., bool] = _never,
        known_callers: list[tuple[str, frozenset[str]]] | None = None,
        is_wait: bool = False,
    ) -> None:
        self.name = name  # the name users know: ``time.sleep``, ``sqlite3.Cursor.execute``
        self.owner = owner
        self.attr = attr
        #: True when this call cannot block (non-blocking socket, stdout write, ...)
        self.harmless = harmless
        #: (file suffix, function names) of callers known to block only briefly
        self.known_callers = known_callers if known_callers is not None else []
        #: a synchronisation primitive: counts only when it really waited
        self.is_wait = is_wait

    def __repr__(self) -> str:
        return f"Rule({self.name!r}, {self.owner!r}, {self.attr!r})"


def _file_read_harmless(file: Any, *_a: Any, **_k: Any) -> bool:
    try:
        file.fileno()
    except (io.UnsupportedOperation, AttributeError, ValueError):
        return True  # in-memory or closed: no disk behind it
    return bool(file.isatty())


def _sleep_harmless(seconds: float = 0, *_a: Any, **_k: Any) -> bool:
    try:
        return float(seconds) <= 0
    except (TypeError, ValueError):
        return False


def _select_harmless(*args: Any, **kwargs: Any) -> bool:
    timeout = args[3] if len(args) > 3 else kwargs.get("timeout")
    return timeout is not None and timeout <= 0


def _poll_harmless(_poller: Any, timeout: Any = None, *_a: Any, **_k: Any) -> bool:
    return timeout is not None and timeout == 0


def _waitpid_harmless(_pid: int = 0, options: int = 0, *_a: Any, **_k: Any) -> bool:
    return bool(options & getattr(os, "WNOHANG", 0))


def _popen_wait_harmless(proc: Any, timeout: Any = None, *_a: Any, **_k: Any) -> bool:
    return proc.returncode is not None or timeout == 0


def _or_devnull(harmless: Callable[..., bool]) -> Callable[..., bool]:
    """Reads and writes of the null device (pytest's default log file) cannot block."""

    def check(file: Any, *args: Any, **kwargs: Any) -> bool:
        return getattr(file, "name", None) == os.devnull or harmless(file, *args, **kwargs)

    return check


def _std_fd_or(harmless: Callable[..., bool]) -> Callable[..., bool]:
    """Writes to fd 1 and 2 are output like print(), which blockbuster lets through too."""

    def check(fd: Any, *args: Any, **kwargs: Any) -> bool:
        return fd in (1, 2) or harmless(fd, *args, **kwargs)

    return check


def _from_blockbuster() -> list[Rule]:
    from blockbuster import BlockBuster

    rules = []
    for name, fn in BlockBuster().functions.items():
        if fn.original_func is None:
            continue
        harmless = fn.can_block_predicate
        if name == "os.write":
            harmless = _std_fd_or(harmless)
        elif name.startswith("io."):
            harmless = _or_devnull(harmless)
        rules.append(
            Rule(
                name=name,
                owner=fn.module,
                attr=fn.func_name,
                harmless=harmless,
                known_callers=[(f, frozenset(funcs)) for f, funcs in fn.can_block_functions],
            )
        )
    return rules


def _extra() -> list[Rule]:
    lock_type = type(_thread.allocate_lock())
    rlock_type = _thread.RLock
    rules = [
        Rule("builtins.open", builtins, "open"),
        Rule("builtins.open", io, "open"),
        Rule("time.sleep", time, "sleep", harmless=_sleep_harmless),
        Rule("os.system", os, "system"),
        Rule("os.waitpid", os, "waitpid", harmless=_waitpid_harmless),
        Rule("subprocess.Popen.wait", subprocess.Popen, "wait", harmless=_popen_wait_harmless),
        Rule("subprocess.Popen.communicate", subprocess.Popen, "communicate"),
        Rule("select.select", select, "select", harmless=_select_harmless),
        Rule("threading.Lock.acquire", lock_type, "acquire", is_wait=True),
        Rule("threading.Lock.acquire", lock_type, "acquire_lock", is_wait=True),
        Rule("threading.RLock.acquire", rlock_type, "acquire", is_wait=True),
        # `with lock:` calls __enter__, not acquire
        Rule("threading.Lock.acquire", lock_type, "__enter__", is_wait=True),
        Rule("threading.RLock.acquire", rlock_type, "__enter__", is_wait=True),
    ]
    if hasattr(select, "poll"):
        rules.append(Rule("select.poll.poll", type(select.poll()), "poll", harmless=_poll_harmless))
    for fn in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo"):
        rules.append(Rule(f"socket.{fn}", socket, fn))
    for cls in (io.TextIOWrapper, io.BufferedReader, io.BufferedRandom, io.FileIO):
        for meth in ("readline", "readlines"):
            rules.append(Rule(f"io.{cls.__name__}.{meth}", cls, meth, harmless=_file_read_harmless))
    rules.append(Rule("io.FileIO.read", io.FileIO, "read", harmless=_file_read_harmless))
    rules.append(Rule("io.FileIO.readall", io.FileIO, "readall", harmless=_file_read_harmless))
    return rules


# Waits asyncguard also lets through: executor housekeeping when a
# `with ThreadPoolExecutor()` block exits (joining idle workers). A shutdown
# that really waits for running work still holds the loop: a loop stall.
_EXTRA_LOCK_CALLERS = [("concurrent/futures/thread.py", frozenset({"shutdown"}))]


def catalogue() -> list[Rule]:
    """Every rule, blockbuster's first; asyncguard's override the same attribute.

    An overriding rule keeps blockbuster's known callers: its own test of
    "harmless" replaces blockbuster's, the list of fine callers stays. Every
    lock rule (``acquire``, ``acquire_lock``, ``__enter__``, ``Lock`` and
    ``RLock``) shares blockbuster's lock callers (``Thread.start`` waiting for
    its thread, ``ThreadPoolExecutor.submit``).
    """
    by_target: dict[tuple[int, str], Rule] = {}
    lock_callers: list[tuple[str, frozenset[str]]] = list(_EXTRA_LOCK_CALLERS)
    for rule in [*_from_blockbuster(), *_extra()]:
        key = (id(rule.owner), rule.attr)
        old = by_target.get(key)
        if old is not None and old.known_callers and not rule.known_callers:
            rule.known_callers = old.known_callers
        if old is not None and old.name == "threading.Lock.acquire":
            lock_callers += [c for c in old.known_callers if c not in lock_callers]
        by_target[key] = rule
    rules = list(by_target.values())
    for rule in rules:
        if rule.is_wait:
            rule.known_callers = lock_callers
    return rules


# The async alternative, by the prefix of the reported name (longest match wins).
_FIXES = {
    "time.sleep": "use await asyncio.sleep()",
    "builtins.open": "use aiofiles or await asyncio.to_thread()",
    "builtins.input": "use await asyncio.to_thread(input)",
    "io.": "use aiofiles or await asyncio.to_thread()",
    "os.": "use aiofiles.os or await asyncio.to_thread()",
    "os.system": "use await asyncio.create_subprocess_shell()",
    "os.waitpid": "use await asyncio.create_subprocess_exec() and await proc.wait()",
    "os.read": "use asyncio streams or await asyncio.to_thread()",
    "os.walk": "use await asyncio.to_thread(os.walk, ...)",
    "pathlib.": "use aiofiles.os or await asyncio.to_thread()",
    "shutil.": "use await asyncio.to_thread(shutil...)",
    "glob.": "use await asyncio.to_thread(glob...)",
    "json.": "use aiofiles or await asyncio.to_thread()",
    "subprocess.": "use await asyncio.create_subprocess_exec()",
    "socket.getaddrinfo": "use await loop.getaddrinfo()",
    "socket.gethostbyname": "use await loop.getaddrinfo()",
    "socket.gethostbyaddr": "use await loop.getnameinfo()",
    "socket.getnameinfo": "use await loop.getnameinfo()",
    "socket.": "use asyncio streams (await asyncio.open_connection())",
    "ssl.": "use asyncio streams with ssl= (await asyncio.open_connection())",
    "select.": "use loop.add_reader() or asyncio streams",
    "sqlite3.": "use aiosqlite, or await asyncio.to_thread()",
    "threading.Lock": "use asyncio.Lock, or await asyncio.to_thread()",
    "threading.RLock": "use asyncio.Lock, or await asyncio.to_thread()",
    "threading.Event": "use asyncio.Event",
    "threading.Condition": "use asyncio.Condition",
    "threading.Semaphore": "use asyncio.Semaphore",
    "threading.Thread": "use await asyncio.to_thread() instead of managing threads on the loop",
    "threading.Thread.join": "use await asyncio.to_thread(thread.join)",
    "queue.": "use asyncio.Queue",
    "concurrent.futures.": "use await asyncio.wrap_future() or loop.run_in_executor()",
    "urllib.": "use an async HTTP client (httpx.AsyncClient, aiohttp)",
    "http.client.": "use an async HTTP client (httpx.AsyncClient, aiohttp)",
    "logging.": "use a logging.handlers.QueueHandler so handlers write off the loop",
}
# Libraries in the stack that have an async counterpart worth naming.
_LIBRARY_FIXES = {
    "requests": "use an async HTTP client (httpx.AsyncClient, aiohttp)",
    "urllib3": "use an async HTTP client (httpx.AsyncClient, aiohttp)",
    "httpx": "use httpx.AsyncClient",
    "redis": "use redis.asyncio",
    "psycopg2": "use psycopg 3's AsyncConnection or asyncpg",
    "pymysql": "use aiomysql or asyncmy",
    "sqlalchemy": "use SQLAlchemy's AsyncSession (sqlalchemy.ext.asyncio)",
    "boto3": "use aioboto3, or await asyncio.to_thread()",
    "botocore": "use aiobotocore, or await asyncio.to_thread()",
    "pymongo": "use motor or pymongo's AsyncMongoClient",
    "smtplib": "use aiosmtplib",
}


def fix_for(names: Iterable[str], stack: list[Frame]) -> str | None:
    """The async alternative for a blocked call reached through ``names``."""
    for frame in stack:
        top = frame.module.partition(".")[0]
        if top in _LIBRARY_FIXES:
            return _LIBRARY_FIXES[top]
    for name in names:
        best = max((p for p in _FIXES if name.startswith(p)), key=len, default=None)
        if best is not None:
            return _FIXES[best]
    return None


# stdlib modules whose public functions users call directly: the outermost
# frame in one of them names the call the way the user wrote it.
_ENTRY_MODULES = {
    "subprocess": "subprocess",
    "os": "os",
    "posixpath": "os.path",
    "ntpath": "os.path",
    "genericpath": "os.path",
    "shutil": "shutil",
    "pathlib": "pathlib",
    "glob": "glob",
    "json": "json",
    "socket": "socket",
    "ssl": "ssl",
    "urllib.request": "urllib.request",
    "http.client": "http.client",
    "queue": "queue",
    "threading": "threading",
    "concurrent.futures": "concurrent.futures",
    "tempfile": "tempfile",
    "smtplib": "smtplib",
    "logging": "logging",
    "sqlite3": "sqlite3",
}


def _public_module(module: str) -> str:
    """``pathlib._local`` -> ``pathlib``; ``concurrent.futures._base`` -> ``concurrent.futures``."""
    parts = [p for p in module.split(".") if not p.startswith("_")]
    return ".".join(parts) if parts else module


def entry_name(stack: list[Frame], is_user: Callable[[Frame], bool]) -> str | None:
    """The stdlib function the user's code called to get to the blocking call, if any."""
    entry: str | None = None
    for frame in stack:
        if is_user(frame):
            break
        public = _ENTRY_MODULES.get(_public_module(frame.module))
        func = frame.function
        if public is not None and func.startswith("_") and "." not in func:
            # os.walk delegates to os._walk on some versions: name the public one
            module = sys.modules.get(frame.module)
            if module is not None and hasattr(module, func.lstrip("_")):
                func = func.lstrip("_")
        if public is None or func.startswith("_") or "<" in func:
            continue
        if any(part.startswith("_") for part in func.split(".")):
            continue
        entry = f"{public}.{func}"
    return entry


#: One-time lazy initialisation in the standard library that every async web
#: stack triggers, the import system, and debuggers: allowed when any frame of
#: the stack is in one of these (module prefix, functions; empty = any).
BUILTIN_ALLOW: tuple[tuple[str, frozenset[str]], ...] = (
    ("importlib._bootstrap", frozenset({"_find_and_load", "_load_unlocked", "_find_spec"})),
    ("importlib._bootstrap_external", frozenset()),
    ("zipimport", frozenset()),
    ("linecache", frozenset()),
    ("mimetypes", frozenset()),
    ("tempfile", frozenset({"_get_default_tempdir", "gettempdir", "_candidate_tempdir_list"})),
    ("zoneinfo", frozenset()),
    ("platform", frozenset()),
    ("pdb", frozenset()),
    ("bdb", frozenset()),
    ("cmd", frozenset()),
    ("selectors", frozenset()),
    (
        "asyncio.base_events",
        frozenset(
            {
                "subprocess_exec",
                "subprocess_shell",
                "shutdown_default_executor",
                "_do_shutdown",
                "create_server",
                "sendfile",
            }
        ),
    ),
    ("asyncio.base_subprocess", frozenset()),
    ("asyncio.unix_events", frozenset()),
)
_BUILTIN_BY_MODULE = dict(BUILTIN_ALLOW)


def builtin_allowed(module: str, function: str) -> bool:
    """Is code of ``module.function`` in the built-in allowlist (a module or its parent)?"""
    while module:
        funcs = _BUILTIN_BY_MODULE.get(module)
        if funcs is not None and (not funcs or function in funcs):
            return True
        module = module.rpartition(".")[0]
    return False


def allowed_caller(frame: FrameType | None, rule: Rule, builtin: bool) -> bool:
    """A known-fine caller or built-in allowlisted code is on the stack.

    Walks the raw frames without building anything, so the guard can skip
    recording calls the policy would discard anyway (asyncio's debug mode calls
    ``linecache.checkcache`` for every new task, for one).
    """
    callers = rule.known_callers
    while frame is not None:
        code = frame.f_code
        if builtin and builtin_allowed(frame.f_globals.get("__name__") or "", code.co_name):
            return True
        for suffix, funcs in callers:
            if code.co_name in funcs and code.co_filename.replace("\\", "/").endswith(suffix):
                return True
        frame = frame.f_back
    return False
