"""Instruction counts of the benchmark's configurations, for a before/after that the
machine's load cannot blur.

Wall and CPU time on a shared VM swing by 10-20 % from run to run; the number of
instructions a run executes (valgrind's cachegrind, ``Ir``) does not, so a change
of 0.5 % is visible in one run. It is not time (cache misses and system calls
count for nothing, threads are serialised), which is why ``run.py`` measures time
and this script only compares::

    python bench/instructions.py                     # 200 async + 1,000 sync tests
    python bench/instructions.py --async-tests 0 --configs ag-default
    python bench/instructions.py --compare-path /tmp/patched   # adds ag-candidate
    python bench/instructions.py --targets   # 1,000 + 1,000 and 0 + 1,000: the
                                             # wall-time targets, judged by instructions

Needs ``valgrind`` on PATH; a run takes about a minute per configuration.
Only the standard library is imported here.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report
import suite
from run import DEFAULTS, PLAIN, full_config
from timing import Config, child_env, run_pytest

_IR = re.compile(r"I\s+refs:\s+([\d,]+)")


def count(config: Config, cwd: Path, env: dict[str, str]) -> int:
    """Instructions executed by one ``python -m pytest`` run of ``config``."""
    env = {**env, "PYTHONHASHSEED": "0"}  # same dict layouts, same counts
    if config.plugins:
        env["PYTEST_PLUGINS"] = ",".join(config.plugins)
    if config.pythonpath:
        env["PYTHONPATH"] = os.pathsep.join((config.pythonpath, env.get("PYTHONPATH", "")))
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
    cmd += [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *config.args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    found = _IR.search(proc.stderr)
    if proc.returncode != 0 or found is None:
        raise RuntimeError(f"{config.key}: exit {proc.returncode}\n{proc.stdout[-2000:]}")
    return int(found.group(1).replace(",", ""))


def _extra(config: Config) -> tuple[str | None, tuple[str, ...]]:
    return config.pythonpath, config.plugins


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--async-tests", type=int, default=200)
    p.add_argument("--sync-tests", type=int, default=1000)
    p.add_argument("--configs", default="ag-default,ag-full", help="besides plain")
    p.add_argument("--compare-path", help="a patched copy of pytest_asyncguard: ag-candidate")
    p.add_argument(
        "--targets",
        action="store_true",
        help="the issue's suite sizes (1,000 + 1,000, and a 1,000-test sync-only suite), "
        "all three suite configs, and the ratio targets judged by instruction count",
    )
    args = p.parse_args(argv)
    if args.targets:
        args.async_tests, args.sync_tests, args.configs = 1000, 1000, "ag-default,ag-full"
    if shutil.which("valgrind") is None:
        print("valgrind is not installed", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="asyncguard-instructions-"))
    try:
        dirs = suite.generate(tmp, args.async_tests, args.sync_tests)
        env = child_env(dirs["plugins"])
        known = {c.key: c for c in (DEFAULTS, full_config(tmp / "report.json"))}
        configs = [PLAIN, *(known[k] for k in args.configs.split(",") if k in known)]
        if args.compare_path:
            configs.append(
                Config(
                    "ag-candidate", "candidate", DEFAULTS.args, DEFAULTS.plugins, args.compare_path
                )
            )
        jobs = [(dirs["full"], c) for c in configs]
        if args.targets:
            jobs += [(dirs["synconly"], c) for c in (PLAIN, DEFAULTS)]
        for folder, config in jobs:  # one run first: bytecode and assertion-rewrite caches
            run_pytest(folder, config.args, env, tmp / "warmup.log", *_extra(config))
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # counts do not mind sharing
            counts = list(pool.map(lambda job: count(job[1], job[0], env), jobs))
        found = dict(zip(((folder.name, c.key) for folder, c in jobs), counts, strict=True))
        base = found[("full", "plain")]
        print(f"{args.async_tests} async + {args.sync_tests} sync tests, instructions (Ir)")
        for config in configs:
            n = found[("full", config.key)]
            print(f"  {config.key:<13} {n / 1e9:7.3f} G  {n / base:.4f}x  {config.label}")
        if args.targets:
            _print_targets(found)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _print_targets(found: dict[tuple[str, str], int]) -> None:
    """The issue's ratio targets, judged by instructions instead of wall time."""
    rows = [
        ("defaults, synthetic suite", "full", "ag-default", report.DEFAULTS_LIMIT),
        ("defaults, sync-only suite", "synconly", "ag-default", report.SYNC_LIMIT),
        ("every check, synthetic suite", "full", "ag-full", report.FULL_LIMIT),
    ]
    print("\n| target (by instructions) | measured | verdict |\n|---|---|---|")
    for label, folder, key, limit in rows:
        ratio = found[(folder, key)] / found[(folder, "plain")]
        verdict = "**pass**" if ratio <= limit else "**MISS**"
        print(f"| {label} ≤ {limit}x plain | {ratio:.4f}x | {verdict} |")


if __name__ == "__main__":
    sys.exit(main())
