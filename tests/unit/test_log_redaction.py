"""chatapp.log_redaction: tokens, payloads and request data never reach a log line.

The texts are the ones Reflex, python-socketio and Granian write (their f-strings and
`%` formats, with a real `reflex_base.event.Event`), and the sinks are Reflex's own.
"""

from __future__ import annotations

import io
import json
import logging
import logging.config
import random
import secrets
import string
import time
import uuid

import pytest
from reflex_base.event import Event
from reflex_base.utils.log import JsonHandler, RichConsoleHandler

from chatapp import log_redaction
from chatapp.log_redaction import RedactionFilter, install, redact, redact_record

URL_SAFE = string.ascii_letters + string.digits + "-_"
PASSWORD = "correct horse battery"
STATE = "reflex___state____state"
SESSION_STATE = f"{STATE}.chatapp___states___session____session_state"


def _tokens() -> tuple[str, str]:
    """A tab's client token (a UUID, as the browser makes it) and a login token."""
    return str(uuid.uuid4()), secrets.token_urlsafe(32)


def _event(client_token: str, login_token: str) -> Event:
    """The event Reflex builds for a hydrate sent to a handler that does not exist."""
    return Event(
        name=f"{STATE}.no_such_handler",
        router_data={
            "pathname": "/c/1",
            "query": {},
            "token": client_token,
            "sid": "Zm9vYmFyYmF6cXV4MTIz",
            "headers": {
                "host": "chat.example.com",
                "cookie": f"s={login_token}",
                "x-forwarded-for": "10.0.0.1",
            },
            "ip": "10.0.0.1",
        },
        payload={"vars": {f"{SESSION_STATE}.auth_token": login_token}, "form_data": {"password": PASSWORD}},
    )


@pytest.fixture
def installed():
    """install() for one test; the process's record factory as it was afterwards."""
    before = logging.getLogRecordFactory()
    install()
    yield
    logging.setLogRecordFactory(before)


def _record(msg: object, *args: object, exc_info=None, name: str = "reflex.app") -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args or None, exc_info)


def test_client_and_login_tokens_are_redacted_wherever_they_stand():
    client_token, login_token = _tokens()
    texts = [
        f"Attempting to send delta to disconnected client {client_token!r}",
        f"Lock for token {client_token}_{SESSION_STATE} was held too long",  # a Redis key
        f"GET /_event/?EIO=4&transport=websocket&token={client_token} HTTP/1.1",
        f"login {login_token}.",
        f"({login_token})",
        f"{uuid.uuid4().hex} and {secrets.token_hex(32)}",  # hex tokens and digests
    ]
    for text in texts:
        redacted = redact(text)
        assert client_token not in redacted and login_token not in redacted, redacted
        assert "<redacted:" in redacted, redacted
    assert "uuid" not in redact(texts[-1]) and len(redact(texts[-1]).split("<redacted:")) == 3


def test_random_tokens_are_all_caught():
    # Seeded, so the test is the same on every run: 2,000 login tokens of each length the
    # app or a library makes (43 characters: token_urlsafe(32), the app's login token).
    rng = random.Random(20261202)
    for length in (43, 64):
        for _ in range(2000):
            token = "".join(rng.choices(URL_SAFE, k=length))
            assert token not in redact(f"token {token} seen"), token
    for _ in range(2000):
        token = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        assert token not in redact(f"client {token}"), token


def test_names_paths_and_words_are_left_as_they_are():
    text = (
        f"Error in {SESSION_STATE}.chatapp___states___app_state____app_state.handle_presence_changed\n"
        '  File "/work/main/.venv/lib/python3.11/site-packages/reflex_base/event/processor/'
        'event_processor.py", line 882, in _process_queue\n'
        "reflex.utils.exceptions.EventDeserializationError: default_backend_exception_handler "
        "HTTP_X_FORWARDED_FOR WebSocketClosedError isNotNullOrUndefined REFLEX_ENABLE_FULL_LOGGING "
        "2026-12-02_11-39-38_893 presence_map.12345 on 127.0.0.1:8000 after 1234567890123456789012 ms"
    )
    assert redact(text) == text


def test_the_same_token_gets_the_same_mark_and_another_token_another():
    first, second = _tokens()
    a, b, c = (redact(f"tab {t}").removeprefix("tab ") for t in (first, first, second))
    assert a == b != c
    assert a.startswith("<redacted:") and first not in a


