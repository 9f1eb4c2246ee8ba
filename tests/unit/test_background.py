"""Work started in the background holds none of its starter's locks, and says so
(`chatapp.background.under_lock`): a delivery a handler starts without awaiting it may
wait its turn at the long way's gate; one the handler awaits may not."""

from __future__ import annotations

import asyncio
import logging

from chatapp.background import Background, holding_lock, under_lock
from tests.support import run_async


def test_work_started_in_the_background_is_not_under_its_starters_lock():
    async def scenario() -> tuple[bool, bool, bool, bool]:
        async def where() -> bool:
            return under_lock()

        later = Background("a test's work", logging.getLogger(__name__))
        with holding_lock():
            awaited = await where()
            started = later.start(where())
            in_task = asyncio.create_task(where())  # a plain task shares its starter's lock
            await later.drain()
        return awaited, started.result(), await in_task, under_lock()

    awaited, started, in_task, after = run_async(scenario())
    assert awaited is True
    assert in_task is True
    assert started is False
    assert after is False
