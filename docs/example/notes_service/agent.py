"""The agent side: remembering notes and telling subscribers about them."""

from __future__ import annotations

import asyncio


class Notifier:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.audit_log: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def _audit(self, note_id: str) -> None:
        await asyncio.sleep(5)  # a slow audit sink
        self.audit_log.append(note_id)

    async def _push(self, note_id: str) -> None:
        await asyncio.sleep(0)
        if not note_id.isidentifier():
            raise ValueError(f"cannot push note {note_id!r}: bad id")
        self.sent.append(note_id)

    async def remember(self, note_id: str) -> None:
        """PROBLEM: fire-and-forget. The audit task outlives the call (a leaked
        task), and the push task's exception is never retrieved."""
        asyncio.create_task(self._audit(note_id))  # noqa: RUF006 - the demo's problem
        asyncio.create_task(self._push(note_id))  # noqa: RUF006
        await asyncio.sleep(0.01)

    def on_saved(self, note_id: str) -> None:
        """PROBLEM: a sync callback calls a coroutine function and forgets to await
        (it cannot): the push never happens."""
        self._push(note_id)  # PROBLEM: coroutine never awaited

    def on_saved_scheduled(self, note_id: str) -> None:
        """OK: schedule the push and keep the task."""
        task = asyncio.get_running_loop().create_task(self._push(note_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def remember_owned(self, note_id: str) -> None:
        """OK: the push is awaited (its error reaches the caller) and the audit
        task is kept, so shutdown() can wait for it."""
        task = asyncio.create_task(self._audit(note_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await self._push(note_id)

    async def shutdown(self) -> None:
        """OK: cancel what is still running and wait until it has stopped."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
