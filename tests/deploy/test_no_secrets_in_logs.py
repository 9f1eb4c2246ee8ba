"""No secrets in the logs, end to end: a scripted session through the repo's nginx and a
production backend, malformed events included, leaves neither the tabs' client tokens nor
the login tokens (nor a password) in any log, nginx's or the app's.

Tokens travel where logs look: the client token in the websocket's URL
(`/_event/?...&token=...`), the login token in event payloads (the page's hydrate sends
it from localStorage), both in what Reflex logs about an event it cannot process.
"""

from __future__ import annotations

import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench.reflex_client import NAMESPACE, ReflexClient
from chatapp.wire import AUTH_FORM_STATE, CHAT_STATE, ROOT_STATE, SESSION_STATE
from deploy.render_nginx import MAIN_CONFIG, nginx_command, render_site, write_run_dir
from tests.deploy.support import PASSWORD, end_group, free_port, start_group, wait_for_http
from tests.support import run_async

# Variables that write a query string, the Referer, cookies or a request body.
LEAKY_VARIABLES = re.compile(
    r"\$(request|request_uri|args|query_string|is_args|arg_\w+|request_body\w*|http_referer"
    r"|http_cookie|cookie_\w+|http_authorization)\b"
)


def _directives(config: str) -> str:
    """An nginx configuration without its comments."""
    return re.sub(r"#[^\n]*", "", config)


def _access_log_formats(config: str) -> tuple[dict[str, str], list[str]]:
    """The log_format definitions (name: text) and the access_log directives of a config."""
    config = _directives(config)
    formats = {
        m.group(1): " ".join(re.findall(r"'([^']*)'", m.group(2)))
        for m in re.finditer(r"log_format\s+(\w+)\s+((?:'[^']*'\s*)+);", config)
    }
    return formats, re.findall(r"access_log\s+([^;]+);", config)


def test_every_access_log_of_the_configuration_writes_no_query_referer_cookie_or_body(tmp_path):
    for log_dir in (None, "logs"):  # the system's conf.d file, a run directory's
        site = render_site(listen="8080", static_root=tmp_path, backends=["127.0.0.1:8001"], log_dir=log_dir)
        formats, access_logs = _access_log_formats(site)
        assert formats.keys() == {"chatapp"}, formats
        assert not LEAKY_VARIABLES.search(formats["chatapp"]), formats["chatapp"]
        # The logged path is the request's, cut at the first "?" (nginx runs it below).
        assert "$chatapp_request_path" in formats["chatapp"]
        assert "map $request_uri $chatapp_request_path {" in site
        # One access log for the whole server, in that format: no location has its own.
        assert access_logs == [f"{log_dir or '/var/log/nginx'}/access.log chatapp"], access_logs
        server = _directives(site[site.index("server {") :])
        assert re.match(r"server \{[^{]*access_log [^;]+ chatapp;", server), "access_log is not server-wide"
    # The main configuration of a run directory logs nothing in nginx's default format.
    _, main_logs = _access_log_formats(MAIN_CONFIG.read_text())
    assert main_logs == ["off"], main_logs


