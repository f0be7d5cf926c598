"""A minimal circuit breaker around synchronous calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class CircuitOpen(Exception):
    pass


class CircuitBreaker:
    """Stop calling a failing dependency for ``reset_after`` seconds."""

    def __init__(self, max_failures: int = 3, reset_after: float = 30.0) -> None:
        self.max_failures = max_failures
        self.reset_after = reset_after
        self.failures = 0
        self.opened_at: float | None = None

    def call(self, fn: Callable[..., T], *args: object) -> T:
        if self.opened_at is not None:
            if time.monotonic() - self.opened_at < self.reset_after:
                raise CircuitOpen(fn.__qualname__)
            self.opened_at = None
        try:
            result = fn(*args)
        except Exception:
            self.failures += 1
            if self.failures >= self.max_failures:
                self.opened_at = time.monotonic()
            raise
        self.failures = 0
        return result
