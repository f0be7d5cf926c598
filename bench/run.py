"""Benchmark asyncguard against plain pytest, blockbuster and pyleak (issue 7).

    python bench/run.py [--async-tests N] [--sync-tests N] [--rounds R] [--quick]
                        [--rss] [--out FILE.md] [--json FILE.json] [--keep]

Generates a clean synthetic suite, runs every configuration as a child
``python -m pytest`` interleaved round by round, then times a patched call in
process and the static analyser, and prints one Markdown report with the
targets marked pass or miss. See bench/README.md. Only the standard library and
pytest are needed to import this; the plugins under test load in the children.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import analysis
import micro
import report
import suite
from timing import Config, child_env, interleaved, run_pytest

# Every configuration loads pytest-asyncio with `-p asyncio` (one entry-point
# look-up, as a normal run makes); the plugin under test comes in as an
# installed plugin would, through PYTEST_PLUGINS (see Config.plugins).
PLAIN = Config("plain", "plain pytest + pytest-asyncio", ("-p", "asyncio"))
# The noise control: plain again, in every round. Its ratio to plain would be 1 on
# a quiet machine; how far it strays is how far this run's ratios can be trusted.
PLAIN_AGAIN = Config("plain-again", "plain pytest again (noise control)", PLAIN.args)
DEFAULTS = Config(
    "ag-default", "asyncguard, defaults", ("-p", "asyncio"), plugins=("pytest_asyncguard.plugin",)
)
BLOCKBUSTER = Config(
    "blockbuster",
    "blockbuster autouse fixture",
    ("-p", "asyncio"),
    plugins=("bench_blockbuster",),
)
PYLEAK = Config(
    "pyleak",
    "pyleak no_leaks(blocking) on async tests",
    ("-p", "asyncio"),
    plugins=("pyleak.pytest_plugin", "bench_pyleak"),
)


def full_config(out: Path) -> Config:
    return Config(
        "ag-full",
        "asyncguard, all checks + JSON + source report",
        ("-p", "asyncio", f"--asyncguard-json={out}", "--asyncguard-source=benchpkg"),
        plugins=DEFAULTS.plugins,
    )


def measured_config(out: Path) -> Config:
    """All checks with asyncguard's own coverage measurement forced on: before Python
    3.12 that is a trace function, which ``auto`` leaves off (the report is static)."""
    full = full_config(out)
    return Config(
        "ag-measured",
        "asyncguard, all checks + --asyncguard-measure=always",
        (*full.args, "--asyncguard-measure=always"),
        plugins=full.plugins,
    )


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--async-tests", type=int, default=1000)
    p.add_argument("--sync-tests", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (at least 5)")
    p.add_argument("--quick", action="store_true", help="CI smoke run: 50+50 tests, 2 rounds")
    p.add_argument("--rss", action="store_true", help="also peak RSS at 1,000 and 10,000 tests")
    p.add_argument("--rss-tests", type=int, default=10_000, help="size of the large RSS suite")
    p.add_argument("--analysis-lines", type=int, default=100_000)
    p.add_argument(
        "--skip", action="append", default=[], help="skip a section: suite, sync, micro, analysis"
    )
    p.add_argument("--out", type=Path, help="also write the Markdown report here")
    p.add_argument("--json", type=Path, help="write the raw numbers here")
    p.add_argument("--keep", action="store_true", help="keep the generated suites")
    p.add_argument("--configs", help="comma-separated config keys to run (default: all)")
    p.add_argument(
        "--compare-path",
        help="folder holding a patched copy of pytest_asyncguard: adds 'ag-candidate' "
        "(defaults, that copy) to the interleaved runs, for a before/after in one run",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.async_tests = min(args.async_tests, 50)
        args.sync_tests = min(args.sync_tests, 50)
        args.rounds = 2
        args.analysis_lines = 20_000
    return args


def _candidate(path: str | None) -> list[Config]:
    if not path:
        return []
    label = f"asyncguard, defaults, from {path}"
    return [Config("ag-candidate", label, DEFAULTS.args, DEFAULTS.plugins, pythonpath=path)]


def _suite_configs(tmp: Path, notes: list[str], compare: str | None) -> list[Config]:
    configs = [
        PLAIN,
        DEFAULTS,
        *_candidate(compare),
        full_config(tmp / "asyncguard-report.json"),
        PLAIN_AGAIN,
    ]
    if sys.version_info < (3, 12):  # from 3.12 on, ag-full measures already (sys.monitoring)
        configs.append(measured_config(tmp / "asyncguard-measured.json"))
    if _available("blockbuster"):
        configs.append(BLOCKBUSTER)
    else:
        notes.append(
            "blockbuster is not installed: its column is missing (pip install blockbuster)"
        )
    if _available("pyleak"):
        configs.append(PYLEAK)
    else:
        notes.append("pyleak is not installed: its column is missing (pip install pyleak)")
    return configs


def _check_json(path: Path, notes: list[str]) -> None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        notes.append(f"ag-full: no readable JSON report at the end ({exc.__class__.__name__})")
        return
    funcs = (data.get("async_functions") or {}).get("functions") or []
    notes.append(
        f"ag-full wrote its JSON report: {len(data.get('tests', []))} tests, "
        f"{len(funcs)} async functions analysed"
    )


def _rss(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> dict[str, object]:
    """Peak RSS of plain, defaults and all checks at 1,000 and ``--rss-tests`` tests."""
    out: dict[str, object] = {}
    for total in (1000, args.rss_tests):
        root = tmp / f"rss{total}"
        dirs = suite.generate(root, total // 2, total - total // 2)
        configs = [PLAIN, DEFAULTS, full_config(root / "report.json")]
        run_pytest(dirs["full"], ("--collect-only", "-p", "asyncio"), env, root / "collect.log")
        configs += _candidate(args.compare_path)
        print(f"rss mode: {total} tests", file=sys.stderr, flush=True)
        series = interleaved(configs, dirs["full"], env, 1, root / "logs", warmup=False)
        out[str(total)] = series
    return out


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    started = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="asyncguard-bench-"))
    notes: list[str] = []
    results: dict[str, object] = {
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": report.machine(),
        "notes": notes,
    }
    try:
        dirs = suite.generate(tmp, args.async_tests, args.sync_tests)
        env = child_env(dirs["plugins"])
        if "suite" not in args.skip:
            configs = _suite_configs(tmp, notes, args.compare_path)
            if args.configs:
                wanted = {"plain", "plain-again", *args.configs.split(",")}
                configs = [c for c in configs if c.key in wanted]
            print(
                f"suite: {args.async_tests} async + {args.sync_tests} sync tests", file=sys.stderr
            )
            results["suite"] = interleaved(configs, dirs["full"], env, args.rounds, tmp / "logs")
            _check_json(tmp / "asyncguard-report.json", notes)
        if "sync" not in args.skip and args.sync_tests:
            print(f"sync-only suite: {args.sync_tests} tests", file=sys.stderr)
            results["sync"] = interleaved(
                [PLAIN, DEFAULTS, *_candidate(args.compare_path), PLAIN_AGAIN],
                dirs["synconly"],
                env,
                args.rounds,
                tmp / "logs-sync",
            )
        if "micro" not in args.skip:
            print("micro-benchmark of patched calls", file=sys.stderr, flush=True)
            n, rounds = (5_000, 5) if args.quick else (10_000, 40)
            results["micro"] = micro.run(n=n, rounds=rounds)
        if "analysis" not in args.skip:
            print(f"static analyser on {args.analysis_lines} lines", file=sys.stderr, flush=True)
            results["analysis"] = analysis.run(tmp / "src", args.analysis_lines)
        if args.rss:
            results["rss"] = _rss(args, tmp, env)
        results["machine"]["load_after"] = report.loadavg()  # type: ignore[index]
        results["seconds"] = time.time() - started
        if args.json:  # first: the raw samples survive a bug in the report below
            args.json.write_text(json.dumps(report.raw(results), indent=1, default=str))
        _, failed = report.failures(results)
        if failed:
            notes.append(
                f"{len(failed)} run(s) had failing tests although the suite is clean: "
                "see the tests column and the run's stderr"
            )
        text = report.markdown(results, args)
        print(text)
        if args.out:
            args.out.write_text(text)
        errors, failed = report.failures(results)
        for line in failed:
            print(
                f"WARNING: tests failed in a clean suite (false positive?) {line}", file=sys.stderr
            )
        for line in errors:
            print(f"ERROR: {line}", file=sys.stderr)
        return 1 if errors else 0
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