@pytest.mark.integration
def test_nginx_logs_no_query_referer_or_body_even_under_a_main_config_that_logs_everything(
    nginx_binary, workdir
):
    """Real nginx, the rendered site under a main configuration with the distributions'
    http-wide `access_log ... combined` (the request line with its query, the Referer);
    no backend runs, so the proxied locations fail and nginx's error log speaks."""
    secret_query, secret_referer, secret_body = "Qs3cr3tQueryToken", "Rs3cr3tRefererToken", "Bs3cr3tBodyToken"
    static = workdir / "bare-static"
    static.mkdir()
    (static / "login.html").write_text("login")
    (static / "__spa-fallback.html").write_text("app")
    run_dir = workdir / "bare-nginx"
    port = free_port()
    main_config = write_run_dir(
        run_dir, listen=f"127.0.0.1:{port}", static_root=static, backends=[f"127.0.0.1:{free_port()}"]
    )
    distro = main_config.read_text().replace("access_log off;", "access_log logs/distro.log combined;")
    assert distro != main_config.read_text()
    main_config.write_text(distro)
    stderr_log = run_dir / "stderr.log"
    process = start_group(
        nginx_command(main_config, nginx_binary), cwd=run_dir, env=os.environ, log=stderr_log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/login", process=process, log=stderr_log, timeout=30)
        referer = {"Referer": f"{url}/c/1?token={secret_referer}"}
        requests = [
            ("GET", f"/login?token={secret_query}", referer, None, 200),
            ("GET", f"/c/42?x=1&token={secret_query}", referer, None, 200),
            ("GET", f"/assets/missing.js?v={secret_query}", referer, None, 404),
            # A tab's websocket, its backend down: nginx's error log would write the URL.
            (
                "GET",
                f"/_event/?EIO=4&transport=websocket&token={secret_query}",
                {**referer, "Upgrade": "websocket", "Connection": "Upgrade"},
                None,
                502,
            ),
            ("POST", "/_upload", {}, f"file={secret_body}".encode(), 502),
        ]
        for method, path, headers, body, status in requests:
            request = urllib.request.Request(f"{url}{path}", data=body, headers=headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    got = response.status
            except urllib.error.HTTPError as error:
                got = error.code
            assert got == status, (path, got)
        # nginx writes a request's line once it is done, which may be after the client
        # has the response: wait for them all before stopping it.
        access_log = run_dir / "logs" / "access.log"
        deadline = time.monotonic() + 10
        while len(access_log.read_text().splitlines()) < len(requests) + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        end_group(process, 10)
    logs = {path.name: path.read_text(errors="replace") for path in [*run_dir.glob("logs/*.log"), stderr_log]}
    for name, text in logs.items():
        for secret in (secret_query, secret_referer, secret_body):
            assert secret not in text, f"{secret} in {name}:\n{text[-2000:]}"
    access = logs["access.log"]
    for line in (
        '"GET /login HTTP/1.1" 200',
        '"GET /c/42 HTTP/1.1" 200',
        '"GET /assets/missing.js HTTP/1.1" 404',
    ):
        assert line in access, access
    assert '"GET /_event/ HTTP/1.1" 502' in access and '"POST /_upload HTTP/1.1" 502' in access, access
    assert not logs.get("distro.log"), "the main configuration's access log got this site's requests"
    # The error log is on (the upload's failure is there), but holds nothing of the socket.
    assert re.search(r"\[error\].*request: \"POST /_upload HTTP/1.1\"", logs["error.log"]), logs["error.log"]
    assert "/_event" not in logs["error.log"], logs["error.log"]


def _login_token(tab: ReflexClient) -> str | None:
    """The login token the server handed the tab (what the browser keeps in localStorage)."""
    for update in tab.updates:
        for substate in (update.get("delta") or {}).values():
            for key, value in substate.items():
                if key.startswith("auth_token") and value:
                    return value
    return None


def _chat_values(tab: ReflexClient, var: str) -> list:
    """Every value the tab received for a var of the chat state, in order."""
    return [
        value
        for update in tab.updates
        for key, value in ((update.get("delta") or {}).get(CHAT_STATE) or {}).items()
        if key.startswith(var)
    ]


def _bodies(tab: ReflexClient) -> set[str]:
    return {message["body"] for message in _chat_values(tab, "message_map.") if message}


def _read_logs(paths: list[Path]) -> dict[str, str]:
    return {str(path): path.read_text(errors="replace") for path in paths if path.is_file()}


def _flat(text: str) -> str:
    """The text with whitespace runs made one space: Reflex's console wraps long lines."""
    return " ".join(text.split())


@pytest.mark.integration
@pytest.mark.hostile_client
def test_a_session_with_malformed_events_leaves_no_token_in_any_log(proxy, backend, workdir):
    a, b = backend.users
    tokens: dict[str, str] = {}

    async def session() -> None:
        tab_a = ReflexClient(proxy.url)  # logs in with the form, as a person does
        await tab_a.connect()
        await tab_a.load("/login")
        await tab_a.emit(
            f"{AUTH_FORM_STATE}.log_in",
            {"form_data": {"username": a.username, "password": PASSWORD}},
            path="/login",
        )
        await tab_a.wait_for(lambda: _login_token(tab_a) is not None)
        tab_a.auth_token = _login_token(tab_a)
        await tab_a.load("/")
        await tab_a.wait_for(lambda: any(_chat_values(tab_a, "conversation_rows.")))
        cid = _chat_values(tab_a, "conversation_rows.")[-1]["id"]
        path = f"/c/{cid}"
        await tab_a.load(path)
        tab_b = ReflexClient(proxy.url, b.auth_token)  # a browser that was logged in already
        await tab_b.connect(load_path=path)
        await tab_b.wait_for(lambda: tab_b.hydrated)
        tokens.update(
            {
                "a's client token": tab_a.token,
                "b's client token": tab_b.token,
                "a's login token": tab_a.auth_token,
                "b's login token": b.auth_token,
                "the password": PASSWORD,
            }
        )

        await tab_a.emit(f"{CHAT_STATE}.send_message", {"body": "hello b", "key": os.urandom(12).hex()}, path)
        await tab_b.wait_for(lambda: "hello b" in _bodies(tab_b))

        # Malformed events, each one a line of Reflex's: an unknown handler ("Error
        # processing event queue entry for Event(...)", the payload and the tab's router
        # data with its token), a dict without a name ("Failed to deserialize event
        # data: {...}"), a raw string ("Event data: ..."), a list ("but received [...]").
        hydrate_like = {
            "vars": {f"{SESSION_STATE}.auth_token": tab_a.auth_token},
            "form_data": {"password": PASSWORD, "token": tab_a.token},
        }
        await tab_a.emit(f"{ROOT_STATE}.no_such_handler", hydrate_like, path)
        await tab_a.sio.emit("event", {"payload": hydrate_like, "router_data": {"pathname": path}}, NAMESPACE)
        await tab_a.sio.emit("event", f"not json {tab_a.auth_token} {tab_a.token}", NAMESPACE)
        await tab_a.sio.emit("event", [tab_a.auth_token, tab_a.token, PASSWORD], NAMESPACE)

        # The session goes on; its events are handled in order, so the ones above were too.
        await tab_b.emit(f"{CHAT_STATE}.send_message", {"body": "hello a", "key": os.urandom(12).hex()}, path)
        await tab_a.wait_for(lambda: "hello a" in _bodies(tab_a))
        await tab_a.disconnect()
        await tab_b.disconnect()

    run_async(session())

    # Reflex wrote its lines about the malformed events (its console may lag behind the
    # session): without them the search below would prove nothing.
    phrases = [
        "Error processing event queue entry for Event(name='reflex___state____state.no_such_handler'",
        "Failed to deserialize event data: ",
        "Received event data as a string.",
        "Event data must be a dictionary, but received ",
    ]
    deadline = time.monotonic() + 15
    while True:
        app_log = _flat(backend.log.read_text(errors="replace"))
        missing = [phrase for phrase in phrases if phrase not in app_log]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not missing, f"not in the app's log: {missing}\n{app_log[-4000:]}"

    # nginx writes a websocket's line when it closes, which may come a moment after the
    # client's disconnect returned: every line must be there before the logs are read.
    deadline = time.monotonic() + 10
    while (
        len(re.findall(r'"GET /_event/ HTTP/1\.1" 101 ', proxy.access_log)) < 2
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    logs = _read_logs([*workdir.glob("*.log"), *proxy.run_dir.glob("logs/*.log")])
    assert {"access.log", "error.log", "backend.log", "nginx.log"} <= {Path(p).name for p in logs}, (
        logs.keys()
    )
    for name, text in logs.items():
        squeezed = re.sub(r"\s+", "", text)  # a token folded across lines is still found
        for what, secret in tokens.items():
            assert secret not in text and re.sub(r"\s+", "", secret) not in squeezed, f"{what} is in {name}"

    # ... because they were redacted, each to its shape.
    for line in (
        "Error processing event queue entry for Event(name='reflex___state____state.no_such_handler', "
        "router_data=<redacted dict",
        "payload=<redacted dict: 2 keys (vars, form_data)",
        "Failed to deserialize event data: <redacted dict: 2 keys (payload, router_data)",
        "Event data: <redacted text",
        "must be a dictionary, but received <redacted list: 3 items",
    ):
        assert line in app_log, f"{line!r} is not in the app's log:\n{app_log[-4000:]}"
    # The tabs' sockets went through nginx and were logged there, without their query.
    assert len(re.findall(r'"GET /_event/ HTTP/1\.1" 101 ', proxy.access_log)) >= 2, proxy.access_log[-2000:]
