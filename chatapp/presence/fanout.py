"""Delivering a change into the open tabs of the users who may see it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import reflex as rx

logger = logging.getLogger(__name__)

Apply = Callable[[Any], Awaitable[None] | None]


async def deliver(app: rx.App, tokens: Iterable[str], state_cls: type, apply: Apply) -> int:
    """Run `apply` on the `state_cls` state of each tab, all tabs at once.

    Reflex sends each tab the delta its state ends with, through its own socket (or,
    with several workers, through Redis to the worker that holds the socket).

    Returns:
        How many tabs were updated.
    """
    tokens = list(dict.fromkeys(tokens))  # each tab once, however it was reached

    async def one(token: str) -> bool:
        try:
            async with app.modify_state(rx.BaseStateToken(ident=token, cls=state_cls)) as root:
                state = await root.get_state(state_cls)
                result = apply(state)
                if asyncio.iscoroutine(result):
                    await result
        except Exception:  # one broken tab must not stop the others
            logger.exception("delivery to tab %s failed", token)
            return False
        return True

    results = await asyncio.gather(*(one(token) for token in tokens))
    return sum(results)
