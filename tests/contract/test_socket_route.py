"""A tab's websocket goes straight to the socket server Reflex mounted, with Reflex's
contexts set; everything else goes through every middleware Reflex built; and without
the internals this needs, the app is served as Reflex builds it."""

from __future__ import annotations

import logging

import socketio
from reflex_base.registry import RegistrationContext

from chatapp.chatapp import app
from chatapp.reflex_adapter import socket_route
from tests.support import run_async


async def _full(scope, receive, send) -> None:
    """Stands for the ASGI app Reflex built (every middleware)."""


def test_the_app_is_served_with_its_websockets_routed_straight():
    assert isinstance(app, socket_route.App)
    assert isinstance(socket_route.direct(app, _full), socket_route.DirectSockets)


def test_the_socket_app_is_the_one_reflex_mounted_for_the_event_path():
    mount = socket_route.socket_mount(app)
    assert mount.path == "/_event"
    # Reflex's subprotocol fix-up around python-socketio's ASGI app of this app's server.
    assert isinstance(mount.app.app, socketio.ASGIApp)
    assert mount.app.app.engineio_server is app.sio


def test_a_websocket_on_the_event_path_goes_straight_to_the_socket_app():
    routed = socket_route.direct(app, _full)
    scope = {"type": "websocket", "path": "/_event/", "query_string": b"EIO=4&transport=websocket"}
    assert routed.target(scope) is socket_route.socket_mount(app).app


def test_everything_else_goes_through_the_app_reflex_built():
    routed = socket_route.direct(app, _full)
    for scope in (
        {"type": "http", "path": "/_event/"},  # not a websocket (long polling is off anyway)
        {"type": "websocket", "path": "/_eventual/"},
        {"type": "websocket", "path": "/other"},
        {"type": "http", "path": "/ping"},
        {"type": "lifespan"},
    ):
        assert routed.target({"path": "", **scope}) is _full, scope


def test_the_socket_app_runs_with_reflexs_contexts_set(monkeypatch):
    """A connection may start with fresh contextvars (as Granian gives each): the socket's
    handlers need the app's registration context, which Reflex's middleware would set."""
    routed = socket_route.direct(app, _full)
    seen: list[object] = []

    async def sockets(scope, receive, send) -> None:
        seen.append(RegistrationContext.get())

    monkeypatch.setattr(routed, "sockets", sockets)
    scope = {"type": "websocket", "path": "/_event/"}
    # A thread of its own starts with nothing set, as a fresh connection's context.
    run_async(routed(scope, None, None))
    assert seen == [app._registration_context]


def test_without_the_socket_mount_the_app_is_served_as_reflex_builds_it(monkeypatch, caplog):
    monkeypatch.setattr(socket_route, "socket_mount", lambda _app: None)
    with caplog.at_level(logging.WARNING, logger="chatapp"):
        assert socket_route.direct(app, _full) is _full
    assert "Reflex internal missing" in caplog.text
