"""Password hashing, one at a time per process, off the event loop, behind a short queue.

bcrypt costs a quarter of a second of a core per check, on purpose. A flood of 10 log-in
attempts a second from many addresses (each trying a username of its own, which no
per-username or per-address throttle catches) asked for more than this 2-core machine has,
and everyone's messages waited seconds behind it (docs/login-flood.md). So checks run
in a worker thread one at a time, leaving the event loop a core, and at most `QUEUE` more
wait their turn; beyond that a request is refused at once, and the person is asked to try
again in a moment.

Admission comes first and is separate from the check (`admitted`), so that a caller can
refuse a request before counting it anywhere: a login refused because the server is busy
must not count as an attempt in the login throttle.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from chatapp.services.errors import ChatError

T = TypeVar("T")

# Checks waiting for the one running: about two seconds of work at most.
QUEUE = 8


class Busy(ChatError):
    """Too many password checks are waiting; nothing was done."""

    def __init__(self) -> None:
        super().__init__("Many people are logging in right now. Try again in a few seconds.")


class _Gate:
    """The turn and the admissions of one event loop (a process has one; tests make several)."""

    def __init__(self) -> None:
        self.turn = asyncio.Lock()
        self.admitted = 0


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate] = weakref.WeakKeyDictionary()


class Admission:
    """A place in the queue: `run` waits for the turn and checks."""

    def __init__(self, gate: _Gate) -> None:
        self._gate = gate

    async def run(self, check: Callable[..., T], *args: object) -> T:
        """Run `check(*args)` (a password hash or check) in a worker thread, in turn."""
        async with self._gate.turn:
            return await asyncio.to_thread(check, *args)


@contextlib.asynccontextmanager
async def admitted() -> AsyncIterator[Admission]:
    """A place among the checks running or waiting (at most one running, `QUEUE` waiting).

    Raises:
        Busy: At once, when the queue is full; nothing was done.
    """
    gate = _gates.setdefault(asyncio.get_running_loop(), _Gate())
    if gate.admitted > QUEUE:
        raise Busy
    gate.admitted += 1
    try:
        yield Admission(gate)
    finally:
        gate.admitted -= 1


async def run(check: Callable[..., T], *args: object) -> T:
    """`check(*args)` in turn, admitted at once or refused.

    Raises:
        Busy: The queue is full.
    """
    async with admitted() as admission:
        return await admission.run(check, *args)
