"""The attacker: wrong-password log-in attempts at a steady rate, in a process of its own.

Each attempt is the log-in form's event (`AuthFormState.log_in`) sent over a raw socket.io
connection, as a browser on the log-in page sends it. Connections come from loopback source
addresses of their own (127.1.0.1, 127.1.0.2, ...), which the server sees as the client's
address, so the per-address throttle counts each one separately, as it would count the
machines of a botnet; `per_address` attempts go through one connection, then a fresh one
(a fresh address) takes its place. With `per_address` 0 every connection comes from
127.0.0.1: one machine.

The schedule is open-loop: attempt i is sent at `start_at + i / rate` whatever the server
has answered, so a slow server gets the same flood (its answers queue up, and are counted
as answered late or not at all). Attempts are spread over a ring of connections, one per
attempt per second, because Reflex runs one tab's events one at a time.

Every answer is classified by the form's error text: "Wrong username or password." means
the password was checked (bcrypt ran); "Too many failed attempts..." means the login
throttle refused the attempt, and "Many people are logging in right now..." that the queue
of password checks was full (`chatapp.services.password_gate`): both before any hashing.
An answer that signs the tab in (the right password) reads as `SIGNED_IN`.

`log_in_once` is the same machinery for one log-in with the right password: the
benchmark's legitimate users, who log in while the flood runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import aiohttp
import socketio

from bench.reflex_client import NAMESPACE
from chatapp import wire

WRONG = "Wrong username or password."
REFUSED = "Too many failed attempts"
BUSY = "Many people are logging in right now"
# What `answer` reads from an update that signs the tab in (no error text: a session).
SIGNED_IN = "signed in"
# A hard bound whatever the options say: the flood must end.
MAX_ATTEMPTS = 50_000


@dataclass(frozen=True)
class AttackPlan:
    """What the attacker does.

    Attributes:
        url: The backend's address (loopback).
        rate: Attempts per second.
        seconds: How long to keep sending.
        per_address: Attempts per connection (and source address) before a fresh one takes
            over; 0: every connection from 127.0.0.1.
        target: The username of the existing account under attack.
        target_share: The share of attempts aimed at it; the others each try a username
            of their own that does not exist (a spray).
        drain: Seconds to wait for the last answers after the last attempt.
        nonce: Makes this run's sprayed usernames unique.
        spread_over: With several instances, every instance's address (`url` among them):
            the k-th connection goes to instance k modulo their number, as a load balancer
            would send them.
    """

    url: str
    rate: float
    seconds: float
    per_address: int
    target: str
    target_share: float
    drain: float
    nonce: str
    spread_over: tuple[str, ...] = ()

    def url_for(self, k: int) -> str:
        """Where the k-th connection (from 0) goes."""
        return self.spread_over[k % len(self.spread_over)] if self.spread_over else self.url

    @property
    def attempts(self) -> int:
        """How many attempts the plan sends."""
        return min(MAX_ATTEMPTS, math.ceil(self.rate * self.seconds))

    @property
    def ring(self) -> int:
        """Connections in use at once: each gets an attempt about once a second."""
        return max(2, math.ceil(self.rate))


@dataclass
class AttackResult:
    """What the attacker saw.

    Attributes:
        sent: Attempts sent.
        sent_target: Of them, aimed at the existing account.
        checked: Answered "Wrong username or password.": the password went through bcrypt.
        checked_target: Of them, aimed at the existing account.
        refused: Answered "Too many failed attempts ...": refused before any hashing.
        refused_target: Of them, aimed at the existing account.
        other: Any other answer, by its text.
        unanswered: Sent, but no answer within the drain time.
        checked_ms: Send → answer of each checked attempt (what a person logging in waits).
        refused_ms: Send → answer of each refused attempt.
        busy: Answered "Many people are logging in right now ...": the queue of password
            checks was full; refused before any hashing.
        busy_target: Of them, aimed at the existing account.
        connections: Connections (source addresses) opened.
        connect_failures: Connections that failed to open, and why.
        send_failures: Attempts that could not be sent (the server had closed the
            connection); not counted as sent.
        lag_ms: The latest an attempt was sent after its scheduled time.
        started: When the first attempt was due (perf_counter, CLOCK_MONOTONIC).
        ended: When the last attempt was sent.
    """

    sent: int = 0
    sent_target: int = 0
    checked: int = 0
    checked_target: int = 0
    refused: int = 0
    refused_target: int = 0
    other: dict[str, int] = field(default_factory=dict)
    unanswered: int = 0
    checked_ms: list[float] = field(default_factory=list)
    refused_ms: list[float] = field(default_factory=list)
    busy: int = 0
    busy_target: int = 0
    connections: int = 0
    connect_failures: list[str] = field(default_factory=list)
    send_failures: int = 0
    lag_ms: float = 0.0
    started: float = 0.0
    ended: float = 0.0

    @property
    def answered(self) -> int:
        """Attempts that got an answer."""
        return self.checked + self.refused + self.busy + sum(self.other.values())

    def record(self, at_target: bool, text: str, ms: float) -> None:
        """Count one answer."""
        if text == WRONG:
            self.checked += 1
            self.checked_target += at_target
            self.checked_ms.append(ms)
        elif text.startswith(REFUSED):
            self.refused += 1
            self.refused_target += at_target
            self.refused_ms.append(ms)
        elif text.startswith(BUSY):
            self.busy += 1
            self.busy_target += at_target
        else:
            self.other[text] = self.other.get(text, 0) + 1


def form_error(update: dict) -> str | None:
    """The log-in form's error text in a state update (None when it carries none)."""
    for name, substate in (update.get("delta") or {}).items():
        if name == wire.AUTH_FORM_STATE:
            for key, value in substate.items():
                if key.startswith("form_error") and isinstance(value, str):
                    return value
    return None


