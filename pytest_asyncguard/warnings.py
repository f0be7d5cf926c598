"""The warning class every asyncguard warning uses, so users can filter them."""

from __future__ import annotations

import pytest


class AsyncGuardWarning(pytest.PytestWarning):
    """A violation reported in ``warn`` mode, or a problem with asyncguard's settings."""

    __module__ = "pytest_asyncguard"
