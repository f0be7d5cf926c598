"""A fixed example run for the reporters' unit and golden-file tests."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_asyncguard.baseline import Entry
from pytest_asyncguard.report import ReportData
from pytest_asyncguard.requirements import build_rows, parse_declarations
from pytest_asyncguard.results import RunResults, TestRecord, Violation

DECLARATIONS = [
    "7.2: Orders are saved without blocking",
    "7.10: Refunds | chargebacks never stall the loop",
    "REQ-2: Background tasks are awaited",
    "REQ-10",
]


def sleep_call(**kw: Any) -> Violation:
    base: dict[str, Any] = {
        "kind": "blocking-call",
        "name": "time.sleep",
        "where": "src/shop/orders.py:42",
        "message": "asyncguard: blocking call to time.sleep() at src/shop/orders.py:42 "
        "(use await asyncio.sleep())",
        "fix": "use await asyncio.sleep()",
        "function": "save_order",
    }
    base.update(kw)
    return Violation(**base)


def example_results() -> RunResults:
    """Three tests: one clean, one with a failing and an allowed violation, one
    with a baselined stall and a leaked task, plus a skipped one."""
    results = RunResults()
    results.tests["tests/test_orders.py::test_save"] = TestRecord(
        "tests/test_orders.py::test_save",
        outcome="failed",
        requirements=["7.2"],
        violations=[
            sleep_call(count=3),
            sleep_call(
                name="os.stat",
                where="src/shop/files.py:7",
                message="asyncguard: blocking call to os.stat() at src/shop/files.py:7",
                fix="use await asyncio.to_thread(os.stat, ...)",
                function="exists",
                allowed=True,
                allowed_by="asyncguard_allow: os.stat",
            ),
        ],
        location="tests/test_orders.py:10",
    )
    results.tests["tests/test_refunds.py::test_refund[card]"] = TestRecord(
        "tests/test_refunds.py::test_refund[card]",
        outcome="passed",
        requirements=["7.10", "REQ-2"],
        violations=[
            Violation(
                kind="loop-stall",
                name="shop.refunds.compute_fee",
                where="src/shop/refunds.py:88",
                duration=0.25,
                baselined=True,
                message="asyncguard: loop stall of 0.250 s in shop.refunds.compute_fee() "
                "at src/shop/refunds.py:88",
                function="compute_fee",
            ),
            Violation(
                kind="leaked-task",
                name="Task-7 (shop.refunds.notify)",
                where="tests/test_refunds.py:21",
                phase="teardown",
                message="asyncguard: leaked task Task-7 still pending at tests/test_refunds.py:21",
                function="test_refund",
            ),
        ],
        location="tests/test_refunds.py:15",
    )
    results.tests["tests/test_refunds.py::test_chargeback"] = TestRecord(
        "tests/test_refunds.py::test_chargeback",
        outcome="passed",
        requirements=["7.10", "UNDECLARED-1"],
        location="tests/test_refunds.py:30",
    )
    results.tests["tests/test_tasks.py::test_slow"] = TestRecord(
        "tests/test_tasks.py::test_slow",
        outcome="skipped",
        requirements=["REQ-10"],
        location="tests/test_tasks.py:5",
    )
    results.known_patterns = {"asyncguard_allow: os.stat", "asyncguard_allow: sqlite3.*"}
    results.used_patterns = {"asyncguard_allow: os.stat"}
    return results


ASYNC_FUNCTIONS: dict[str, Any] = {
    "functions": [
        {
            "qualname": "shop.orders.save_order",
            "path": "src/shop/orders.py",
            "line": 40,
            "has_await": True,
            "allowed": None,
            "executed": True,
            "await_executed": True,
        },
        {
            "qualname": "shop.refunds.compute_fee",
            "path": "src/shop/refunds.py",
            "line": 80,
            "has_await": False,
            "allowed": None,
            "executed": True,
            "await_executed": None,
        },
        {
            "qualname": "shop.api.Handler.on_close",
            "path": "src/shop/api.py",
            "line": 12,
            "has_await": False,
            "allowed": "protocol",
            "executed": None,
            "await_executed": None,
        },
    ],
    "score": 66.67,
}


def example_data() -> ReportData:
    results = example_results()
    return ReportData(
        results=results,
        rows=build_rows(results, parse_declarations(DECLARATIONS)),
        settings={"mode": "strict", "stall_threshold": 0.1, "baseline": "asyncguard-baseline.json"},
        version="0.0.0-test",
        async_functions=ASYNC_FUNCTIONS,
        fixed=[
            Entry(
                kind="blocking-call",
                name="open",
                path="src/shop/refunds.py",
                function="load_rates",
                test="tests/test_refunds.py::test_refund[card]",
            )
        ],
        unused_patterns=results.unused_patterns,
    )


@pytest.fixture
def data() -> ReportData:
    return example_data()
