"""The reverse proxy of deploy/nginx, run from Debian's nginx on loopback in front of a real
backend instance and the frontend built as the image builds it: pages load, and a raw
websocket client and a real browser log in and see presence through it."""

from __future__ import annotations

import re
import threading
import urllib.request

import pytest

from bench.reflex_client import ReflexClient
from chatapp.wire import AUTH_FORM_STATE, SESSION_STATE
from deploy.render_nginx import render_site
from tests.deploy.support import PASSWORD, User
from tests.support import run_async


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


@pytest.mark.integration
def test_pages_scripts_and_backend_routes_load_through_the_proxy(proxy):
    status, headers, body = _get(f"{proxy.url}/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    html = body.decode()
    assert "<title>Conversations · chatapp</title>" in html
    assets = sorted(set(re.findall(r'(?:href|src)="(/assets/[^"]+)"', html)))
    assert assets, "the page links no compiled assets"
    for asset in assets:
        status, headers, _ = _get(f"{proxy.url}{asset}")
        assert status == 200, asset
        assert "immutable" in headers.get("Cache-Control", ""), asset

    # Every route answers with the app: prerendered pages, then the client-side router
    # for conversations (/c/<id>), as Reflex's own production server does.
    for path in ("/login", "/signup", "/c/42", "/chatapp.css"):
        status, _, body = _get(f"{proxy.url}{path}")
        assert status == 200 and body, path
    assert b"entry.client" in _get(f"{proxy.url}/c/42")[2]
    # The precompressed copies the build writes are what goes on the wire.
    _, headers, _ = _get(f"{proxy.url}/login", {"Accept-Encoding": "gzip"})
    assert headers.get("Content-Encoding") == "gzip"
    # Reflex's backend routes reach the backend.
    assert _get(f"{proxy.url}/ping")[2] == b'"pong"'

    # Where the browser opens its socket, compiled into the page: the proxy's port on
    # "localhost", which the browser replaces with the page's own host name.
    env_module = next(a for a in assets if "reflex-env" in a)
    assert f"ws://localhost:{proxy.port}/_event".encode() in _get(f"{proxy.url}{env_module}")[2]


async def _log_in(url: str, user: User) -> ReflexClient:
    """A tab that logs in with the form, as a person does, then opens the chat page."""
    tab = ReflexClient(url)
    await tab.connect()
    await tab.load("/login")
    form = {"username": user.username, "password": PASSWORD}
    await tab.emit(f"{AUTH_FORM_STATE}.log_in", {"form_data": form}, path="/login")

    def session_token() -> str | None:
        for update in tab.updates:
            for key, value in (update.get("delta") or {}).get(SESSION_STATE, {}).items():
                if key.startswith("auth_token") and value:
                    return value
        return None

    await tab.wait_for(lambda: session_token() is not None)
    tab.auth_token = session_token()  # what the browser keeps in localStorage
    await tab.load("/")  # the redirect to the chat
    return tab


@pytest.mark.integration
def test_a_raw_client_logs_in_and_receives_presence_through_the_proxy(proxy, backend):
    a, b = backend.users

    async def scenario() -> None:
        tab_a = await _log_in(proxy.url, a)
        tab_b = await _log_in(proxy.url, b)
        await tab_a.wait_for(lambda: tab_a.status_of(b.id) == "online")
        await tab_b.wait_for(lambda: tab_b.status_of(a.id) == "online")
        await tab_b.disconnect()
        await tab_a.wait_for(lambda: tab_a.status_of(b.id) == "offline")
        await tab_a.disconnect()

    run_async(scenario())
    # Both sockets were websocket upgrades made by nginx (101), not anything else.
    upgrades = [line for line in proxy.access_log.splitlines() if "/_event/" in line and '" 101 ' in line]
    assert len(upgrades) >= 2, proxy.access_log[-2000:]


@pytest.mark.integration
def test_a_browser_logs_in_and_sees_its_peer_through_the_proxy(proxy, backend):
    """The real frontend in Chromium, on 127.0.0.1 (not "localhost"): its socket goes
    through the proxy, and the chat shows the peer online."""
    from find_chromium import find_chromium  # scripts/, put on sys.path by tests/conftest.py

    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium found (scripts/test installs one)")
    from playwright.sync_api import expect, sync_playwright

    from tests.conftest import CHROMIUM_ARGS

    a, b = backend.users
    sockets: list[str] = []
    failure: list[BaseException] = []

    def drive() -> None:  # in a thread: pytest-playwright may hold this thread's event loop
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                try:
                    peer = browser.new_page()
                    peer.add_init_script(f"window.localStorage.setItem('_auth_token', {b.auth_token!r});")
                    peer.goto(f"{proxy.url}/")
                    expect(peer.locator("#status-menu-trigger")).to_contain_text(f"@{b.username}")

                    page = browser.new_page()
                    page.on("websocket", lambda ws: sockets.append(ws.url))
                    page.goto(f"{proxy.url}/login")
                    page.get_by_placeholder("Username").fill(a.username)
                    page.get_by_placeholder("Password").fill(PASSWORD)
                    page.get_by_role("button", name="Log in").click()
                    expect(page.locator("#status-menu-trigger")).to_contain_text(f"@{a.username}")
                    dot = page.locator(f'.presence-indicator[data-user-id="{b.id}"]').first
                    expect(dot).to_have_attribute("data-presence", "online")
                finally:
                    browser.close()
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=drive)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "the browser did not finish in 120 s"
    if failure:
        raise failure[0]
    assert sockets and all(url.startswith(f"ws://127.0.0.1:{proxy.port}/_event") for url in sockets), sockets


def test_the_websocket_location_upgrades_and_keeps_quiet_sockets_open(tmp_path):
    site = render_site(listen="8080", static_root=tmp_path, backends=["127.0.0.1:8001", "127.0.0.1:8002"])
    site = re.sub(r"#[^\n]*", "", site)  # the directives only
    assert "server 127.0.0.1:8001; server 127.0.0.1:8002;" in site
    event = site[site.index("location /_event") :]
    event = event[: event.index("}")]
    assert re.search(r"proxy_read_timeout\s+(1h|[0-9]{4,}s?);", event), event
    assert re.search(r"proxy_send_timeout\s+(1h|[0-9]{4,}s?);", event), event
    assert "proxy_buffering off;" in event
    # The upgrade headers are set once for the server: a location setting any header of
    # its own would silently drop them (nginx inherits proxy_set_header all or nothing).
    server = site[site.index("server {") :]
    assert "proxy_set_header Upgrade $http_upgrade;" in server
    assert "proxy_set_header Connection $chatapp_connection;" in server
    assert "proxy_http_version 1.1;" in server
    for location in re.findall(r"location [^{]+\{[^}]*\}", server):
        assert "proxy_set_header" not in location, location
