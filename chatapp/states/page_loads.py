"""Page loads, a few at a time: what keeps a reconnect storm from becoming a cliff.

Reflex runs every event as a task of its own, all at once. When every tab reconnects
together (a restart: thousands of page loads), each load's handlers (the login, the
presence snapshot, the conversation list: database work that holds the event loop) all
became ready together; the loop fell tens of seconds behind, the sockets' pongs waited
behind them, socket.io closed the sockets as lost after its 5 s timeout, and each
closed tab reconnected and loaded its page again: at 2,000 tabs the storm never ended
(docs/benchmarks.md). The on_load handlers of the signed-in pages (`page_load`) now take
a turn: at most `CHATAPP_PAGE_LOADS` at once in a process, the others waiting without
holding the loop, so that pongs, socket connects and deliveries keep flowing between
them. One page load alone is not slowed.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from chatapp.settings import settings
from chatapp.states.session import arguments_check

Handler = Callable[..., Awaitable[Any]]

# One gate per event loop (a test may run several servers, one after another).
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(max(1, settings.page_loads))
    return gate


def page_load(handler: Handler) -> Handler:
    """An on_load handler that waits for its turn among the page loads of this process.
    Put it under `@rx.event`. A call with arguments the handler does not take is refused
    (a browser can send any)."""
    fits = arguments_check(handler)

    @functools.wraps(handler)
    async def in_turn(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not fits(self, *args, **kwargs):
            return None
        async with _gate():
            return await handler(self, *args, **kwargs)

    return in_turn
