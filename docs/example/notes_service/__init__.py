"""notes_service: a small note-taking backend for an AI agent.

It stores notes on disk, caches embeddings in SQLite, calls a (fake) embedding
SDK through a circuit breaker, and builds a search index. Several parts of it
block the event loop on purpose: this is the demo project of pytest-asyncguard.
Each problem is marked with a ``# PROBLEM:`` comment and has a correct twin
marked ``# OK:``.
"""

from notes_service.service import NotesService

__all__ = ["NotesService"]