def signed_in(update: dict) -> bool:
    """Whether a state update signs the tab in: it carries a login token for the browser
    to keep, or the redirect to the chat that follows a successful log-in."""
    for key, value in ((update.get("delta") or {}).get(wire.SESSION_STATE) or {}).items():
        if key.startswith("auth_token") and isinstance(value, str) and value:
            return True
    return any(event.get("name") == "_redirect" for event in update.get("events") or [])


def answer(update: dict) -> str | None:
    """The log-in form's answer in a state update: `SIGNED_IN`, the form's error text, or
    None when the update carries neither."""
    return SIGNED_IN if signed_in(update) else form_error(update)


def address(n: int) -> str:
    """The n-th source address of the botnet, in 127.1.0.0/16 and up (never 127.0.0.1)."""
    return f"127.{1 + n // 65024 % 254}.{n // 254 % 256}.{n % 254 + 1}"


class Bot:
    """One log-in connection: a raw socket.io client bound to its own source address.

    Reflex answers a tab's events in order, so answers are matched to attempts first in,
    first out, and each is handed to `on_answer(at_target, text, ms)` (`AttackResult.record`
    for the attacker's).
    """

    def __init__(self, url: str, source: str | None, on_answer: Callable[[bool, str, float], None]) -> None:
        self.url = url
        self.source = source
        self.on_answer = on_answer
        self.assigned = 0
        self.pending: deque[tuple[float, bool]] = deque()
        self.http: aiohttp.ClientSession | None = None
        self.sio: socketio.AsyncClient | None = None

    async def open(self) -> None:
        """Connect (a tab on the log-in page: a fresh tab token, no login)."""
        connector = aiohttp.TCPConnector(local_addr=(self.source, 0)) if self.source else None
        self.http = aiohttp.ClientSession(connector=connector)
        self.sio = socketio.AsyncClient(http_session=self.http, reconnection=False)
        self.sio.on("event", self._on_event, namespace=NAMESPACE)
        await self.sio.connect(
            f"{self.url}?token={uuid.uuid4()}",
            socketio_path="/_event",
            transports=["websocket"],
            namespaces=[NAMESPACE],
            wait_timeout=10,
        )

    async def _on_event(self, update: dict) -> None:
        now = time.perf_counter()
        text = answer(update)
        if text is None or not self.pending:
            return
        sent, at_target = self.pending.popleft()
        self.on_answer(at_target, text, (now - sent) * 1000)

    async def attempt(self, username: str, password: str, at_target: bool = False) -> None:
        """Send one log-in attempt."""
        self.assigned += 1
        self.pending.append((time.perf_counter(), at_target))
        try:
            await self.sio.emit(
                "event",
                {
                    "name": wire.LOG_IN,
                    "payload": {"form_data": {"username": username, "password": password}},
                    "router_data": {"pathname": "/login", "asPath": "/login", "query": {}},
                },
                namespace=NAMESPACE,
            )
        except Exception:
            self.pending.pop()  # never sent: nothing to answer
            raise

    async def close(self, until: Callable[[], float]) -> None:
        """Wait for this connection's last answers (until the time `until()` says, on the
        perf_counter clock), then disconnect."""
        while self.pending and time.perf_counter() < until():
            await asyncio.sleep(0.05)
        if self.sio is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.sio.disconnect(), 5)
        if self.http is not None:
            await self.http.close()


async def log_in_once(
    url: str, source: str | None, username: str, password: str, timeout: float
) -> tuple[str | None, float | None]:
    """One log-in through the form, as a person on the log-in page submits it: a fresh
    connection (a fresh tab) from `source` (None: 127.0.0.1), one attempt, its answer.

    Returns:
        The answer (`SIGNED_IN` or the form's error text; None if none came within
        `timeout` seconds of the send; "connection failed: ..." when the connection could
        not be opened or the attempt not sent) and send → answer in milliseconds (None
        without an answer).
    """
    answers: list[tuple[str, float]] = []
    bot = Bot(url, source, lambda _at_target, text, ms: answers.append((text, ms)))
    deadline = 0.0
    try:
        await bot.open()
        await bot.attempt(username, password)
        deadline = time.perf_counter() + timeout
    except Exception as exc:
        return f"connection failed: {exc!r}", None
    finally:
        await bot.close(lambda: deadline)
    return answers[0] if answers else (None, None)


