"""Patch the blocking functions and record, never raise, when one runs on a loop.

Raising at the call site (blockbuster's way) changes what the code under test
does: an ``except Exception`` swallows the error, a callback that dies leaves
its caller waiting forever, a thread pool stays stuck at exit. asyncguard's
wrappers only *record* a :class:`Hit` and then make the real call; the plugin
turns the hits of a test phase into violations when the phase ends.

The wrapper's fast path is one C call (``asyncio._get_running_loop``): code
running outside an event loop, sync tests and worker threads included, pays
nothing else. Where the ``_gate`` extension is built, that test runs in C and
forwards to the original without a Python frame; the Python wrappers below
then only see calls made on a running loop.
"""

from __future__ import annotations

import _thread
import functools
import os
import sys
import threading
import time
import weakref
from asyncio import events
from collections.abc import Callable
from types import FrameType, FunctionType, ModuleType
from typing import Any

from pytest_asyncguard.frames import INFRA_PACKAGES, Frame, capture
from pytest_asyncguard.rules import Rule, allowed_caller, catalogue

_get_running_loop = events._get_running_loop
_perf = time.perf_counter

# Each lock type's own acquire, taken before anything is patched.
_PRISTINE_ACQUIRE: dict[Any, Callable[..., Any]] = {
    t: t.acquire for t in (type(_thread.allocate_lock()), _thread.RLock)
}


def _load_gate() -> Callable[..., Any] | None:
    """The C fast path, unless it is not built or switched off (``ASYNCGUARD_NO_EXTENSION=1``)."""
    if os.environ.get("ASYNCGUARD_NO_EXTENSION", "") not in ("", "0"):
        return None
    try:
        from pytest_asyncguard._gate import Gate
    except ImportError:
        return None
    return Gate


_Gate = _load_gate()

#: a lock or wait shorter than this did not really wait: an uncontended lock
#: that raced, a worker thread that was already finishing, or the loop's thread
#: waiting its turn for the GIL (one switch interval, 5 ms by default) after a
#: worker thread released the lock.
INSTANT_WAIT = max(0.01, 2 * sys.getswitchinterval())


class Hit:
    """One blocking call seen on a running loop, before any policy applies."""

    # A plain class, not a dataclass: every run imports this module, and a
    # dataclass compiles its generated methods again at each import.
    __slots__ = ("context", "duration", "rule", "stack", "thread", "time")

    def __init__(
        self,
        rule: str,
        stack: list[Frame],
        thread: int,
        context: object,
        duration: float | None = None,
    ) -> None:
        self.rule = rule
        self.stack = stack
        self.thread = thread
        #: the test it happened in (the recorder's context)
        self.context = context
        #: seconds it waited (``is_wait`` rules) or blocked
        self.duration = duration
        #: when it was seen (``time.perf_counter``): the watchdog matches stalls to hits
        self.time = _perf()


class _Local(threading.local):
    busy = False


def no_context() -> object | None:
    """The recorder's ``wake`` once awake: no context means no test is open."""
    return None


class Recorder:
    """Collects hits for the current test phase. Thread safe through the GIL."""

    def __init__(self) -> None:
        #: the test being run (None: none, nothing is recorded)
        self.context: object | None = None
        #: asked for the context where something would be recorded without one:
        #: until asyncguard is awake (see Engine.wake) the tests run without it
        self.wake: Callable[[], object | None] = no_context
        self.hits: list[Hit] = []
        self.enabled = True
        self._local = _Local()

    def drain(self) -> list[Hit]:
        hits, self.hits = self.hits, []
        return hits


