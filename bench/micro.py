"""Nanoseconds a patched call costs: no guard, asyncguard's Guard with and without C, blockbuster's.

Each case is a tight loop of one call that asyncguard patches: ``os.stat`` on a
file and an uncontended ``threading.Lock`` ``acquire()`` + ``release()``. The
loop runs (a) in a thread with no event loop, (b) in a worker thread
(``asyncio.to_thread``) while the main thread's loop runs, and, for the lock,
(c) on the loop itself, where an uncontended lock is not a violation.
Variants are interleaved in many short rounds. "added" is the median over the
rounds of (patched - unpatched) measured seconds apart; the best-of-all-rounds
difference is kept too. On a shared machine a syscall such as ``stat`` varies
by more than the wrapper costs, so few long rounds would measure the
neighbours, not the wrapper.

pytest_asyncguard and blockbuster are imported only when this runs.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable

_ns = time.perf_counter_ns


def _stat(n: int, path: str) -> float:
    start = _ns()
    for _ in range(n):
        os.stat(path)  # looked up on the module each time: sees the patch
    return (_ns() - start) / n


def _lock(n: int, _path: str) -> float:
    lock = threading.Lock()
    start = _ns()
    for _ in range(n):
        lock.acquire()
        lock.release()
    return (_ns() - start) / n


def _outside(fn: Callable[[int, str], float], n: int, path: str) -> float:
    return fn(n, path)


def _worker(fn: Callable[[int, str], float], n: int, path: str) -> float:
    async def main() -> float:
        return await asyncio.to_thread(fn, n, path)

    return asyncio.run(main())


def _on_loop(fn: Callable[[int, str], float], n: int, path: str) -> float:
    async def main() -> float:
        return fn(n, path)

    return asyncio.run(main())


CASES = [
    ("os.stat(file)", _stat, "outside a loop", _outside, 1),
    ("Lock acquire+release", _lock, "outside a loop", _outside, 5),
    ("os.stat(file)", _stat, "worker thread, loop running", _worker, 1),
    ("Lock acquire+release", _lock, "worker thread, loop running", _worker, 5),
    ("Lock acquire+release", _lock, "on the loop (uncontended)", _on_loop, 5),
]


class _Variant:
    def __init__(self, name: str) -> None:
        self.name = name
        self.error: str | None = None
        self._on: Callable[[], None] = lambda: None
        self._off: Callable[[], None] = lambda: None

    def on(self) -> None:
        self._on()

    def off(self) -> None:
        self._off()


def _variants() -> list[_Variant]:
    none = _Variant("no patch")
    out = [none]
    # with the C fast path (where it is built), and the Python wrappers alone (an
    # install without a compiler, or ASYNCGUARD_NO_EXTENSION=1)
    for name, extension in (("asyncguard Guard", True), ("asyncguard, Python only", False)):
        ag = _Variant(name)
        try:
            from pytest_asyncguard.guard import Guard, Recorder

            recorder = Recorder()
            recorder.context = "benchmark"  # as during a test phase
            guard = Guard(recorder, extension=extension)
            ag._on, ag._off = guard.install, guard.uninstall
        except Exception as exc:
            ag.error = f"{type(exc).__name__}: {exc}"
        out.append(ag)
    bb = _Variant("blockbuster")
    try:
        from blockbuster import BlockBuster

        buster = BlockBuster()
        bb._on, bb._off = buster.activate, buster.deactivate
    except Exception as exc:
        bb.error = f"{type(exc).__name__}: {exc}"
    out.append(bb)
    return out


def _patched(variant: _Variant) -> bool:
    """Did the variant really patch both calls (os.stat and the lock type)?"""
    stat0, lock0 = os.stat, type(threading.Lock()).acquire
    variant.on()
    try:
        return os.stat is not stat0 and type(threading.Lock()).acquire is not lock0
    finally:
        variant.off()


def run(n: int = 10_000, rounds: int = 40) -> dict[str, object]:
    """ns per call for every case and variant, and what each variant adds."""
    variants = _variants()
    notes = [f"{v.name}: not measured ({v.error})" for v in variants if v.error]
    variants = [v for v in variants if not v.error]
    for v in variants[1:]:
        if not _patched(v):
            notes.append(f"{v.name}: os.stat or Lock.acquire was not patched")
    best: dict[tuple[int, str], float] = {}
    diffs: dict[tuple[int, str], list[float]] = {}
    with tempfile.NamedTemporaryFile() as f:
        for _, fn, _, where, _ in CASES:
            where(fn, max(1000, n // 20), f.name)  # warm up
        for _ in range(rounds):
            this_round: dict[tuple[int, str], float] = {}
            for v in variants:
                v.on()
                try:
                    for case, (_, fn, _, where, scale) in enumerate(CASES):
                        ns = where(fn, n * scale, f.name)
                        key = (case, v.name)
                        this_round[key] = ns
                        best[key] = min(best.get(key, float("inf")), ns)
                finally:
                    v.off()
            for (case, name), ns in this_round.items():
                diffs.setdefault((case, name), []).append(ns - this_round[(case, "no patch")])
    rows = []
    for case, (call, _, place, _, _) in enumerate(CASES):
        base = best[(case, "no patch")]
        row: dict[str, object] = {"call": call, "where": place, "base_ns": base}
        for v in variants[1:]:
            row[v.name] = best[(case, v.name)]
            row[f"{v.name} added"] = statistics.median(diffs[(case, v.name)])
            row[f"{v.name} added (best-of)"] = best[(case, v.name)] - base
        rows.append(row)
    return {
        "rows": rows,
        "variants": [v.name for v in variants],
        "notes": notes,
        "n": n,
        "rounds": rounds,
    }
