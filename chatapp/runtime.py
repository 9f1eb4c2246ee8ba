"""What the running server has, for event handlers: the presence service and the push API.

Set once by the composition root (`chatapp.wiring`) when the server starts, cleared when
it stops. States read it; nothing below the states imports it, so no layer reaches up.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from chatapp.background import Deadlines
from chatapp.delivery import Push
from chatapp.presence.service import PresenceService


@dataclass(frozen=True)
class Runtime:
    """The running parts of this process.

    Attributes:
        presence: Decides and publishes presence.
        push: Delivers changes into users' tabs.
        loop: The server's event loop (tests reach it from their own thread).
        ends: Timers for ends the server keeps (a custom status, a login), by key.
    """

    presence: PresenceService
    push: Push
    loop: asyncio.AbstractEventLoop
    ends: Deadlines


_current: Runtime | None = None


def current() -> Runtime:
    """The running parts.

    Raises:
        RuntimeError: Outside a running server.
    """
    if _current is None:
        msg = "the app is not running (chatapp.wiring starts it)"
        raise RuntimeError(msg)
    return _current


def running() -> Runtime | None:
    """The running parts, or None outside a running server (a unit test)."""
    return _current


def presence() -> PresenceService:
    """The presence service of this process."""
    return current().presence


def push() -> Push:
    """The push API of this process."""
    return current().push


def ends() -> Deadlines:
    """The timers of this process for ends the server keeps."""
    return current().ends


def started(runtime: Runtime | None) -> None:
    """Set (or, with None, clear) the running parts: for `chatapp.wiring` only."""
    global _current
    _current = runtime
