"""Only the app's own pages may use its backend: a websocket handshake from a page of
another origin is refused, the app's own origin is accepted, and a client that sends no
`Origin` (not a browser: these tests' clients, benchmarks, monitoring) is accepted.

Raw handshakes over a plain TCP socket, against a production backend started with the
environment a deployment gives it: REFLEX_DEPLOY_URL (where its pages are served), or
CHATAPP_ALLOWED_ORIGINS. (The shared test app runs under Reflex's AppHarness, which picks
its frontend's port after the socket server exists: it cannot know its origin.)
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest

from bench.app_server import AppServer
from tests.integration.support import websocket_opens

SITE = "http://chat.example.test:8080"
FOREIGN = "https://evil.example"


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
