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

A handler holds its tab while it waits. With Redis that is a lock that expires (10 s):
a load that waited (or, on a loop behind by seconds, ran) longer had the state it made
refused and its tab left half loaded, so a page load renews its tab's lock for as long
as it waits and runs (`redis_store.lock_kept`).
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from chatapp import runtime
from chatapp.reflex_adapter import redis_store
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
        running = runtime.running()
        if running is None or not redis_store.locks_expire(running.push.app):
            # In memory (or outside a server): a tab's lock never expires.
            async with _gate():
                return await handler(self, *args, **kwargs)
        async with redis_store.lock_kept(running.push.app, self.router.session.client_token), _gate():
            return await handler(self, *args, **kwargs)

    return in_turn
