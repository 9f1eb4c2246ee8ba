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

A page load waits for its turn before Reflex takes its tab's lock (`reflex_adapter.
turns`): a waiting tab's state stays free for the changes pushed to it, and with Redis
thousands of waiting page loads no longer each renew a lock every few seconds (as they
did while they waited inside their handlers, holding it; without the internal they still
do). A lock in Redis expires (10 s): a load that ran longer on a loop behind by seconds
had the state it made refused and its tab left half loaded, so a page load renews its
tab's lock for as long as it runs (`redis_store.lock_kept`).

A page load begins before its on_load handlers: Reflex's hydrate (`reflex_adapter.
hydrate`), sent with every socket's connect, builds and sends the tab's whole state. The
hydrates of a storm were all ready at once as well: at 5,000 and 10,000 tabs the loop fell
behind by the hydrates alone, the sockets were closed as lost and came back with a new
hydrate each, and no page finished loading (docs/benchmarks.md, 2026-12-06). So hydrates
take turns too (`hydrate_in_turn`), `CHATAPP_PAGE_LOADS` at once, in a line of their own.

A (re)connecting tab's on_load handler runs inside its hydrate, in the hydrate's turn
(`reflex_adapter.hydrate.load_inline`): one Reflex event a page load instead of four (a
storm's CPU a third less at 2,000 tabs, docs/benchmarks.md, 2026-12-07, night). The on_load
handlers' own line is for the page loads that come without a hydrate: a navigation inside
the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from chatapp import runtime
from chatapp.line import Line
from chatapp.reflex_adapter import hydrate as hydrates
from chatapp.reflex_adapter import redis_store, turns
from chatapp.settings import settings
from chatapp.states.session import arguments_check

Handler = Callable[..., Awaitable[Any]]

# The gates of each event loop (a test may run several servers, one after another): one
# for the hydrates, one for the on_load handlers.
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Line]] = weakref.WeakKeyDictionary()
HYDRATES = "hydrates"
ON_LOADS = "on_loads"


def _gate(line: str = ON_LOADS) -> Line:
    gates = _gates.setdefault(asyncio.get_running_loop(), {})
    gate = gates.get(line)
    if gate is None:
        gate = gates[line] = Line(max(1, settings.page_loads))
    return gate


# The line a handler's function waits in (set on the wrappers below).
_LINE = "_chatapp_turn_line"
# A page load's own function, as it runs inside a hydrate (set on `page_load`'s wrapper).
_INLINE = "_chatapp_page_load_inline"


def turn_of(fn: Callable[..., Any]) -> Line | None:
    """The turn an event of handler function `fn` waits for before Reflex takes its tab's
    lock (`reflex_adapter.turns`): its line's gate, or None for an event that takes no
    turn."""
    line = getattr(fn, _LINE, None)
    return None if line is None else _gate(line)


async def _in_turn(line: str, state: Any, run: Callable[[], Awaitable[Any]]) -> Any:
    """Run `run()` in its turn in `line` (taken before the tab's lock where Reflex lets
    it be, `turns.taken`, else here, holding the lock), the tab's lock kept meanwhile
    if it expires (a loop seconds behind runs a handler that long)."""
    running = runtime.running()
    gate = contextlib.nullcontext() if turns.taken() else _gate(line)
    if running is None or not redis_store.locks_expire(running.push.app):
        # In memory (or outside a server): a tab's lock never expires.
        async with gate:
            return await run()
    async with redis_store.lock_kept(running.push.app, state.router.session.client_token), gate:
        return await run()


def page_load(handler: Handler) -> Handler:
    """An on_load handler that waits for its turn among the page loads of this process.
    Put it under `@rx.event`. A call with arguments the handler does not take is refused
    (a browser can send any)."""
    fits = arguments_check(handler)

    @functools.wraps(handler)
    async def in_turn(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not fits(self, *args, **kwargs):
            return None
        return await _in_turn(ON_LOADS, self, lambda: handler(self, *args, **kwargs))

    setattr(in_turn, _LINE, ON_LOADS)
    # Inside the hydrate its turn is taken and its tab's lock kept; it gets no arguments.
    setattr(in_turn, _INLINE, handler)
    return in_turn


def _inline_of(fn: Callable[..., Any] | None) -> Handler | None:
    """What runs inside a hydrate in place of on_load handler function `fn`: a page
    load's own function, or None for any other handler (the page loads Reflex's way)."""
    return getattr(fn, _INLINE, None)


def hydrate_in_turn(hydrate: Handler) -> Handler:
    """Reflex's hydrate, waiting for its turn among the hydrates of this process, then
    the page's load in the same turn and event (installed by `wiring.install` through
    `reflex_adapter.hydrate.wrap`)."""

    async def hydrate_and_load(self: Any, *args: Any, **kwargs: Any) -> Any:
        returned = await hydrate(self, *args, **kwargs)
        running = runtime.running()
        if running is None:
            return returned
        return await hydrates.load_inline(running.push.app, self, returned, _inline_of)

    @functools.wraps(hydrate)
    async def in_turn(self: Any, *args: Any, **kwargs: Any) -> Any:
        return await _in_turn(HYDRATES, self, lambda: hydrate_and_load(self, *args, **kwargs))

    setattr(in_turn, _LINE, HYDRATES)
    return in_turn
