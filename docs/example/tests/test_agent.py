"""7.4: background tasks are owned and their errors surfaced."""

import asyncio

import pytest

pytestmark = pytest.mark.requirement("7.4")


async def test_remember(notifier):
    await notifier.remember("note-1")
    assert notifier.sent == []  # the push failed, and nobody noticed


async def test_on_saved_callback(notifier):
    notifier.on_saved("n1")
    await asyncio.sleep(0.01)
    assert notifier.sent == []  # the push never ran


async def test_remember_owned(notifier):
    await notifier.remember_owned("n1")
    assert notifier.sent == ["n1"]


async def test_on_saved_scheduled(notifier):
    notifier.on_saved_scheduled("n1")
    await asyncio.sleep(0.01)
    assert notifier.sent == ["n1"]
