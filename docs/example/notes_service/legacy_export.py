"""The old CSV exporter. It does blocking file I/O and is scheduled for a rewrite;
until then the project's pytest.ini allows it with ``asyncguard_allow_in``."""

from __future__ import annotations

import csv
import os


async def export_csv(path: str, notes: dict[str, str]) -> int:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "body"])
        writer.writerows(sorted(notes.items()))
    return len(notes)
