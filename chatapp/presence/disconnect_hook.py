"""Noticing that a tab's socket closed.

Reflex 0.10.1 has no public disconnect hook, and registering a socket.io `disconnect`
handler would replace Reflex's own. So we wrap the `on_disconnect` method of the app's
event namespace: read the tab's token before Reflex forgets it, then let Reflex clean up.
This leans on an internal; Reflex is pinned and `tests/integration/test_disconnect_hook.py`
fails if the hook stops firing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import reflex as rx

logger = logging.getLogger(__name__)

OnClose = Callable[[str, str], Awaitable[None]]

_HOOKED = "_chatapp_disconnect_hooked"


def install(app: rx.App, on_close: OnClose) -> None:
    """Call `on_close(token, sid)` whenever a tab's socket disconnects (idempotent)."""
    namespace = app.event_namespace
    if namespace is None:
        msg = "the app's event namespace does not exist yet"
        raise RuntimeError(msg)
    if getattr(namespace, _HOOKED, False):
        return
    original = namespace.on_disconnect
    tasks: set[asyncio.Task] = set()

    def on_disconnect(sid: str):
        token = namespace.sid_to_token.get(sid)
        result = original(sid)
        if token:
            task = asyncio.get_running_loop().create_task(on_close(token, sid))
            tasks.add(task)  # keep a reference until it is done
            task.add_done_callback(_finished(tasks))
        return result

    namespace.on_disconnect = on_disconnect
    setattr(namespace, _HOOKED, True)


def _finished(tasks: set[asyncio.Task]) -> Callable[[asyncio.Task], None]:
    def done(task: asyncio.Task) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("presence disconnect handling failed", exc_info=task.exception())

    return done