class Guard:
    """Installs the wrappers for every rule and removes them again."""

    def __init__(
        self, recorder: Recorder, *, builtin_allow: bool = True, extension: bool = True
    ) -> None:
        self.recorder = recorder
        #: skip calls from the built-in allowlist before recording them
        self.builtin_allow = builtin_allow
        #: the C fast path in front of the wrappers, where it is built
        self._gate = _Gate if extension else None
        self.rules: list[Rule] = []
        self._originals: list[tuple[Any, str, Any]] = []
        self._wrappers: dict[int, tuple[Any, Any]] = {}
        #: modules loaded when the wrappers went in, and those where names were rebound
        self._modules_before: set[str] = set()
        self._rebound: list[ModuleType] = []

    def install(self) -> None:
        if self._originals:
            return
        self.rules[:] = catalogue()  # in place: the policy holds this list
        swaps: dict[int, tuple[Any, Any]] = {}
        try:
            for rule in self.rules:
                original = getattr(rule.owner, rule.attr, None)
                if original is None:
                    continue
                try:
                    wrapper = self._wrap(rule, original)
                    # C callables (os.stat, Lock.acquire, TextIOWrapper.readline) get
                    # the C gate; Python functions (os.path.islink, Popen.wait) stay Python
                    # functions, which the tools that inspect them expect (a method
                    # that binds self under mock's autospec, inspect.isfunction).
                    if self._gate is not None and not isinstance(original, FunctionType):
                        try_first = _PRISTINE_ACQUIRE[rule.owner] if rule.is_wait else None
                        wrapper = self._gate(original, wrapper, _get_running_loop, try_first)
                    functools.wraps(original)(wrapper)
                    _set(rule.owner, rule.attr, wrapper)
                except (TypeError, KeyError, AttributeError, ImportError):
                    continue  # this interpreter's type cannot be patched: skip the rule
                self._originals.append((rule.owner, rule.attr, original))
                if isinstance(rule.owner, ModuleType):
                    swaps[id(original)] = (original, wrapper)
        except BaseException:
            self.uninstall()
            raise
        self._wrappers = {id(w): (w, o) for o, w in swaps.values()}
        # `from time import sleep` ran before the patch (a conftest imported the
        # app): point those names at the wrappers too.
        self._modules_before = set(sys.modules)
        self._rebound = _rebind(swaps, _code_under_test(sys.modules))
        _ACTIVE.add(self.recorder)

    def uninstall(self) -> None:
        while self._originals:
            owner, attr, original = self._originals.pop()
            _set(owner, attr, original)
        # names bound to a wrapper during the session (modules imported by the
        # tests) get the original back, so nothing stays patched
        before = self._modules_before
        since = [m for name, m in list(sys.modules.items()) if name not in before]
        _rebind(self._wrappers, [*self._rebound, *since])
        self._wrappers = {}
        self._rebound = []
        _ACTIVE.discard(self.recorder)

    def _wrap(self, rule: Rule, original: Callable[..., Any]) -> Callable[..., Any]:
        recorder = self.recorder
        local = recorder._local
        harmless = rule.harmless
        name = rule.name

        def record(caller: FrameType, duration: float | None) -> Hit | None:
            """A hit for the call made in ``caller`` (the frame that called the wrapper)."""
            ctx = recorder.context
            if ctx is None or not recorder.enabled:
                return None
            if allowed_caller(caller, rule, self.builtin_allow):
                return None
            hit = Hit(name, capture(caller), threading.get_ident(), ctx, duration)
            recorder.hits.append(hit)  # drain() swaps the list: look it up each time
            return hit

        if rule.is_wait:
            # the type's own acquire, to test "free?" without going through a wrapper
            try_lock = _PRISTINE_ACQUIRE[rule.owner]

            def waited(lock: Any, call: Callable[..., Any], *args: Any) -> Any:
                start = _perf()
                result = call(lock, *args)
                seconds = _perf() - start
                if seconds >= INSTANT_WAIT:
                    local.busy = True
                    try:
                        record(sys._getframe(2), seconds)  # past acquire/enter
                    except Exception:  # the lock is taken: the caller must get it
                        pass
                    finally:
                        local.busy = False
                return result

            if rule.attr == "__enter__":

                def enter(lock: Any) -> Any:
                    if _get_running_loop() is None:
                        return original(lock)
                    if try_lock(lock, False):
                        return True  # it was free: taken at once, as __enter__ returns
                    if local.busy:  # asyncguard's own recording: not a call to record
                        return original(lock)
                    return waited(lock, original)

                return enter

            def acquire(lock: Any, blocking: bool = True, timeout: float = -1) -> Any:
                if _get_running_loop() is None or not blocking or timeout == 0:
                    return original(lock, blocking, timeout)
                if try_lock(lock, False):
                    return True  # it was free: taken at once
                if local.busy:
                    return original(lock, blocking, timeout)
                return waited(lock, original, blocking, timeout)

            return acquire

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if _get_running_loop() is None or local.busy:
                return original(*args, **kwargs)
            local.busy = True
            hit = None
            try:
                if not harmless(*args, **kwargs):
                    hit = record(sys._getframe(1), None)
            except Exception:
                pass
            if hit is None:
                local.busy = False
                return original(*args, **kwargs)
            # Still busy while the real call runs: what it calls inside (a read
            # under json.load, a select under communicate) is the same call.
            start = _perf()
            try:
                return original(*args, **kwargs)
            finally:
                hit.duration = _perf() - start
                local.busy = False

        return wrapper


