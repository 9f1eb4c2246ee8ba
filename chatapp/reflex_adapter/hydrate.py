"""Reflex's hydrate, the first event of every page load, with the app's wrapper around it.

Reflex 0.10.1 loads a page with an event of its own root state, `State.hydrate_and_load`,
which the frontend sends with every socket (re)connect: it builds the tab's whole state
as a dict, serializes it and sends it, then queues the page's on_load handlers. Reflex
runs every event as a task of its own, all at once; there is no public way to make the
hydrate wait for anything. `wrap` puts a decorator of the app's around the handler's
function (`states/page_loads.py` makes hydrates take turns, as page loads do).

The internals (the handler in `rx.State.event_handlers`, its frozen `fn`) are listed in
`internals`; `tests/integration/test_page_load_turns.py` checks that the wrapped
function is the one Reflex calls (hydrates held at their gate do not reach the tab).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import reflex as rx

Handler = Callable[..., Awaitable[Any]]

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
