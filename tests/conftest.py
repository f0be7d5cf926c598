"""Shared helpers for asyncguard's own tests: inner pytest runs through pytester."""

from __future__ import annotations

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
