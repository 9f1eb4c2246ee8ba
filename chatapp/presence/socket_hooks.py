"""Noticing that a tab's socket opened or closed.

Reflex 0.10.1 has no public hooks for these, and registering socket.io `connect` or
`disconnect` handlers would replace Reflex's own. So we wrap the `on_connect` and
`on_disconnect` methods of the app's event namespace:
- after Reflex's `on_connect` has linked the new socket to its tab token, `on_open(token,
  sid)` runs;
- before Reflex's `on_disconnect` forgets the socket's token, we read it, and
  `on_close(token, sid)` runs.
Both run as tasks, outside Reflex's handlers. This leans on internals; Reflex is pinned,
and tests/integration/test_presence_sync.py fails if either hook stops firing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import reflex as rx

logger = logging.getLogger(__name__)

OnSocket = Callable[[str, str], Awaitable[object]]

_HOOKED = "_chatapp_socket_hooked"


def install(app: rx.App, *, on_open: OnSocket, on_close: OnSocket) -> None:
    """Call `on_open(token, sid)` when a tab's socket connects and `on_close(token, sid)`
    when it disconnects (idempotent)."""
    namespace = app.event_namespace
    if namespace is None:
        msg = "the app's event namespace does not exist yet"
        raise RuntimeError(msg)
    if getattr(namespace, _HOOKED, False):
        return
    tasks: set[asyncio.Task] = set()

    def spawn(callback: OnSocket, token: str, sid: str) -> None:
        task = asyncio.get_running_loop().create_task(callback(token, sid))
        tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(_finished(tasks))

    original_connect = namespace.on_connect
    original_disconnect = namespace.on_disconnect

    async def on_connect(sid: str, environ: dict, auth: Any = None):
        result = await original_connect(sid, environ, auth)
        token = namespace.sid_to_token.get(sid)
        if token:
            spawn(on_open, token, sid)
        return result

    def on_disconnect(sid: str):
        token = namespace.sid_to_token.get(sid)
        result = original_disconnect(sid)
        if token:
            spawn(on_close, token, sid)
        return result

    namespace.on_connect = on_connect
    namespace.on_disconnect = on_disconnect
    setattr(namespace, _HOOKED, True)


def _finished(tasks: set[asyncio.Task]) -> Callable[[asyncio.Task], None]:
    def done(task: asyncio.Task) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("presence socket handling failed", exc_info=task.exception())

    return done
