"""Only the app's own pages may use its backend: a websocket handshake from a page of
another origin is refused, the app's own origin is accepted, and a client that sends no
`Origin` (not a browser: these tests' clients, benchmarks, monitoring) is accepted.

Raw handshakes over a plain TCP socket, against a production backend started with the
environment a deployment gives it: REFLEX_DEPLOY_URL (where its pages are served), or
CHATAPP_ALLOWED_ORIGINS. (The shared test app runs under Reflex's AppHarness, which picks
its frontend's port after the socket server exists: it cannot know its origin.)
"""

from __future__ import annotations

import base64
import os
import socket
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from bench.app_server import AppServer

SITE = "http://chat.example.test:8080"
FOREIGN = "https://evil.example"


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


def cors_origin_answered(base_url: str, origin: str) -> str | None:
    """The Access-Control-Allow-Origin the backend answers a page of `origin` with."""
    request = urllib.request.Request(f"{base_url}/ping", headers={"Origin": origin})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers.get("Access-Control-Allow-Origin")


def _server(env: dict[str, str | None]) -> AppServer:
    # Nothing of this shell's own origin settings leaks in.
    base = {"CHATAPP_ALLOWED_ORIGINS": None, "REFLEX_API_URL": None, "REFLEX_DEPLOY_URL": None}
    return AppServer(env={**base, **env}, ready_timeout=120)


@pytest.fixture(scope="module")
def site_backend() -> Iterator[str]:
    """A backend-only instance told where its pages are served (REFLEX_DEPLOY_URL)."""
    with _server({"REFLEX_DEPLOY_URL": SITE}) as server:
        yield server.backend_url


@pytest.fixture(scope="module")
def configured_backend() -> Iterator[str]:
    """The same, with CHATAPP_ALLOWED_ORIGINS naming two other origins."""
    env = {
        "REFLEX_DEPLOY_URL": SITE,
        "CHATAPP_ALLOWED_ORIGINS": "https://chat.example.com, http://[::1]:9000",
    }
    with _server(env) as server:
        yield server.backend_url


def test_the_sites_own_origin_opens_the_socket_and_a_foreign_one_is_refused(site_backend):
    assert websocket_opens(site_backend, SITE)
    assert not websocket_opens(site_backend, FOREIGN)
    assert not websocket_opens(site_backend, "http://chat.example.test:8081")  # same host, other port
    assert not websocket_opens(site_backend, "https://chat.example.test:8080")  # other scheme
    assert not websocket_opens(site_backend, "null")  # a sandboxed page or a file


def test_a_client_without_an_origin_header_is_not_a_browser_and_is_accepted(site_backend):
    assert websocket_opens(site_backend, None)


def test_cors_answers_the_sites_own_origin_only(site_backend):
    assert cors_origin_answered(site_backend, SITE) == SITE
    assert cors_origin_answered(site_backend, FOREIGN) is None


def test_configured_origins_replace_the_default(configured_backend):
    assert websocket_opens(configured_backend, "https://chat.example.com")
    assert websocket_opens(configured_backend, "http://[::1]:9000")
    assert not websocket_opens(configured_backend, SITE)
    assert not websocket_opens(configured_backend, FOREIGN)
    assert cors_origin_answered(configured_backend, "https://chat.example.com") == "https://chat.example.com"
