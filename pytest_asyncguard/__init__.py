"""pytest-asyncguard: fail tests that block the asyncio event loop."""

from __future__ import annotations

__version__ = "0.1.0"

from pytest_asyncguard.warnings import AsyncGuardWarning

__all__ = ["AsyncGuardWarning", "__version__"]
