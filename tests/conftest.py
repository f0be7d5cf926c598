"""Shared helpers for asyncguard's own tests: inner pytest runs through pytester."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator

import pytest

INI = """
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
"""


@pytest.fixture
def ag(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester project with pytest-asyncio in strict mode and an anyio backend fixture."""
    pytester.makeini(INI)
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def anyio_backend():
            return "asyncio"
        """
    )
    return pytester


@pytest.fixture(autouse=True)
def _collect_leftovers() -> Iterator[None]:
    """Event loops and sockets an in-process run left for the garbage collector
    (older pytest-asyncio releases do) are collected here, quietly, instead of in
    whichever later inner run the collector happens to run."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
