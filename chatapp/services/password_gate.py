"""Password hashing, one at a time per process, off the event loop, behind a short queue.

bcrypt costs a quarter of a second of a core per check, on purpose. A flood of 10 log-in
attempts a second from many addresses (each trying a username of its own, which no
per-username or per-address throttle catches) asked for more than this 2-core machine has,
and everyone's messages waited behind it (docs/login-flood.md: p99 10.8 s). So checks run
in a worker thread one at a time, leaving the event loop a core, and at most `QUEUE` more
wait their turn; beyond that an attempt is refused at once, with nothing checked or
counted, and the person is asked to try again in a moment.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import TypeVar

from chatapp.services.errors import ChatError

T = TypeVar("T")

# Checks waiting for the one running: about two seconds of work at most.
QUEUE = 8


class Busy(ChatError):
    """Too many password checks are waiting; nothing was done."""


class _Gate:
    """The turn and the queue of one event loop (a process has one; tests make several)."""

    def __init__(self) -> None:
        self.turn = asyncio.Lock()
        self.waiting = 0


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate] = weakref.WeakKeyDictionary()


async def run(check: Callable[..., T], *args: object) -> T:
    """Run `check(*args)` (a password hash or check) in a worker thread, in turn.

    Raises:
        Busy: `QUEUE` checks are already waiting.
    """
    gate = _gates.setdefault(asyncio.get_running_loop(), _Gate())
    if gate.waiting >= QUEUE:
        msg = "Many people are logging in right now. Try again in a few seconds."
        raise Busy(msg)
    gate.waiting += 1
    try:
        await gate.turn.acquire()
    finally:
        gate.waiting -= 1
    try:
        return await asyncio.to_thread(check, *args)
    finally:
        gate.turn.release()
