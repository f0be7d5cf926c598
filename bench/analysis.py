"""Time the async-without-await analyser on a generated source tree.

``pytest_asyncguard.awaitless.analyse_paths`` is imported only when this runs;
when it is missing (or raises) the section is skipped with the reason.
"""

from __future__ import annotations

import time
from pathlib import Path

from suite import analysis_tree


def run(root: Path, lines: int, repeats: int = 3) -> dict[str, object]:
    pkg, total = analysis_tree(root, lines)
    out: dict[str, object] = {"lines": total, "files": len(list(pkg.rglob("*.py")))}
    try:
        from pytest_asyncguard.awaitless import analyse_paths
    except Exception as exc:
        out["skipped"] = f"pytest_asyncguard.awaitless.analyse_paths not importable: {exc!r}"
        return out
    times = []
    result = None
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            result = analyse_paths([pkg], root=root)
            times.append(time.perf_counter() - start)
    except Exception as exc:
        out["skipped"] = f"analyse_paths raised {exc!r}"
        return out
    functions = list(getattr(result, "functions", []) or [])
    out.update(
        first=times[0],
        best=min(times),
        times=times,
        functions=len(functions),
        flagged=sum(1 for f in functions if getattr(f, "flagged", False)),
        per_100k=min(times) * 100_000 / max(total, 1),
    )
    return out
