"""A tab's websocket goes straight to the socket server, past the HTTP middleware.

Reflex serves its socket.io endpoint as a Starlette mount two Starlette apps deep: the
backend's own (server errors, CORS, exceptions, router, the mount) inside the one
`rx.App.__call__` builds around it (server errors, Reflex's contexts, CORS, exceptions,
router, a mount). None of them does anything for a websocket, but each holds a coroutine
frame (and some a wrapper of `send`) for as long as the socket is open, and every frame
a tab is sent passes through the wrappers: about 5 KB per open tab (docs/benchmarks.md,
"Issue 16, 2026-12-07 (afternoon)").

`App` is `rx.App` whose ASGI app sends a websocket on the event path to the mounted
socket app (Reflex's subprotocol header fix-up around python-socketio's ASGI app), with
Reflex's contexts set (public `set_contexts()`) as its `_ContextMiddleware` sets them;
everything else (pages' HTTP, uploads, health) goes the usual way, through every
middleware.

Internal: `App._api` (the backend's Starlette app: its `routes`, the mount at
`Endpoint.EVENT`). Without it the app is served as Reflex builds it (see `internals`).
"""

from __future__ import annotations

import logging
from typing import Any

import reflex as rx
from reflex_base import constants
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)


def socket_mount(app: rx.App) -> Mount | None:
    """Reflex's mount of its socket server (at `Endpoint.EVENT`, after any backend path);
    None if it is not found. (Found by its path as mounted: `get_config()` outside a
    Reflex context would attach a new, empty one.)"""
    for route in getattr(getattr(app, "_api", None), "routes", ()):
        if isinstance(route, Mount) and route.path.endswith(str(constants.Endpoint.EVENT)):
            return route
    return None


def fits(app: rx.App) -> bool:
    """Whether this Reflex has what `direct` needs."""
    return socket_mount(app) is not None


class DirectSockets:
    """The app's ASGI app with its websockets sent straight to the socket app.

    Args:
        app: The Reflex app (its contexts are set for each websocket).
        mount: Reflex's mount of the socket server (`socket_mount`).
        full: The ASGI app Reflex built, for everything else.
    """

    def __init__(self, app: rx.App, mount: Mount, full: ASGIApp) -> None:
        self.app = app
        self.sockets: ASGIApp = mount.app
        self.full = full
        self.prefix = mount.path + "/"

    def target(self, scope: Scope) -> ASGIApp:
        """Where a connection goes."""
        if scope["type"] == "websocket" and scope["path"].startswith(self.prefix):
            return self.sockets
        return self.full

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = self.target(scope)
        if target is not self.sockets:
            await target(scope, receive, send)
            return
        # As Reflex's `_ContextMiddleware`: a connection may start with fresh contextvars,
        # and the socket's handlers run in this one.
        with self.app.set_contexts():
            await target(scope, receive, send)


def direct(app: rx.App, full: ASGIApp) -> ASGIApp:
    """`full` with the app's websockets sent straight to its socket app; `full` itself
    if this Reflex lacks what that needs (logged)."""
    mount = socket_mount(app)
    if mount is None:
        logger.warning(
            "Reflex internal missing: App._api's mount of the socket server; websockets go "
            "through Reflex's HTTP middleware (more memory per tab)"
        )
        return full
    return DirectSockets(app, mount, full)


class App(rx.App):
    """`rx.App` serving its websockets past the HTTP middleware (see the module)."""

    def __call__(self) -> Any:
        return direct(self, super().__call__())
