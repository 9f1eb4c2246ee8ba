"""Events that wait for a turn before Reflex takes their tab's lock.

Reflex 0.10.1 runs each event in a task of its own, `BaseStateEventProcessor.
_execute_event`, which takes the tab's state lock (`modify_state`) and then calls the
handler. A handler that waits for a turn (`states/page_loads.py`: page loads and hydrates
take turns in a reconnect storm) waited holding that lock: with Redis, thousands of
waiting page loads each renewed their lock every few seconds (Redis commands, and
connections of its pool, spent on nothing), and no change could reach a waiting tab's
state until its turn came.

`install(turn_of)` makes the processor ask first, for each event, `turn_of(fn)` (`fn`:
the handler's function as Reflex calls it); if that gives an async context manager, the
event enters it before the lock is taken and leaves it once done. Inside, `taken()` is
True: the handler knows its turn was taken for it. Without the internal (a Reflex that
changed, named by `internals`), nothing is installed and a handler takes its turn
itself, inside the lock, as before.

Every event also runs marked as holding its tab's lock (`background.under_lock()`), so
that a delivery its handler awaits never waits at the long way's gate (`tabs.bound`).

The internal is listed in `internals`; `tests/integration/test_page_load_turns.py` checks
that a page load waiting for its turn leaves its tab's state free.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from chatapp import background

TurnOf = Callable[[Callable[..., Any]], AbstractAsyncContextManager | None]

# Set inside a turn taken by the processor (the event's own task and context).
_taken: contextvars.ContextVar[bool] = contextvars.ContextVar("chatapp_turn_taken", default=False)
# Where the wrapper keeps Reflex's own method (read by `internals` too).
ORIGINAL = "_chatapp_turns_original"


def processor_class() -> type | None:
    """Reflex's event processor class of state events, if it is where it was."""
    try:
        from reflex_base.event.processor.base_state_processor import BaseStateEventProcessor
    except ImportError:
        return None
    return BaseStateEventProcessor


def fits(cls: type | None) -> bool:
    """Whether the processor runs each event through `_execute_event(self, *, entry,
    registered_handler)`, a coroutine function, `registered_handler.handler.fn` the
    handler's function."""
    method = getattr(cls, "_execute_event", None)
    if method is None:
        return False
    method = getattr(method, ORIGINAL, method)
    if not inspect.iscoroutinefunction(method):
        return False
    params = inspect.signature(method).parameters
    return all(
        params.get(name) is not None and params[name].kind is params[name].KEYWORD_ONLY
        for name in ("entry", "registered_handler")
    )


def install(turn_of: TurnOf) -> bool:
    """Let events wait for the turn `turn_of` gives them before their lock is taken. A
    second call replaces the first's `turn_of` (it never wraps a wrapper).

    Returns:
        Whether it is installed (False: Reflex changed; handlers take their turns).
    """
    cls = processor_class()
    if not fits(cls):
        return False
    original = getattr(cls._execute_event, ORIGINAL, cls._execute_event)

    async def _execute_event(self: Any, *, entry: Any, registered_handler: Any) -> None:
        turn = turn_of(registered_handler.handler.fn)
        async with turn or contextlib.nullcontext():
            marked = _taken.set(turn is not None)
            try:
                with background.holding_lock():
                    await original(self, entry=entry, registered_handler=registered_handler)
            finally:
                _taken.reset(marked)

    setattr(_execute_event, ORIGINAL, original)
    cls._execute_event = _execute_event
    return True


def installed() -> bool:
    """Whether events take their turns here, and so run marked as holding their tab's
    lock (`install` succeeded)."""
    cls = processor_class()
    return cls is not None and hasattr(getattr(cls, "_execute_event", None), ORIGINAL)


def taken() -> bool:
    """Whether the running handler's turn was taken for it before its lock (`install`)."""
    return _taken.get()
