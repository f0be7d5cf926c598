"""JUnit XML properties for each test: its requirement ids and its violations.

pytest's ``junitxml`` plugin writes a ``<properties>`` element into each
``<testcase>`` from the ``user_properties`` of the test's last (teardown)
report. The ``xunit1`` schema (``junit_family=xunit1`` or ``legacy``) allows
that element; the ``xunit2`` schema, pytest's default, does not, and pytest's
own ``record_property`` fixture warns there. So :func:`family_allows_properties`
decides: asyncguard adds properties for xunit1/legacy only, and under xunit2
keeps the XML valid (the JSON report carries the same data).

Property names:

- ``requirements``: the ids, comma separated (the name test-management tools
  such as Xray read).
- ``asyncguard.violation``: one per violation, ``kind name at where`` with
  ``[allowed]`` / ``[baselined]`` marks.

Nothing here imports pytest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pytest_asyncguard.results import TestRecord, Violation

FAMILIES_WITH_PROPERTIES = ("xunit1", "legacy")


def family_allows_properties(family: str | None) -> bool:
    return (family or "xunit2") in FAMILIES_WITH_PROPERTIES


def violation_value(violation: Violation) -> str:
    text = f"{violation.kind} {violation.name} at {violation.where}"
    if violation.phase != "call":
        text += f" ({violation.phase})"
    if violation.count > 1:
        text += f" x{violation.count}"
    if violation.allowed:
        text += " [allowed]"
    elif violation.baselined:
        text += " [baselined]"
    return text


def junit_properties(
    record_or_violations: TestRecord | Iterable[Violation | Mapping[str, Any]],
    requirements: Iterable[str] = (),
) -> list[tuple[str, str]]:
    """The ``(name, value)`` pairs for one test.

    Accepts a :class:`TestRecord` (its own requirements are used too) or the
    violations as objects or as the dicts the core puts on ``report.asyncguard``.
    """
    if isinstance(record_or_violations, TestRecord):
        violations: list[Violation] = list(record_or_violations.violations)
        requirements = [*record_or_violations.requirements, *requirements]
    else:
        violations = [
            v if isinstance(v, Violation) else Violation.from_dict(dict(v))
            for v in record_or_violations
        ]
    ids = list(dict.fromkeys(requirements))
    props: list[tuple[str, str]] = []
    if ids:
        props.append(("requirements", ",".join(ids)))
    props += [("asyncguard.violation", violation_value(v)) for v in violations]
    return props
