"""Run pytest as a child process and measure it: wall time, CPU time, peak RSS.

``os.wait4`` reaps exactly the child we started and hands back its own
``rusage``: user + system CPU seconds and ``ru_maxrss`` (KiB on Linux), so
nothing else the machine runs is counted in the CPU and memory columns.
Only the standard library is imported here.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

_SUMMARY = re.compile(r"(\d+) (passed|failed|error|errors|skipped|warnings?|deselected)")


@dataclass(frozen=True)
class Config:
    key: str
    label: str
    #: the ``-p`` flags and options after ``python -m pytest -q -p no:cacheprovider``.
    args: tuple[str, ...]
    #: plugin modules loaded through ``PYTEST_PLUGINS``, as an installed plugin is
    #: loaded: ``-p NAME`` with autoload off looks NAME up among the entry points of
    #: every installed package, a cost (~4 ms here) a normal run pays once, not per plugin.
    plugins: tuple[str, ...] = ()
    #: put first on the child's PYTHONPATH: a patched copy of the plugin to compare.
    pythonpath: str | None = None


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_kib: int
    returncode: int
    counts: dict[str, int]
    tail: str


@dataclass
class Series:
    config: Config
    samples: list[Sample] = field(default_factory=list)

    @property
    def walls(self) -> list[float]:
        return [s.wall for s in self.samples]

    @property
    def cpus(self) -> list[float]:
        return [s.cpu for s in self.samples]

    @property
    def rss_mib(self) -> list[float]:
        return [s.rss_kib / 1024 for s in self.samples]

    @property
    def ok(self) -> bool:
        return all(s.returncode == 0 for s in self.samples)


def child_env(plugins: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_CORE"))}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(plugins), os.environ.get("PYTHONPATH", "")) if p
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_pytest(
    cwd: Path,
    args: tuple[str, ...],
    env: dict[str, str],
    log: Path,
    pythonpath: str | None = None,
    plugins: tuple[str, ...] = (),
) -> Sample:
    """One timed ``python -m pytest`` in ``cwd``; its output goes to ``log``."""
    if pythonpath:
        env = {**env, "PYTHONPATH": os.pathsep.join((pythonpath, env.get("PYTHONPATH", "")))}
    if plugins:
        env = {**env, "PYTEST_PLUGINS": ",".join(plugins)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: keep Popen quiet
    text = log.read_text(errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    last = lines[-1] if lines else ""
    counts = {kind: int(n) for n, kind in _SUMMARY.findall(last)}
    return Sample(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_kib=usage.ru_maxrss,
        returncode=proc.returncode,
        counts=counts,
        tail="\n".join(lines[-15:]),
    )


def interleaved(
    configs: list[Config],
    cwd: Path,
    env: dict[str, str],
    rounds: int,
    logs: Path,
    warmup: bool = True,
    progress: bool = True,
) -> dict[str, Series]:
    """A B C ..., B C ... A, C ... A B, ...: ``rounds`` rounds after one untimed
    warm-up of each; each round starts one configuration later, so none always
    runs first (or right after the same neighbour)."""
    series = {c.key: Series(c) for c in configs}
    logs.mkdir(parents=True, exist_ok=True)
    if warmup:  # bytecode and assertion-rewrite caches, page cache: same for all
        for c in configs:
            run_pytest(cwd, c.args, env, logs / f"{c.key}-warmup.log", c.pythonpath, c.plugins)
    for r in range(rounds):
        shift = r % len(configs)
        for c in configs[shift:] + configs[:shift]:
            log = logs / f"{c.key}-{r}.log"
            sample = run_pytest(cwd, c.args, env, log, c.pythonpath, c.plugins)
            series[c.key].samples.append(sample)
            if progress:
                print(
                    f"  round {r + 1}/{rounds} {c.key:<10} {sample.wall:7.2f} s wall "
                    f"{sample.cpu:7.2f} s cpu {sample.rss_kib / 1024:6.1f} MiB "
                    f"rc={sample.returncode} {sample.counts}",
                    file=sys.stderr,
                    flush=True,
                )
    return series


def paired_ratios(base: Series, other: Series, attr: str = "wall") -> list[float]:
    """other/base for each round: both ran seconds apart, under the same machine load."""
    return [
        getattr(o, attr) / getattr(b, attr)
        for b, o in zip(base.samples, other.samples, strict=False)
        if getattr(b, attr) > 0
    ]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    if not values:
        return "n/a"
    return f"{fmt.format(median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"
