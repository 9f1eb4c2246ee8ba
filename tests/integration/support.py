"""Helpers for the tests that speak to a running backend over its websocket."""

from __future__ import annotations

import base64
import os
import socket
from urllib.parse import urlsplit

from bench.reflex_client import ReflexClient
from chatapp import wire
from tests.support import auth_token_for, create_user, direct


async def open_tab(
    backend_url: str, user_id: int, path: str = "/", query=None, *, seeing: bool = True
) -> ReflexClient:
    """A tab of the user (a raw websocket client signed in as them), connected, with the
    page at `path` loaded. Like a browser tab its user looks at, it reports being seen
    (`seeing`): only then does it read the conversation it has open."""
    client = ReflexClient(backend_url, auth_token_for(user_id))
    await client.connect()
    await client.load(path, query)
    if seeing:
        await client.emit(wire.SET_SEEING, {"seeing": True}, path)
    return client


def two_contacts(a_prefix: str, b_prefix: str) -> tuple[int, int]:
    """Two new users who share a direct chat (so each sees the other's status); their ids."""
    a_id, _ = create_user(a_prefix)
    b_id, b_name = create_user(b_prefix)
    direct(a_id, b_name)
    return a_id, b_id


async def watching(backend_url: str, watcher_id: int, watched_id: int) -> tuple[ReflexClient, ReflexClient]:
    """The watcher's tab opens, then the watched user's; returns both tabs (watcher's first)
    once the watcher's shows the watched user online."""
    watcher = await open_tab(backend_url, watcher_id)
    watched = await open_tab(backend_url, watched_id)
    await watcher.wait_for(lambda: watcher.status_of(watched_id) == "online")
    return watcher, watched


def websocket_opens(base_url: str, origin: str | None, timeout: float = 10) -> bool:
    """Open Reflex's socket (engine.io over a websocket at /_event/) as a browser does,
    with `origin` as its Origin header (none when None).

    Returns:
        True when the socket opened (101, then engine.io's OPEN packet), False when the
        handshake was refused (403 from the production server, Granian).
    """
    parts = urlsplit(base_url)
    key = base64.b64encode(os.urandom(16)).decode()
    request = [
        "GET /_event/?EIO=4&transport=websocket HTTP/1.1",
        f"Host: {parts.netloc}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *([f"Origin: {origin}"] if origin is not None else []),
    ]
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(("\r\n".join(request) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        status = int(data.split(b" ", 2)[1])
        if status != 101:
            assert 400 <= status < 500, data[:200]
            return False
        frame = data.split(b"\r\n\r\n", 1)[1]
        while len(frame) < 4:
            frame += sock.recv(4096)
        # A text frame carrying engine.io's OPEN packet: "0{"sid": ...".
        assert frame[0] == 0x81 and frame[2:4] == b"0{", frame[:40]
        return True
