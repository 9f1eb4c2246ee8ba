"""No secrets in the logs: tokens, event payloads and request data are redacted from every
log record of the process, the app's, Reflex's, socket.io's and Granian's alike.

What would leak without it. A tab's client token keys its state on the server and
travels in its websocket URL (`/_event/?...&token=...`); the login token lives in the
browser's localStorage (`_auth_token`) and reaches the server in event payloads (every
page's hydrate sends it). Reflex puts both into its logs: "Error processing event queue
entry for Event(name=..., router_data={... 'token': ..., 'headers': {... 'cookie': ...}},
payload={...})", "Failed to deserialize event data: {...}" (in the traceback socket.io
logs), "Received event data as a string ... Event data: ...", "Attempting to send delta
to disconnected client '...'", Redis keys made of the token. A payload can also carry a
password (the login form) or a message.

What is redacted, in the message (with its arguments), in the traceback and in the stack
of each record:

- Structures: the value of a `payload`, `router_data` or `headers` field (Python reprs,
  keyword or dict style, and JSON) and the event data Reflex quotes after "event data:"
  and "but received" become their shape: `<redacted dict: 2 keys (form_data, vars),
  118 chars>`. An event's data keeps its handler name.
- Values of sensitive keys (`token`, `auth_token`, `client_token`, `password`, `cookie`,
  `authorization`, `secret`, `session_id`...) and `token=` query parameters.
- Anything that looks like a token, wherever it stands: UUIDs, runs of 32 or more hex
  digits (digests, `uuid4().hex`, `token_hex`), and runs of 20 or more URL-safe
  characters that mix character classes like random text (`token_urlsafe`), but not
  like names (`chatapp___states___app_state`, `EventDeserializationError`).

A token becomes `<redacted:1a2b3c4d>`: a keyed digest, the key random per process, so
lines of one process about the same token can be matched without revealing it.

Where: `install()` makes every log record of the process redacted as it is created
(`logging.setLogRecordFactory`), before any logger or handler sees it. Filters on
loggers would miss records propagating from child loggers (Reflex's sinks hang on the
`reflex` logger, its records come from `reflex.app`, `reflex_base.event...`), and filters
on handlers would miss the handlers made after start: Reflex attaches its console, JSON
and file sinks when it configures itself, python-engineio adds a stream handler when the
socket server is made, Granian's workers replace theirs with `dictConfig`. A traceback
is redacted into the message itself (`exc_info` cleared): Reflex's console and JSON sinks
format `exc_info` themselves and would print the original.

Not covered: output that is not a log record (`print`, `sys.excepthook`'s report of an
uncaught exception, Node or Granian's Rust code writing to stderr by themselves).
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable

__all__ = ["RedactionFilter", "install", "redact", "redact_record"]

# Per process: the same token gives the same mark in one process's lines, and a mark
# cannot be checked against a guessed token without the key.
_KEY = secrets.token_bytes(16)
_MARK_ATTR = "_chatapp_redacted"
_FACTORY_ATTR = "_chatapp_redacts"
_EXC_FORMATTER = logging.Formatter()

# Every pattern below runs on text a client chose (Reflex logs whole events): each is
# linear in the text, with possessive repetition where backtracking could multiply.
#
# Where a structure starts: a field whose whole value is replaced by its shape, or the
# data of an event Reflex refused (up to the end of the line when it is not a literal: a
# raw string sent as the event). One pattern, so that each search moves forward.
_MARKER_RE = re.compile(
    r"""(?P<structure>(?P<quote>['"]?)\b(?:payload|router_data|headers)(?P=quote)\s*+[:=]\s*+)"""
    r"|(?P<event_data>[Ee]vent data: |(?P<received>must be a dictionary, but received ))"
)
# A key and its quoted value (Python reprs, keyword or dict style, and JSON); the value is
# a secret when the key names one.
_KEY_VALUE_RE = re.compile(
    r"""(?P<quote>['"]?+)\b(?P<key>[A-Za-z_]++)(?P=quote)(?P<sep>\s*+[:=]\s*+)"""
    r"""(?P<value>b?'(?:\\.|[^'\\\n])*+'|b?"(?:\\.|[^"\\\n])*+")"""
)
# key=value in a URL or a query string (unquoted).
_PARAMETER_RE = re.compile(r"""\b(?P<key>[A-Za-z_]++)=(?P<value>[^&\s'"<>#,;)\]}]++)""")
_SECRET_KEY_RE = re.compile(r"token|password|passwd|secret|cookie|authorization|session_?id", re.IGNORECASE)
_CALL_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,200}+\(")
# What a structured value starts with: a bracket, a (bytes) string, a call.
_LITERAL_START_RE = re.compile(r"""[{\[(]|[bB]?['"]|[A-Za-z_][A-Za-z0-9_.]{0,200}+\(""")
# Larger literals are measured, not parsed.
_MAX_PARSED = 64 * 1024
_UUID_RE = re.compile(
    r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?![0-9A-Fa-f])"
)
_HEX_RE = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{32,}(?![0-9A-Za-z])")
_RUN_RE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{20,}(?![A-Za-z0-9_-])")
_MARKED_RE = re.compile(r"<redacted[^<>\n]*>")
_SAFE_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
_HANDLER_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_CLOSING = {"{": "}", "[": "]", "(": ")"}
# The words of a name: an acronym, a (capitalised) word, a number ("HTTPServer2Id" is
# HTTP, Server, 2, Id). One pass, no nested repetition: hostile input cannot make it slow.
_WORD_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_SEGMENT_SPLIT_RE = re.compile(r"[_-]+")
# How many words of one or two letters inside camel-case segments a name may have
# ("IsOrIsNot..." has 3). Measured with the rule below on 100,000 token_urlsafe tokens
# of each length: none of 43 characters (the login token) passes for a name, 10 of 32
# characters, 0.5 % of 20 characters. Of the 7,428 runs of 20 or more characters in the
# sources of Reflex, socket.io, Granian, SQLAlchemy, pydantic, Starlette and the app,
# 0.8 % are taken for tokens: names with a digit inside a word (Psycopg2DateTimeRange),
# and real tokens and hashes; 5 of the 2,249 in Reflex, socket.io, Granian and the app.
_MAX_SHORT_WORDS = 2
_SHOWN_KEYS = 8


def _mark(secret: str) -> str:
    digest = hmac.new(_KEY, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return f"<redacted:{digest[:8]}>"


def _looks_random(run: str) -> bool:
    """Whether a run of URL-safe characters looks like a random token rather than a name.

    A name is made of words: each part between "_" or "-" is camel-case words with a
    number at most at its end, and few of its words have one or two letters. Random text
    has digits amid letters and case changing every few characters.
    """
    short_words = 0
    for segment in _SEGMENT_SPLIT_RE.split(run):
        words = _WORD_RE.findall(segment)
        if any(word.isdigit() for word in words[:-1]):
            return True
        if len(words) > 1:
            short_words += sum(1 for word in words if len(word) <= 2 and not word.isdigit())
    return short_words > _MAX_SHORT_WORDS


def _string_end(text: str, start: int) -> int | None:
    """Index just past the quoted string literal starting at `start` (None: unterminated)."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == quote:
            return i + 1
        if char == "\n":
            return None
        i += 1
    return None


def _literal_end(text: str, start: int) -> int | None:
    """Index just past the bracketed literal or call starting at `start` (None: it does not
    end on its line; a repr or JSON text takes one line, its strings escape their newlines)."""
    stack: list[str] = []
    i = start
    while i < len(text):
        char = text[i]
        if char == "\n":
            return None
        if char in "'\"":
            end = _string_end(text, i)
            if end is None:
                return None
            i = end
            continue
        if char in _CLOSING:
            stack.append(_CLOSING[char])
        elif char in ")]}":
            if not stack or stack.pop() != char:
                return None
            if not stack:
                return i + 1
        i += 1
    return None


def _value_end(text: str, start: int) -> int | None:
    """Index just past the value (a literal, a string or a call) at `start`, None if it is
    none of these or does not end."""
    if start >= len(text):
        return None
    char = text[start]
    if char in _CLOSING:
        return _literal_end(text, start)
    prefix = 1 if char in "bB" and text[start + 1 : start + 2] in ("'", '"') else 0
    if text[start + prefix : start + prefix + 1] in ("'", '"'):
        return _string_end(text, start + prefix)
    call = _CALL_RE.match(text, start)
    if call:
        return _literal_end(text, call.end() - 1)
    return None


def _is_name(text: str) -> bool:
    """Whether no token pattern matches in the text."""
    return _replace_patterns(text) == text


def _parse(literal: str) -> object:
    if len(literal) > _MAX_PARSED:
        return None
    for parse in (ast.literal_eval, json.loads):
        try:
            return parse(literal)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return None


def _shape(literal: str, *, keep_name: bool = False) -> str:
    """What replaces a structure: its type, its top-level keys (the names only) and its size."""
    value = _parse(literal)
    size = f"{len(literal)} chars"
    if isinstance(value, dict):
        # Names only, and only names: a client chooses the keys too, and a key can be a token.
        keys = [k for k in value if isinstance(k, str) and _SAFE_KEY_RE.fullmatch(k) and _is_name(k)]
        name = value.get("name")
        if keep_name and isinstance(name, str) and _HANDLER_NAME_RE.fullmatch(name) and _is_name(name):
            keys = [f"name={name!r}" if k == "name" else k for k in keys]
        shown = ", ".join(keys[:_SHOWN_KEYS]) + (", ..." if len(keys) > _SHOWN_KEYS else "")
        return f"<redacted dict: {len(value)} keys ({shown}), {size}>"
    if isinstance(value, list | tuple | set):
        return f"<redacted {type(value).__name__}: {len(value)} items, {size}>"
    if value is not None:
        return f"<redacted {type(value).__name__}: {size}>"
    kind = {"{": "dict", "[": "list", "(": "tuple"}.get(literal[:1], "value")
    if literal[:1] not in "{[('\"":
        kind = literal.split("(", 1)[0]  # a call: the class name of the object
    return f"<redacted {kind}: {size}>"


def _replace_structures(text: str) -> str:
    out: list[str] = []
    pos = 0
    while found := _MARKER_RE.search(text, pos):
        start = found.end()
        out.append(text[pos:start])
        pos = start
        if text.startswith("<redacted", start):  # already done (a record redacted twice)
            continue
        end = _value_end(text, start)
        if end is not None:
            out.append(_shape(text[start:end], keep_name=bool(found.group("event_data"))))
            pos = end
            continue
        if found.group("structure") and not _LITERAL_START_RE.match(text, start):
            continue  # a scalar (None, a number): nothing to hide beyond the patterns
        # Not a literal, or one that does not end: up to the end of the line (a raw string
        # a client sent as the event: "Failed to deserialize event data: <it>.", the
        # sentence's full stop kept).
        line_end = text.find("\n", start)
        raw = text[start : len(text) if line_end < 0 else line_end]
        of_type = raw.rfind(" of type ")
        if found.group("received") and of_type >= 0:
            raw = raw[:of_type]
        elif raw.endswith("."):
            raw = raw[:-1]
        out.append(f"<redacted text: {len(raw)} chars>")
        pos = start + len(raw)
    out.append(text[pos:])
    return "".join(out)


def _replace_secret_value(match: re.Match[str]) -> str:
    value = match.group("value")
    if not _SECRET_KEY_RE.search(match.group("key")) or "<redacted" in value:
        return match.group(0)
    quote = value[-1]
    value = f"{quote}{_mark(value[value.index(quote) + 1 : -1])}{quote}"
    return f"{match.group('quote')}{match.group('key')}{match.group('quote')}{match.group('sep')}{value}"


def _replace_parameter(match: re.Match[str]) -> str:
    if not _SECRET_KEY_RE.search(match.group("key")):
        return match.group(0)
    return f"{match.group('key')}={_mark(match.group('value'))}"


def _replace_token(match: re.Match[str]) -> str:
    return _mark(match.group(0))


def _replace_run(match: re.Match[str]) -> str:
    run = match.group(0)
    return _mark(run) if _looks_random(run) else run


def _outside_marks(text: str, replace: Callable[[str], str]) -> str:
    """Apply `replace` to the text between the marks already placed, not to the marks."""
    parts = []
    pos = 0
    for mark in _MARKED_RE.finditer(text):
        parts.append(replace(text[pos : mark.start()]))
        parts.append(mark.group(0))
        pos = mark.end()
    parts.append(replace(text[pos:]))
    return "".join(parts)


def _replace_patterns(text: str) -> str:
    text = _UUID_RE.sub(_replace_token, text)
    text = _HEX_RE.sub(_replace_token, text)
    return _RUN_RE.sub(_replace_run, text)


def redact(text: str) -> str:
    """The text with every secret it holds replaced (see the module's docstring).

    Idempotent: redacting a redacted text changes nothing.
    """
    if not text:
        return text
    text = _replace_structures(text)
    text = _KEY_VALUE_RE.sub(_replace_secret_value, text)
    text = _PARAMETER_RE.sub(_replace_parameter, text)
    return _outside_marks(text, _replace_patterns)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact a record in place: its message with its arguments, its traceback, its stack.

    The arguments are formatted into the message (`args` emptied), and the traceback is
    formatted, redacted and appended to the message (`exc_info` and `exc_text` cleared),
    so that no handler can format the original again. Idempotent.

    Returns:
        The same record.
    """
    if (
        getattr(record, _MARK_ATTR, None) is record.msg
        and not record.args
        and not record.exc_info
        and not record.exc_text
    ):
        return record
    try:
        message = record.getMessage()
    except Exception:  # arguments that do not fit: logging would print them raw
        message = f"{record.msg!s} (arguments: {record.args!r})"
    parts = [message]
    if record.exc_info and record.exc_info[0] is not None:
        parts.append(_EXC_FORMATTER.formatException(record.exc_info))
    elif record.exc_text:
        parts.append(record.exc_text)
    record.msg = redact("\n".join(parts))
    record.args = ()
    record.exc_info = None
    record.exc_text = None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    setattr(record, _MARK_ATTR, record.msg)
    return record


class RedactionFilter(logging.Filter):
    """A logging filter that redacts each record it sees (and drops none).

    `install()` does not need it: it redacts every record of the process as it is made.
    For a handler of records made elsewhere (a log server, a queue listener).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install() -> None:
    """Redact every log record of this process from now on. Idempotent.

    Wraps the log record factory, so that a record is redacted before any logger or
    handler sees it, whichever logger made it and whichever handlers are attached later.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, _FACTORY_ATTR, False):
        return

    def redacting_factory(*args: object, **kwargs: object) -> logging.LogRecord:
        return redact_record(current(*args, **kwargs))

    setattr(redacting_factory, _FACTORY_ATTR, True)
    logging.setLogRecordFactory(redacting_factory)
