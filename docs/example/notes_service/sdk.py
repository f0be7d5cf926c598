"""A stand-in for a vendor's synchronous embedding SDK.

Real SDKs of this kind resolve the API host, open a socket and wait for the
reply. This one stays on the machine: it resolves ``localhost`` and sleeps for
the "network round trip", so the demo needs no network.
"""

from __future__ import annotations

import hashlib
import socket
import time

ROUND_TRIP = 0.02  # seconds of pretend network latency


class SdkError(Exception):
    """The vendor's error type."""


class EmbeddingClient:
    def __init__(self, host: str = "localhost", port: int = 443) -> None:
        self.host = host
        self.port = port
        self.calls = 0

    def embed(self, text: str) -> list[float]:
        """Return a tiny embedding of ``text`` (synchronous, like the real SDK)."""
        self.calls += 1
        socket.getaddrinfo(self.host, self.port)  # DNS look-up: blocks
        time.sleep(ROUND_TRIP)  # the round trip: blocks
        digest = hashlib.sha256(text.encode()).digest()
        return [b / 255 for b in digest[:8]]
