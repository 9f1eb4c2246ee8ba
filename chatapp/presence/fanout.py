"""Delivering a change into the open tabs of the users who may see it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import reflex as rx

logger = logging.getLogger(__name__)

Apply = Callable[[Any], Awaitable[None] | None]


class _Batch:
    """The changes waiting for one tab's state, applied together once its turn comes.

    A tab's state is locked while it is changed, and every change costs Reflex a delta
    computed over the whole state and a message. When changes for a tab come faster
    than they are applied (a user with many contacts, everyone reconnecting at once),
    those still waiting for the tab are applied under one lock, in the order they came,
    and leave in one delta: the tab ends in the same state, for a fraction of the work.
    """

    __slots__ = ("applies",)

    def __init__(self) -> None:
        self.applies: list[tuple[Apply, asyncio.Future[bool]]] = []


# (event loop, tab token, state class) → the batch not yet started for it.
_Key = tuple[asyncio.AbstractEventLoop, str, type]
_waiting: dict[_Key, _Batch] = {}
# The batches being applied (a task needs a reference until it is done).
_running: set[asyncio.Task] = set()


async def deliver(app: rx.App, tokens: Iterable[str], state_cls: type, apply: Apply) -> int:
    """Run `apply` on the `state_cls` state of each tab, all tabs at once.

    Reflex sends each tab the delta its state ends with, through its own socket (or,
    with several workers, through Redis to the worker that holds the socket). A change
    for a tab that already has changes waiting joins them (see `_Batch`).

    Returns:
        How many tabs were updated.
    """
    loop = asyncio.get_running_loop()
    futures: list[asyncio.Future[bool]] = []
    for token in dict.fromkeys(tokens):  # each tab once, however it was reached
        future: asyncio.Future[bool] = loop.create_future()
        futures.append(future)
        key = (loop, token, state_cls)
        batch = _waiting.get(key)
        if batch is None:
            batch = _waiting[key] = _Batch()
            task = loop.create_task(_run(app, key, batch))
            _running.add(task)
            task.add_done_callback(lambda task, key=key, batch=batch: _finished(task, key, batch))
        batch.applies.append((apply, future))
    results = await asyncio.gather(*futures)
    return sum(results)


async def _run(app: rx.App, key: _Key, batch: _Batch) -> bool:
    """Apply a batch under the tab's lock.

    Returns:
        Whether the tab's state was changed and its delta sent.
    """
    _, token, state_cls = key
    try:
        async with app.modify_state(rx.BaseStateToken(ident=token, cls=state_cls)) as root:
            # From here on, new changes for this tab start a batch of their own (which
            # waits for this one to release the tab's lock).
            if _waiting.get(key) is batch:
                del _waiting[key]
            state = await root.get_state(state_cls)
            for apply, future in batch.applies:
                try:
                    result = apply(state)
                    if asyncio.iscoroutine(result):
                        await result
                except Exception:  # one broken change must not stop the others
                    logger.exception("delivery to tab %s failed", token)
                    if not future.done():
                        future.set_result(False)
    except Exception:  # one broken tab must not stop the others
        logger.exception("delivery to tab %s failed", token)
        return False
    return True


def _finished(task: asyncio.Task, key: _Key, batch: _Batch) -> None:
    """Tell each change of a batch whether it went out (also when cancelled or never run)."""
    _running.discard(task)
    if _waiting.get(key) is batch:
        del _waiting[key]
    delivered = not task.cancelled() and task.exception() is None and task.result()
    for _, future in batch.applies:
        if not future.done():
            future.set_result(delivered)
