"""The three markers: registration, and one parser each that rejects bad arguments."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_asyncguard.policy import TestPolicy
from pytest_asyncguard.settings import parse_seconds

MARKERS = (
    "allow_blocking(*patterns, reason=None): allow blocking calls whose names match the "
    "fnmatch patterns in this test and its fixtures; with no pattern, allow every blocking "
    "call and loop stall. The violations are still reported, as allowed.",
    "stall_threshold(seconds): this test's loop-stall threshold, in seconds.",
    "requirement(*ids): the requirements this test verifies, for asyncguard's "
    "per-requirement summary.",
)


def register(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)


def _where(item: pytest.Item, node: Any, mark: pytest.Mark) -> str:
    return f"@pytest.mark.{mark.name} on {(node or item).nodeid or item.nodeid}"


_NAMES = frozenset({"allow_blocking", "stall_threshold", "requirement"})


def parse(
    item: pytest.Item, memo: dict[int, list[tuple[Any, pytest.Mark]]]
) -> tuple[TestPolicy | None, list[str]]:
    """The test's policy (None without asyncguard markers) and requirement ids.

    This runs for every collected test: the markers of the item's parents
    (class, module, package) are looked at once per parent, kept in ``memo``
    for the collection. Closest first, as ``item.iter_markers_with_node()``.
    """
    ours = [(item, mark) for mark in item.own_markers if mark.name in _NAMES]
    if item.parent is not None:
        ours += _inherited(item.parent, memo)
    if not ours:
        return None, []
    policy = None
    if any(mark.name != "requirement" for _, mark in ours):
        policy = _policy(item, ours)
    return policy, _requirements(item, [mark for _, mark in ours])


def _inherited(node: Any, memo: dict[int, list[tuple[Any, pytest.Mark]]]) -> list[Any]:
    found = memo.get(id(node))
    if found is None:
        found = [(node, mark) for mark in node.own_markers if mark.name in _NAMES]
        if node.parent is not None:
            found += _inherited(node.parent, memo)
        memo[id(node)] = found
    return found


def _policy(item: pytest.Item, marks: list[tuple[Any, pytest.Mark]]) -> TestPolicy:
    """The ``allow_blocking`` and ``stall_threshold`` markers (``marks``: closest first)."""
    policy = TestPolicy()
    for node, mark in marks:
        if mark.name != "allow_blocking":
            continue
        where = _where(item, node, mark)
        unknown = set(mark.kwargs) - {"reason"}
        if unknown:
            raise pytest.UsageError(
                f"asyncguard: {where} got unknown keyword(s) {', '.join(sorted(unknown))}; "
                "valid: allow_blocking(*patterns, reason=None)"
            )
        bad = [p for p in mark.args if not isinstance(p, str) or not p]
        if bad:
            raise pytest.UsageError(
                f"asyncguard: {where} takes name patterns as non-empty strings "
                f"(like 'time.sleep' or 'sqlite3.*'), got {bad[0]!r}"
            )
        reason = mark.kwargs.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise pytest.UsageError(f"asyncguard: {where} reason= must be a string")
        policy.reason = policy.reason or reason
        if not mark.args:
            policy.allow_all = policy.allow_all or f"{where} (all)"
        for pattern in mark.args:
            policy.patterns.append((pattern, f"{where}: {pattern!r}"))
    closest = next((mark for _, mark in marks if mark.name == "stall_threshold"), None)
    if closest is not None:
        where = _where(item, None, closest)
        if closest.kwargs.keys() - {"seconds"} or len(closest.args) + len(closest.kwargs) != 1:
            raise pytest.UsageError(
                f"asyncguard: {where} takes exactly one argument: stall_threshold(seconds)"
            )
        value = closest.args[0] if closest.args else closest.kwargs["seconds"]
        policy.stall_threshold = parse_seconds(value, where)
    return policy


def _requirements(item: pytest.Item, marks: list[pytest.Mark]) -> list[str]:
    """The requirement ids of a test, closest marker first, without repeats."""
    ids: list[str] = []
    for mark in marks:
        if mark.name != "requirement":
            continue
        if mark.kwargs or not mark.args:
            raise pytest.UsageError(
                f"asyncguard: @pytest.mark.requirement on {item.nodeid} takes one or more "
                "requirement ids as strings: requirement('7.1', '7.2')"
            )
        for req in mark.args:
            if not isinstance(req, str) or not req.strip():
                raise pytest.UsageError(
                    f"asyncguard: @pytest.mark.requirement on {item.nodeid} got {req!r}; "
                    "requirement ids are non-empty strings"
                )
            if req.strip() not in ids:
                ids.append(req.strip())
    return ids


def labels(policy: TestPolicy) -> set[str]:
    """Labels of every allow_blocking pattern of a test, for the unused-pattern list."""
    found = {label for _, label in policy.patterns}
    if policy.allow_all:
        found.add(policy.allow_all)
    return found
