"""Password hashing, one at a time per process, off the event loop, behind short queues.

bcrypt costs a quarter of a second of a core per check, on purpose. A flood of log-in
attempts from many addresses (each trying a username of its own, which no per-username or
per-address throttle catches) asked for more than a 2-core machine has, and everyone's
messages waited seconds behind it (docs/login-flood.md). So checks run in a worker thread
one at a time, leaving the event loop a core, and at most `QUEUE` more wait their turn;
beyond that a request is refused at once, and the person is asked to try again in a moment.

A full queue must not keep out the people who use the app: a request marked `known` (a
log-in from a username and address that logged in successfully before, or a signed-in
user's own request) waits in a lane of its own, `KNOWN_QUEUE` long, and goes before every
stranger waiting. A flood fills the strangers' lane only.

Admission comes first and is separate from the check (`admitted`), so that a caller can
refuse a request before counting it anywhere: a login refused because the server is busy
must not count as an attempt in the login throttle.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from chatapp.services.errors import ChatError

T = TypeVar("T")

# Checks waiting for the one running, in each lane: about two seconds of work each.
QUEUE = 8
KNOWN_QUEUE = 8


class Busy(ChatError):
    """Too many password checks are waiting; nothing was done."""

    def __init__(self) -> None:
        super().__init__("Many people are logging in right now. Try again in a few seconds.")


class _Gate:
    """The turn and the two lanes of one event loop (a process has one; tests make several).

    The turn is handed from one check to the next waiting one, known lane first, so a
    stranger can never slip in between.
    """

    def __init__(self) -> None:
        self.busy = False
        self.waiting: dict[bool, deque[asyncio.Future[None]]] = {True: deque(), False: deque()}
        self.admitted = {True: 0, False: 0}

    async def acquire(self, known: bool) -> None:
        if not self.busy:
            self.busy = True
            return
        turn = asyncio.get_running_loop().create_future()
        self.waiting[known].append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # it was handed to us as we were cancelled: pass it on
            elif turn in self.waiting[known]:  # a release since may have dropped it already
                self.waiting[known].remove(turn)
            raise

    def release(self) -> None:
        for lane in (self.waiting[True], self.waiting[False]):
            while lane:
                turn = lane.popleft()
                if not turn.done():
                    turn.set_result(None)
                    return
        self.busy = False


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate] = weakref.WeakKeyDictionary()


class Admission:
    """A place in a lane: `run` waits for the turn and checks."""

    def __init__(self, gate: _Gate, known: bool) -> None:
        self._gate = gate
        self._known = known

    async def run(self, check: Callable[..., T], *args: object) -> T:
        """Run `check(*args)` (a password hash or check) in a worker thread, in turn."""
        await self._gate.acquire(self._known)
        try:
            return await asyncio.to_thread(check, *args)
        finally:
            self._gate.release()


@contextlib.asynccontextmanager
async def admitted(*, known: bool = False) -> AsyncIterator[Admission]:
    """A place among the checks running or waiting in a lane.

    Args:
        known: The known lane (ahead of strangers, `KNOWN_QUEUE` long), else the
            strangers' (`QUEUE` long).

    Raises:
        Busy: At once, when the lane is full; nothing was done.
    """
    gate = _gates.setdefault(asyncio.get_running_loop(), _Gate())
    if gate.admitted[known] > (KNOWN_QUEUE if known else QUEUE):
        raise Busy
    gate.admitted[known] += 1
    try:
        yield Admission(gate, known)
    finally:
        gate.admitted[known] -= 1


async def run(check: Callable[..., T], *args: object, known: bool = False) -> T:
    """`check(*args)` in turn, admitted at once or refused.

    Raises:
        Busy: The lane is full.
    """
    async with admitted(known=known) as admission:
        return await admission.run(check, *args)
