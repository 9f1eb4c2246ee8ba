"""Work started without waiting for it, kept track of: failures logged, drained at shutdown.

A task needs a reference until it is done (asyncio keeps only a weak one), a failure
nobody awaits must still reach the log, and a clean shutdown (or a test) must be able
to wait for what was started. Used for deliveries: a change must not be awaited by the
handler of a tab it is for, since that handler holds the tab's lock until it returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable


class Background:
    """A set of tasks started and not awaited.

    Args:
        what: What failed, for the log ("a presence delivery").
        logger: Where failures go.
    """

    def __init__(self, what: str, logger: logging.Logger) -> None:
        self._what = what
        self._logger = logger
        self._tasks: set[asyncio.Task] = set()

    def start(self, work: Awaitable[object]) -> asyncio.Task:
        """Run `work` on the running loop without waiting for it."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            self._logger.error("%s failed", self._what, exc_info=error)

    async def drain(self) -> None:
        """Wait until everything started so far (and whatever that started) has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
