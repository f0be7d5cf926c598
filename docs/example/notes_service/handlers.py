"""Event handlers the agent framework calls. The framework requires them to be async."""

from __future__ import annotations

from typing import Protocol


class Handler(Protocol):
    """What the framework calls; a Protocol's async methods need no await."""

    async def handle(self, event: dict[str, str]) -> str | None: ...


class PingHandler:
    """Answers at once: nothing to await, but the framework awaits handle()."""

    async def handle(self, event: dict[str, str]) -> str | None:  # asyncguard: allow-no-await
        return "pong" if event.get("type") == "ping" else None


class TagHandler:
    """Accepted by the asyncguard_allow_no_await ini key instead of a comment."""

    async def handle(self, event: dict[str, str]) -> str | None:
        tags = event.get("tags", "")
        return ",".join(sorted(t.strip() for t in tags.split(",") if t.strip())) or None


async def normalise_title(title: str) -> str:
    """PROBLEM (async-without-await): async for no reason; callers pay a task step."""
    return " ".join(title.split()).capitalize()


async def service_version() -> str:
    """PROBLEM (async-without-await): nothing to await here either."""
    return "1.0"