def test_an_events_payload_and_router_data_become_their_shape_and_its_name_stays():
    client_token, login_token = _tokens()
    event = _event(client_token, login_token)
    line = redact(f"Error processing event queue entry for {event} [txid={uuid.uuid4()}]:")
    assert line.startswith(f"Error processing event queue entry for Event(name='{STATE}.no_such_handler', ")
    assert "router_data=<redacted dict: 6 keys (pathname, query, token, sid, headers, ip), " in line
    assert "payload=<redacted dict: 2 keys (vars, form_data), " in line
    for secret in (client_token, login_token, PASSWORD, "chat.example.com", "10.0.0.1", "cookie"):
        assert secret not in line, secret


def test_event_data_reflex_quotes_becomes_its_shape():
    client_token, login_token = _tokens()
    fields = {
        "name": f"{STATE}.hydrate",
        "payload": {"token": login_token},
        "router_data": {"x": client_token},
    }
    cases = {
        f"Failed to deserialize event data: {fields}.": (
            f"Failed to deserialize event data: <redacted dict: 3 keys (name='{STATE}.hydrate', payload, "
            "router_data), "
        ),
        f"Received event data as a string. Event data: my {login_token} and {PASSWORD}": (
            "Received event data as a string. Event data: <redacted text: "
        ),
        f"Failed to deserialize event data: not json {PASSWORD}.\nNext line": (
            "Failed to deserialize event data: <redacted text: 30 chars>.\nNext line"
        ),
        f"Event data must be a dictionary, but received {[login_token, PASSWORD]} of type <class 'list'>.": (
            "Event data must be a dictionary, but received <redacted list: 2 items, "
        ),
        # The JSON socket.io packets python-engineio logs when its logger is on.
        f'Received packet MESSAGE data 2["event",{json.dumps(fields)}]': (
            f'Received packet MESSAGE data 2["event",{{"name": "{STATE}.hydrate", '
            '"payload": <redacted dict: 1 keys'
        ),
    }
    for text, expected in cases.items():
        redacted = redact(text)
        assert expected in redacted, redacted
        for secret in (client_token, login_token, PASSWORD):
            assert secret not in redacted, (secret, redacted)


def test_values_of_secret_keys_and_token_parameters_are_redacted_however_short():
    cases = [
        "{'auth_token': 'xyz'}",
        '{"password": "hunter2"}',
        "SessionData(client_token='xyz', client_ip='1.2.3.4')",
        "headers cookie='s=xyz'",
        "GET /_upload?x=1&token=xyz&y=2",
        "authorization: 'Bearer xyz'",
    ]
    # The secret holds letters no hex digest has: a redaction's digest ("<redacted:6abc0909>")
    # once contained "abc", the secret this test used before.
    for text in cases:
        redacted = redact(text)
        assert "xyz" not in redacted and "hunter2" not in redacted, redacted
        assert "<redacted:" in redacted, redacted
    assert "client_ip='1.2.3.4'" in redact(cases[2])  # only the secret goes
    assert redact(cases[4]).endswith("&y=2")


def test_redacting_twice_changes_nothing():
    client_token, login_token = _tokens()
    text = (
        f"Error processing event queue entry for {_event(client_token, login_token)}\n"
        f"Failed to deserialize event data: raw {login_token}.\n"
        f"{{'token': '{client_token}'}} token={login_token}"
    )
    once = redact(text)
    assert redact(once) == once
    assert client_token not in once and login_token not in once


def test_a_value_that_does_not_end_is_cut_at_the_end_of_its_line():
    _, login_token = _tokens()
    redacted = redact(
        f"Event(payload={{'vars': {{'t': '{login_token} and more\nnext line payload='{PASSWORD}"
    )
    line, next_line = redacted.split("\n")
    assert line == f"Event(payload=<redacted text: {len(login_token) + 25} chars>"
    assert next_line == f"next line payload=<redacted text: {len(PASSWORD) + 1} chars>"


def test_hostile_text_takes_linear_time():
    """Reflex logs whole events, up to its socket's message size (megabytes): text that
    makes a pattern backtrack or rescan would stall the server's event loop."""
    texts = [
        "x " + "token" * 200_000 + " y",  # a key name without end
        "payload={ " * 100_000,  # literals that never close
        "payload=Foo( " * 100_000,
        "headers: x " * 100_000,  # many markers, no structure
        ("Event data: " + "a" * 10 + "\n") * 50_000,
        "'token': '" + "a" * 1_000_000,  # a string that never closes
        "payload=" + "[" * 100_000 + "]" * 100_000,
        "abc_def-" * 100_000,
    ]
    for text in texts:
        start = time.perf_counter()
        redact(text)
        # Linear: well under a second here; the quadratic versions took minutes.
        assert time.perf_counter() - start < 5, text[:40]


