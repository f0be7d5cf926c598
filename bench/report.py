"""The benchmark's one Markdown report: machine, versions, tables, targets.

Only the standard library is imported here.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from timing import Series, median, paired_ratios, spread

PACKAGES = (
    "pytest",
    "pluggy",
    "pytest-asyncio",
    "pytest-asyncguard",
    "blockbuster",
    "pyleak",
    "coverage",
)
REPO = Path(__file__).resolve().parent.parent

# target: (section, what, limit)
DEFAULTS_LIMIT = 1.05
SYNC_LIMIT = 1.02
FULL_LIMIT = 1.10
ADDED_NS_LIMIT = 150.0
RSS_LIMIT_MIB = 20.0
ANALYSIS_LIMIT_S = 2.0


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "pytest_asyncguard"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + (" + uncommitted plugin changes" if dirty else "")


def machine() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "platform": platform.platform(),
        "versions": versions,
        "commit": _git(),
        "load_before": loadavg(),
    }


def _suite_table(series: dict[str, Series], title: str) -> list[str]:
    base = series["plain"]
    lines = [
        f"### {title}",
        "",
        "| config | wall s, median (min-max) | wall ratio vs plain | CPU s (user+sys) | "
        "CPU ratio | peak RSS MiB | RSS vs plain | tests |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, s in series.items():
        wall_r = paired_ratios(base, s) if key != "plain" else []
        cpu_r = paired_ratios(base, s, "cpu") if key != "plain" else []
        rss = median(s.rss_mib)
        counts = s.samples[-1].counts if s.samples else {}
        outcome = ", ".join(f"{n} {k}" for k, n in counts.items()) or "?"
        bad = [x for x in s.samples if x.returncode != 0]
        if bad:
            outcome = f"{outcome}; **{len(bad)}/{len(s.samples)} runs had failures**"
        lines.append(
            f"| {s.config.label} | {spread(s.walls)} | "
            f"{spread(wall_r, '{:.3f}x') if wall_r else '1'} | {spread(s.cpus)} | "
            f"{spread(cpu_r, '{:.3f}x') if cpu_r else '1'} | {rss:.1f} | "
            f"{'' if key == 'plain' else f'{rss - median(base.rss_mib):+.1f}'} | {outcome} |"
        )
    return [*lines, ""]


def _micro_table(m: dict[str, Any]) -> list[str]:
    variants = m["variants"][1:]
    head = "| call | where | no patch ns | " + " | ".join(f"{v} ns | {v} added" for v in variants)
    lines = [
        f"### Patched call, ns per call ({m['rounds']} interleaved rounds of {m['n']}+ calls; "
        "added = median of the per-round differences)",
        "",
        head + " |",
        "|---|---|---|" + "---|---|" * len(variants),
    ]
    for row in m["rows"]:
        cells = [row["call"], row["where"], f"{row['base_ns']:.0f}"]
        for v in variants:
            cells += [f"{row[v]:.0f}", f"{row[f'{v} added']:+.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [f"- {n}" for n in m["notes"]]
    return [*lines, ""]


def _analysis_lines(a: dict[str, Any]) -> list[str]:
    lines = ["### Static analyser (async-without-await)", ""]
    if "skipped" in a:
        return [*lines, f"Skipped: {a['skipped']}", ""]
    lines.append(
        f"{a['lines']:,} lines in {a['files']} files, {a['functions']:,} async functions "
        f"({a['flagged']:,} flagged): first run {a['first']:.2f} s, best of "
        f"{len(a['times'])} {a['best']:.2f} s, so {a['per_100k']:.2f} s per 100,000 lines."
    )
    return [*lines, ""]


def _rss_table(rss: dict[str, dict[str, Series]]) -> list[str]:
    lines = [
        "### Peak RSS by suite size (one run each)",
        "",
        "| tests | config | wall s | peak RSS MiB | RSS vs plain MiB |",
        "|---|---|---|---|---|",
    ]
    for total, series in rss.items():
        base = median(series["plain"].rss_mib)
        for key, s in series.items():
            r = median(s.rss_mib)
            lines.append(
                f"| {int(total):,} | {s.config.label} | {median(s.walls):.1f} | {r:.1f} | "
                f"{'' if key == 'plain' else f'{r - base:+.1f}'} |"
            )
    return [*lines, ""]


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**pass**" if ok else "**MISS**")


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    out: list[tuple[str, str, bool | None]] = []
    checks = [
        (
            "suite",
            "ag-default",
            f"defaults ≤ {DEFAULTS_LIMIT}x plain wall (synthetic suite)",
            DEFAULTS_LIMIT,
        ),
        (
            "suite",
            "ag-candidate",
            f"candidate ≤ {DEFAULTS_LIMIT}x plain wall (synthetic suite)",
            DEFAULTS_LIMIT,
        ),
        ("suite", "ag-full", f"every check ≤ {FULL_LIMIT}x plain wall", FULL_LIMIT),
        (
            "sync",
            "ag-default",
            f"defaults ≤ {SYNC_LIMIT}x plain wall (sync-only suite)",
            SYNC_LIMIT,
        ),
        (
            "sync",
            "ag-candidate",
            f"candidate ≤ {SYNC_LIMIT}x plain wall (sync-only suite)",
            SYNC_LIMIT,
        ),
    ]
    for section, key, label, limit in checks:
        s = results.get(section) or {}
        if "plain" in s and key in s:
            r = median(paired_ratios(s["plain"], s[key]))
            out.append((label, f"{r:.3f}x", r <= limit))
    for section, what in (("suite", "synthetic suite"), ("sync", "sync-only suite")):
        s = results.get(section) or {}
        if "plain" in s and "plain-again" in s:
            ratios = paired_ratios(s["plain"], s["plain-again"])
            out.append(
                (
                    f"noise control: plain again / plain, {what} (no target: 1 when quiet)",
                    spread(ratios, "{:.3f}x"),
                    None,
                )
            )
    m = results.get("micro")
    if m and "asyncguard Guard" in m["variants"]:
        for row in m["rows"]:
            if row["where"] == "outside a loop":
                added = row["asyncguard Guard added"]
                out.append(
                    (
                        f"{row['call']} outside a loop: ≤ {ADDED_NS_LIMIT:.0f} ns added",
                        f"{added:+.0f} ns",
                        added <= ADDED_NS_LIMIT,
                    )
                )
    a = results.get("analysis")
    if a:
        if "skipped" in a:
            out.append((f"analysis < {ANALYSIS_LIMIT_S} s per 100k lines", "skipped", None))
        else:
            out.append(
                (
                    f"analysis < {ANALYSIS_LIMIT_S} s per 100k lines",
                    f"{a['per_100k']:.2f} s",
                    a["per_100k"] < ANALYSIS_LIMIT_S,
                )
            )
    rss = results.get("rss")
    if rss:
        sizes = sorted(rss, key=int)
        big, small = rss[sizes[-1]], rss[sizes[0]]
        for key in [
            k for k in ("ag-default", "ag-candidate", "ag-full") if k in big and k in small
        ]:
            over = median(big[key].rss_mib) - median(big["plain"].rss_mib)
            growth = over - (median(small[key].rss_mib) - median(small["plain"].rss_mib))
            out.append(
                (
                    f"{key}: RSS ≤ {RSS_LIMIT_MIB:.0f} MiB over plain at {int(sizes[-1]):,} tests",
                    f"{over:+.1f} MiB (growth {sizes[0]}→{sizes[-1]}: {growth:+.1f} MiB)",
                    over <= RSS_LIMIT_MIB,
                )
            )
    else:
        out.append(
            (f"RSS ≤ {RSS_LIMIT_MIB:.0f} MiB over plain at 10,000 tests", "not run (--rss)", None)
        )
    return out


def markdown(results: dict[str, Any], args: Any) -> str:
    m = results["machine"]
    v = m["versions"]
    lines = [
        "## asyncguard benchmark",
        "",
        f"- machine: {m['cpu']}, {m['cores']} cores; {m['platform']}",
        f"- load average (1/5/15 min) before: {m['load_before']}, "
        f"after: {m.get('load_after', '?')}",
        f"- {m['python']}; " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- asyncguard commit: {m['commit']}",
        f"- suite: {args.async_tests} async + {args.sync_tests} sync tests, {args.rounds} "
        f"interleaved rounds after one warm-up; ratios are per round, then the median",
        f"- total benchmark time: {results.get('seconds', 0):.0f} s",
        "",
    ]
    if results.get("suite"):
        lines += _suite_table(results["suite"], "Synthetic suite (async + sync)")
    if results.get("sync"):
        lines += _suite_table(results["sync"], "Sync-only suite")
    if results.get("micro"):
        lines += _micro_table(results["micro"])
    if results.get("analysis"):
        lines += _analysis_lines(results["analysis"])
    if results.get("rss"):
        lines += _rss_table(results["rss"])
    lines += ["### Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {t} | {meas} | {_verdict(ok)} |" for t, meas, ok in targets(results)]
    if results["notes"]:
        lines += ["", "Notes:", *[f"- {n}" for n in results["notes"]]]
    return "\n".join(lines) + "\n"


def failures(results: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(errors, failed tests): a run that errored (usage error, crash) means nothing;
    a clean suite with failing tests means a false positive to look at."""
    errors, failed = [], []
    groups = [(s, results.get(s) or {}) for s in ("suite", "sync")]
    groups += [(f"rss{n}", series) for n, series in (results.get("rss") or {}).items()]
    for section, series in groups:
        for key, s in series.items():
            for r, sample in enumerate(s.samples):
                where = f"{section}/{key} round {r + 1}"
                if sample.returncode not in (0, 1):
                    errors.append(f"{where}: exit {sample.returncode}; last lines:\n{sample.tail}")
                elif sample.returncode == 1:
                    failed.append(f"{where}: {sample.counts}; last lines:\n{sample.tail}")
    return errors, failed


def raw(results: dict[str, Any]) -> dict[str, Any]:
    def conv(x: Any) -> Any:
        if isinstance(x, Series):
            return {"config": asdict(x.config), "samples": [asdict(s) for s in x.samples]}
        if isinstance(x, dict):
            return {k: conv(val) for k, val in x.items()}
        return x

    return conv(results)