class Flood:
    """Runs an `AttackPlan` on the current event loop."""

    def __init__(self, plan: AttackPlan) -> None:
        self.plan = plan
        self.result = AttackResult()
        self._addresses = 0
        self._spares: asyncio.Queue[Bot] = asyncio.Queue()
        self._closing: list[asyncio.Task] = []
        self._stop = asyncio.Event()
        # When connections stop waiting for answers (set once the schedule is known).
        self._deadline = 0.0

    async def _new_bot(self) -> Bot:
        source = None
        if self.plan.per_address > 0:
            source = address(self._addresses)
            self._addresses += 1
        bot = Bot(self.plan.url_for(self.result.connections), source, self.result.record)
        self.result.connections += 1
        try:
            await bot.open()
        except Exception as exc:  # counted, and the flood goes on with other connections
            self.result.connect_failures.append(f"{source}: {exc!r}")
            await bot.close(lambda: 0.0)
            raise
        return bot

    async def _keep_spares(self) -> None:
        """Open the connections that will replace used-up ones, ahead of need."""
        # Used-up connections are replaced at rate / per_address per second; two seconds'
        # worth ready keeps a replacement from delaying the schedule.
        want = max(2, math.ceil(2 * self.plan.rate / max(1, self.plan.per_address)))
        while not self._stop.is_set():
            if self._spares.qsize() >= want:
                await asyncio.sleep(0.05)
                continue
            try:
                self._spares.put_nowait(await self._new_bot())
            except Exception:  # counted in connect_failures; try again a little later
                await asyncio.sleep(0.2)

    async def open_ring(self) -> list[Bot]:
        """The first connections, opened before the flood starts (ten at a time)."""
        ring: list[Bot] = []
        while len(ring) < self.plan.ring:
            batch = min(10, self.plan.ring - len(ring))
            opened = await asyncio.gather(*(self._new_bot() for _ in range(batch)), return_exceptions=True)
            ring += [b for b in opened if isinstance(b, Bot)]
            if len(self.result.connect_failures) > self.plan.ring:
                msg = f"cannot open the attacker's connections: {self.result.connect_failures[:3]}"
                raise RuntimeError(msg)
        return ring

    async def run(self, ring: list[Bot], start_at: float) -> AttackResult:
        """Send every attempt on schedule from `start_at` (perf_counter), then collect the answers."""
        plan, result = self.plan, self.result
        spares = asyncio.create_task(self._keep_spares()) if plan.per_address > 0 else None
        # Seeded draws: the same plan aims the same attempts at the account. (Every k-th
        # attempt would land on the same slot of the ring each time, i.e. on a few addresses.)
        draws = random.Random(plan.nonce)
        result.started = start_at
        # Every connection, used up or not, waits for its answers until the same time.
        self._deadline = start_at + plan.attempts / plan.rate + plan.drain
        try:
            for i in range(plan.attempts):
                due = start_at + i / plan.rate
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                slot = i % len(ring)
                if plan.per_address > 0 and ring[slot].assigned >= plan.per_address:
                    old, ring[slot] = ring[slot], await self._spares.get()
                    self._closing.append(asyncio.create_task(old.close(lambda: self._deadline)))
                at_target = draws.random() < plan.target_share
                username = plan.target if at_target else f"guess_{plan.nonce}_{i}"
                result.lag_ms = max(result.lag_ms, (time.perf_counter() - due) * 1000)
                try:
                    await ring[slot].attempt(username, f"not-the-password-{i}", at_target)
                except Exception:  # the server closed this connection: count it, go on
                    result.send_failures += 1
                    self._closing.append(asyncio.create_task(ring[slot].close(lambda: self._deadline)))
                    ring[slot] = await self._spares.get() if plan.per_address > 0 else await self._new_bot()
                    continue
                result.sent += 1
                result.sent_target += at_target
            result.ended = time.perf_counter()
        finally:
            self._stop.set()
            if spares is not None:
                spares.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await spares
        # A late schedule gets its full drain time after its last attempt all the same.
        self._deadline = max(self._deadline, time.perf_counter() + plan.drain)
        bots = [*ring]
        while not self._spares.empty():
            bots.append(self._spares.get_nowait())
        await asyncio.gather(
            *(b.close(lambda: self._deadline) for b in bots), *self._closing, return_exceptions=True
        )
        result.unanswered = result.sent - result.answered
        return result


async def _attack(conn: Connection, plan: AttackPlan) -> AttackResult:
    flood = Flood(plan)
    ring = await flood.open_ring()
    conn.send(("ready", None))
    loop = asyncio.get_running_loop()
    start_at = await loop.run_in_executor(None, conn.recv)
    # Bounded in time whatever happens: the sending, the drain, and a minute of slack.
    return await asyncio.wait_for(flood.run(ring, start_at), plan.seconds + plan.drain + 60)


def main(conn: Connection, plan: AttackPlan) -> None:
    """The attacker process: open the first connections, say "ready", receive the start
    time, flood, and send back the `AttackResult` (or the error)."""
    try:
        result = asyncio.run(_attack(conn, plan))
    except Exception as exc:  # reported to the benchmark, which fails the run
        conn.send(("error", repr(exc)))
    else:
        conn.send(("done", result))
    finally:
        conn.close()