def _code_under_test(modules: dict[str, ModuleType]) -> list[ModuleType]:
    """Loaded modules that are neither the stdlib nor test machinery (decided by name)."""
    skip = _SKIP_TOP_LEVEL
    return [m for name, m in list(modules.items()) if name.partition(".")[0] not in skip]


def _rebind(swaps: dict[int, tuple[Any, Any]], modules: list[ModuleType]) -> list[ModuleType]:
    """In ``modules``, replace names bound to ``swaps``' keys by the values; return
    the modules where something was replaced.

    ``swaps`` maps ``id(old)`` to ``(old, new)``; identity is checked, so an
    object that merely reuses an id is left alone.
    """
    changed: list[ModuleType] = []
    if not swaps:
        return changed
    for module in modules:
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict) or swaps.keys().isdisjoint(map(id, namespace.values())):
            continue  # the common case, decided in C: nothing of ours is bound here
        if getattr(module, "__name__", "").startswith(_OWN):
            continue
        for name, value in list(namespace.items()):
            pair = swaps.get(id(value))
            if pair is not None and pair[0] is value:
                namespace[name] = pair[1]
        changed.append(module)
    return changed


def _disable_in_child() -> None:
    # A child process forked during a test is not the test: record nothing.
    for recorder in list(_ACTIVE):
        recorder.enabled = False


_OWN = ("pytest_asyncguard", "blockbuster")
# Top-level packages whose names are not rebound at install: the stdlib (its
# modules call what they imported for their own purposes) and test machinery.
_SKIP_TOP_LEVEL = (frozenset(sys.stdlib_module_names) - {"test"}) | INFRA_PACKAGES
_ACTIVE: weakref.WeakSet[Recorder] = weakref.WeakSet()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_disable_in_child)


def _set(owner: Any, attr: str, value: Any) -> None:
    """Set ``owner.attr``, also on built-in types (``_thread.lock``, ``io.TextIOWrapper``).

    Built-in types refuse ``setattr``; their method table is patched in place
    instead (what blockbuster does through forbiddenfruit), and the type's
    method cache invalidated. This also works for ``__enter__``, which ``with``
    looks up by name, but not for C slots such as ``__next__``.
    """
    try:
        setattr(owner, attr, value)
    except TypeError:
        # imported here: ctypes and forbiddenfruit (a blockbuster dependency on
        # CPython) are only needed once the guard installs
        import ctypes

        import forbiddenfruit

        forbiddenfruit.patchable_builtin(owner)[attr] = value
        ctypes.pythonapi.PyType_Modified(ctypes.py_object(owner))