def test_a_record_is_redacted_with_its_arguments_its_traceback_and_its_stack():
    client_token, login_token = _tokens()
    event = _event(client_token, login_token)
    try:
        raise ValueError(f"Failed to deserialize event data: {event.payload}.")
    except ValueError as error:
        exc_info = (type(error), error, error.__traceback__)
    record = _record(
        "Error processing event queue entry for %s [token=%s]:", event, client_token, exc_info=exc_info
    )
    record.stack_info = f"Stack (most recent call last):\n  token {login_token}"
    redact_record(record)
    assert record.args == () and record.exc_info is None and record.exc_text is None
    message = record.getMessage()
    assert message.startswith("Error processing event queue entry for Event(")
    assert "Traceback (most recent call last):" in message and "payload=<redacted dict" in message
    assert "ValueError: Failed to deserialize event data: <redacted dict: 2 keys (vars, form_data)" in message
    formatted = logging.Formatter("%(message)s").format(record)
    for secret in (client_token, login_token, PASSWORD):
        assert secret not in formatted and secret not in record.stack_info, secret
    assert redact_record(record).getMessage() == message  # once is enough


def test_mapping_arguments_and_arguments_that_do_not_fit_are_redacted_too():
    client_token, _ = _tokens()
    # Granian's access log: one mapping argument.
    granian = logging.LogRecord(
        "granian.access",
        logging.INFO,
        __file__,
        1,
        '"%(method)s %(path)s?%(query_string)s"',
        ({"method": "GET", "path": "/_event/", "query_string": f"EIO=4&token={client_token}"},),
        None,
    )
    assert redact_record(granian).getMessage().startswith('"GET /_event/?EIO=4&token=<redacted:')
    # Too few arguments: logging's own error report would print them as they are.
    broken = redact_record(_record("two %s %s", client_token))
    assert "two %s %s (arguments: (" in broken.getMessage()
    assert client_token not in broken.getMessage()


def test_reflexs_console_and_json_sinks_print_no_secret_of_a_logged_exception(capsys):
    """Reflex's sinks format `exc_info` themselves: it must be gone from the record."""
    client_token, login_token = _tokens()
    for handler in (RichConsoleHandler(), JsonHandler()):
        try:
            raise KeyError(f"No registered handler found for event: {login_token} {client_token}")
        except KeyError as error:
            record = _record(
                "Error processing event queue entry", exc_info=(KeyError, error, error.__traceback__)
            )
        handler.handle(RedactionFilter().filter(record) and record)
        out = "".join(capsys.readouterr())
        assert "No registered handler found for event: <redacted:" in out
        assert client_token not in out and login_token not in out


def test_install_redacts_every_record_whatever_logger_and_handler(installed, capsys):
    client_token, login_token = _tokens()
    stream = io.StringIO()
    # A sink attached after install() on a parent logger, the way Reflex attaches its own
    # to `reflex`; the record comes from a child logger and propagates (a filter on the
    # parent logger would not see it).
    parent = logging.getLogger(f"chatapp_test_{uuid.uuid4().hex[:8]}")
    parent.propagate = False
    parent.addHandler(logging.StreamHandler(stream))
    parent.getChild("app").error("disconnected client %r", client_token)
    # A handler configured later with dictConfig, the way Granian's workers set theirs.
    name = f"granian_test_{uuid.uuid4().hex[:8]}"
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {"h": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}},
            "loggers": {name: {"handlers": ["h"], "level": "INFO", "propagate": False}},
        }
    )
    logging.getLogger(name).info("GET /_event/?token=%s", client_token)
    # An exception logged through a logger with its own handler (python-engineio's way).
    try:
        raise ValueError(f"Failed to deserialize event data: {{'payload': {{'t': '{login_token}'}}}}.")
    except ValueError:
        parent.getChild("engineio").exception("message async handler error")
    out = stream.getvalue() + capsys.readouterr().err
    for line in (
        "disconnected client '<redacted:",
        "GET /_event/?token=<redacted:",
        "ValueError: Failed to deserialize event data: <redacted dict: 1 keys (payload)",
    ):
        assert line in out, out
    assert client_token not in out and login_token not in out


def test_install_twice_wraps_the_record_factory_once(installed):
    factory = logging.getLogRecordFactory()
    install()
    assert logging.getLogRecordFactory() is factory
    assert getattr(factory, log_redaction._FACTORY_ATTR)
    client_token, _ = _tokens()
    record = factory("x", logging.WARNING, __file__, 1, "client %s", (client_token,), None)
    assert record.args == () and client_token not in record.getMessage()
