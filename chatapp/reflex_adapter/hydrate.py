"""Reflex's hydrate, the first event of every page load, with the app's wrapper around it.

Reflex 0.10.1 loads a page with an event of its own root state, `State.hydrate_and_load`,
which the frontend sends with every socket (re)connect: it builds the tab's whole state
as a dict, serializes it and sends it, then queues the page's on_load handlers. Reflex
runs every event as a task of its own, all at once; there is no public way to make the
hydrate wait for anything. `wrap` puts a decorator of the app's around the handler's
function (`states/page_loads.py` makes hydrates take turns, as page loads do).

A page with on_load handlers then cost three more events of Reflex's: the hydrate returns
`OnLoadInternalState.on_load_internal`, which looks up the page's handlers and returns them
and `set_is_hydrated(True)`, each an event of its own (a task, the tab's lock, a delta and
a frame). `load_inline` runs the page's on_load handlers inside the hydrate instead, when
the app says it may (its own page loads, `page_loads.page_load`): one event a page load,
and besides the browser storage's frame two frames (the snapshot, then what the load
changed with `is_hydrated`), not four. At 2,000 tabs (docs/benchmarks.md, 2026-12-07,
night) a reconnect storm's CPU fell by a third (its page loads read little), a new tab's
page load's by a tenth. A navigation inside the app (no reconnect) still goes Reflex's way.

The internals (the handler in `rx.State.event_handlers`, its frozen `fn`; the hydrate's
return of `on_load_internal`, `App.get_load_events`, `State.rx_router_url`) are listed in
`internals`; `tests/integration/test_page_load_turns.py` checks that the wrapped
function is the one Reflex calls (hydrates held at their gate do not reach the tab), and
`tests/integration/test_one_event_page_load.py` that a page loads in one event.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable
from typing import Any

import reflex as rx

Handler = Callable[..., Awaitable[Any]]
# What the app runs in place of an on_load handler's function inside the hydrate (None:
# not this one; the page loads Reflex's way).
InlineOf = Callable[[Callable[..., Any]], Handler | None]

# Where a wrapper keeps Reflex's own function (read by `internals` too).
ORIGINAL = "_chatapp_hydrate_original"
# The handler's name on the root state (read by `internals` too).
NAME = "hydrate_and_load"


def wrap(decorator: Callable[[Handler], Handler]) -> bool:
    """Run the hydrate as `decorator(Reflex's function)`. A second call replaces the
    first's decorator (it never wraps a wrapper).

    Returns:
        False if Reflex's hydrate is not as expected (nothing wrapped: the startup check
        names it, `internals`).
    """
    target = rx.State.event_handlers.get(NAME)
    if target is None or not dataclasses.is_dataclass(target) or not callable(getattr(target, "fn", None)):
        return False
    original = getattr(target.fn, ORIGINAL, target.fn)
    wrapped = decorator(original)
    setattr(wrapped, ORIGINAL, original)
    # A frozen dataclass: set as Reflex's own constructor does. Its cached answer to
    # "is this a coroutine function" is dropped, to be asked again of the wrapper.
    object.__setattr__(target, "fn", wrapped)
    target.__dict__.pop("_is_coroutine_function", None)
    return True


@functools.cache
def on_load_internal() -> Any | None:
    """Reflex's event that queues a page's on_load handlers, as its hydrate returns it
    (None if Reflex has no such event: nothing is run inline)."""
    try:
        from reflex.state import OnLoadInternalState
    except ImportError:
        return None
    return getattr(OnLoadInternalState, "on_load_internal", None)


def _inline_calls(app: rx.App, root: Any, inline_of: InlineOf) -> list[tuple[type, Handler]] | None:
    """The page's on_load handlers as (state class, function to run), or None unless
    every one of them may run inline."""
    calls = []
    for spec in app.get_load_events(root.rx_router_url.path):
        state_cls = getattr(spec, "state", None)
        run = inline_of(getattr(spec, "fn", None)) if isinstance(spec, rx.event.EventHandler) else None
        if run is None or not isinstance(state_cls, type):
            return None
        calls.append((state_cls, run))
    return calls or None


async def load_inline(app: rx.App, root: Any, returned: Any, inline_of: InlineOf) -> Any:
    """What the hydrate of `root` (the tab's root state, its lock held) returns once its
    snapshot is sent: if Reflex's hydrate returned `on_load_internal` and every on_load
    handler of the page has a function `inline_of` gives, those run here, in order, and
    the page is hydrated; the result is the events they returned (a redirect, say), for
    Reflex to route as it would have. A handler that raises is handed to the app's
    backend exception handler, whose events (the error's toast) join the result, and the
    rest still run. Otherwise `returned`, unchanged.
    """
    if not fits(app) or returned != [on_load_internal()]:
        return returned
    calls = _inline_calls(app, root, inline_of)
    if calls is None:
        return returned
    events: list[Any] = []
    for state_cls, run in calls:
        try:
            out = await run(await root.get_state(state_cls))
        except Exception as ex:
            # As Reflex's own way: each handler was an event of its own, so one that
            # raised left the next ones to run and the page hydrated; its error goes to
            # the app's backend exception handler (logged, and the tab told).
            out = app.backend_exception_handler(ex)
        if out is not None:
            events.extend(out if isinstance(out, list | tuple) else [out])
    root.is_hydrated = True
    return events or None


def fits(app: rx.App) -> bool:
    """Whether `load_inline` can find a page's on_load handlers as Reflex does: the event
    its hydrate returns for them, `App.get_load_events(path)` and the tab's
    `State.rx_router_url`; and hand a handler's error to the app's
    `backend_exception_handler` (an argument of `rx.App`), as Reflex does."""
    return (
        on_load_internal() is not None
        and callable(getattr(app, "get_load_events", None))
        and callable(getattr(app, "backend_exception_handler", None))
        and hasattr(rx.State, "rx_router_url")
    )
