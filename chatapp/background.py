"""Work started without waiting for it, kept track of: failures logged, drained at shutdown.

A task needs a reference until it is done (asyncio keeps only a weak one), a failure
nobody awaits must still reach the log, and a clean shutdown (or a test) must be able
to wait for what was started. Used for deliveries: a change must not be awaited by the
handler of a tab it is for, since that handler holds the tab's lock until it returns.

Work started here holds none of the locks of the code that started it, and says so:
`under_lock()` is False in it (see `holding_lock`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Iterator

# True in code that a holder of a tab's lock awaits (an event handler, whose lock Reflex
# holds until it returns): what it awaits must not wait behind others for a turn that
# could depend on that lock (`reflex_adapter.tabs.bound`).
_under_lock: contextvars.ContextVar[bool] = contextvars.ContextVar("chatapp_under_lock", default=False)


def under_lock() -> bool:
    """Whether the running code is awaited by a holder of a tab's lock."""
    return _under_lock.get()


@contextlib.contextmanager
def holding_lock() -> Iterator[None]:
    """Mark the code run inside as awaited by a holder of a tab's lock (`under_lock`)."""
    marked = _under_lock.set(True)
    try:
        yield
    finally:
        _under_lock.reset(marked)


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
        """Run `work` on the running loop without waiting for it (and so not holding its
        starter's locks: `under_lock()` is False in it)."""
        if asyncio.iscoroutine(work):
            context = contextvars.copy_context()
            context.run(_under_lock.set, False)
            task = asyncio.get_running_loop().create_task(work, context=context)
        else:
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


class Deadlines:
    """At most one timer per key in this process: `at(key, when, work)` runs `work()` (a
    coroutine function) at `when`, replacing the key's earlier timer.

    For ends kept by the server (a custom status, a login): a sleeping timer costs a
    handle, not a task or a tab's event, and a later `at` for the same key moves it.

    Args:
        clock: The current time (the same kind as `when`: aware datetimes).
        start: Runs the coroutine the timer makes (e.g. `Push.soon`).
    """

    def __init__(self, clock, start) -> None:
        self._clock = clock
        self._start = start
        self._timers: dict[object, tuple[object, asyncio.TimerHandle]] = {}

    def at(self, key: object, when, work) -> None:
        """Run `work()` at `when` (None: only cancel the key's timer). A timer for the
        same key and moment is kept as it is."""
        held = self._timers.get(key)
        if held is not None and held[0] == when and not held[1].cancelled():
            return
        self.cancel(key)
        if when is None:
            return
        delay = max(0.0, (when - self._clock()).total_seconds())

        def due() -> None:
            if self._timers.get(key, (None, None))[1] is handle:
                del self._timers[key]
            self._start(work())

        handle = asyncio.get_running_loop().call_later(delay, due)
        self._timers[key] = (when, handle)

    def cancel(self, key: object) -> None:
        """Stop the key's timer, if any."""
        held = self._timers.pop(key, None)
        if held is not None:
            held[1].cancel()

    def when(self, key: object):
        """When the key's timer runs (None: no timer)."""
        held = self._timers.get(key)
        return held[0] if held is not None else None

    def close(self) -> None:
        """Stop every timer."""
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
