"""The probe: two signed-in users, A and B, chatting at a steady pace in their direct
conversation, each in one tab (a raw client, `bench.reflex_client.ReflexClient`).

Message i is sent by A when i is even and by B when it is odd, so each user sends at half
the pace (the app allows 20 messages per 10 s per tab). Its delivery time is from just
before the sender's client emits `ChatState.send_message` to the moment the other
member's client receives the state update that carries the message: the event's way in,
the handler (login check, insert, commit), the push into the receiving tab's state and the
way out. The sender's own tab receives the message too, as the answer to its event: that
is the echo time. Both clients run on one event loop and one clock (perf_counter, i.e.
CLOCK_MONOTONIC), so no clock offset enters.

`Logins`: legitimate users logging in while the flood runs, with the right password, each
time from a fresh tab (`attacker.log_in_once`: the attacker's own connection and event):
returning users from their usual address (after one log-in from it before the flood,
`Logins.once`), and a newcomer from a brand-new address every time.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.login_flood.attacker import SIGNED_IN, log_in_once
from bench.reflex_client import ReflexClient
from chatapp import wire


@dataclass
class ProbeResult:
    """The probe's figures for one condition.

    Attributes:
        sent: Messages sent.
        delivery_ms: Send → arrival at the other member's tab, per message that arrived.
        echo_ms: Send → arrival back at the sender's own tab, per message.
        missing: Messages that never reached the other member (their numbers).
        errors: Error texts the tabs were shown (a refused message, say).
        lag_ms: The latest a message was sent after its scheduled time.
        started: When the first message was due (perf_counter).
        ended: When the last message was sent.
    """

    sent: int = 0
    delivery_ms: list[float] = field(default_factory=list)
    echo_ms: list[float] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lag_ms: float = 0.0
    started: float = 0.0
    ended: float = 0.0

    @property
    def complete(self) -> bool:
        """Every message reached the other member and its sender, and no tab showed an error."""
        return (
            not self.missing
            and len(self.delivery_ms) == self.sent
            and len(self.echo_ms) == self.sent
            and not self.errors
        )


class _Tab:
    """One user's tab, noting when each numbered message first reaches it."""

    def __init__(self, url: str, token: str, pattern: re.Pattern) -> None:
        self.pattern = pattern
        self.seen: dict[int, float] = {}
        self.errors: list[str] = []
        self.client = ReflexClient(url, token, on_update=self._on_update, record=False)

    def _on_update(self, now: float, update: dict, _size: int) -> None:
        delta = update.get("delta") or {}
        # A message may travel again (a page load): only the first sighting counts.
        for number in self.pattern.findall(json.dumps(delta)):
            self.seen.setdefault(int(number), now)
        for name, substate in delta.items():
            if name == wire.CHAT_STATE:
                for key, value in substate.items():
                    if key.startswith("error") and isinstance(value, str) and value:
                        self.errors.append(value)


class Probe:
    """A's and B's tabs on their conversation's page.

    Args:
        url: The backend's address.
        a_token: A's login token.
        b_token: B's login token.
        cid: Their direct conversation.
    """

    def __init__(self, url: str, a_token: str, b_token: str, cid: int, b_url: str | None = None) -> None:
        self.cid = cid
        self.path = f"/c/{cid}"
        self.nonce = uuid.uuid4().hex[:8]
        pattern = re.compile(rf"probe-{self.nonce}-(\d+)")
        self.tabs = (_Tab(url, a_token, pattern), _Tab(b_url or url, b_token, pattern))
        self._number = 0

    async def open(self, timeout: float = 30.0) -> None:
        """Open both tabs on the conversation and wait until both pages are loaded."""
        for tab in self.tabs:
            await tab.client.connect(load_path=self.path, query={"cid": str(self.cid)})
        for tab in self.tabs:
            await tab.client.wait_for(lambda tab=tab: tab.client.hydrated, timeout)

    async def close(self) -> None:
        """Close both tabs."""
        for tab in self.tabs:
            await tab.client.disconnect()

    async def run(self, count: int, rate: float, start_at: float, timeout: float = 10.0) -> ProbeResult:
        """Send `count` messages at `rate` per second from `start_at` (perf_counter), then
        wait up to `timeout` seconds for the last ones to arrive."""
        result = ProbeResult(started=start_at)
        sent: dict[int, tuple[float, int]] = {}
        for i in range(count):
            due = start_at + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            number, sender = self._number, i % 2
            self._number += 1
            result.lag_ms = max(result.lag_ms, (time.perf_counter() - due) * 1000)
            sent[number] = (time.perf_counter(), sender)
            await self.tabs[sender].client.emit(
                wire.SEND_MESSAGE,
                {
                    "body": f"probe-{self.nonce}-{number} from {'AB'[sender]}",
                    "key": f"probe-{self.nonce}-{number}",
                },
                self.path,
                {"cid": str(self.cid)},
            )
        result.sent = count
        result.ended = time.perf_counter()
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline and not all(
            n in self.tabs[0].seen and n in self.tabs[1].seen for n in sent
        ):
            await asyncio.sleep(0.05)
        for number, (t0, sender) in sent.items():
            receiver, own = self.tabs[1 - sender], self.tabs[sender]
            if number in receiver.seen:
                result.delivery_ms.append((receiver.seen[number] - t0) * 1000)
            else:
                result.missing.append(number)
            if number in own.seen:
                result.echo_ms.append((own.seen[number] - t0) * 1000)
        for tab in self.tabs:
            result.errors += tab.errors
            tab.errors.clear()
        return result


@dataclass
class LoginAttempt:
    """One legitimate log-in.

    Attributes:
        who: Which user ("bystander": C; "owner": the attacked account's owner;
            "newcomer": D, from a new address each time).
        address: The source address it came from.
        due_s: When it was due, in seconds after the measured messages' first was due.
        started_s: When its tab opened, on the same scale (later than `due_s` when the
            same person's previous log-in was still waiting for its answer).
        answer: `SIGNED_IN`, the form's error text, "connection failed: ..." or None
            (no answer in time).
        ms: Send → answer in milliseconds (None without an answer).
    """

    who: str
    address: str
    due_s: float
    started_s: float
    answer: str | None
    ms: float | None

    @property
    def ok(self) -> bool:
        """Signed in."""
        return self.answer == SIGNED_IN


@dataclass(frozen=True)
class LoginUser:
    """A user who logs in during the flood: who they are, their credentials, their addresses.

    Attributes:
        who: How the results name them.
        username: Their username.
        password: Their (right) password.
        addresses: Where their log-ins come from: log-in k from `addresses[k]`, the last
            one again once they run out (one address: always the same, a returning user's
            home or office; one per log-in: a new device or network each time).
    """

    who: str
    username: str
    password: str
    addresses: tuple[str, ...]

    def address(self, k: int) -> str:
        """Where their k-th log-in (from 0) comes from."""
        return self.addresses[min(k, len(self.addresses) - 1)]


class Logins:
    """Legitimate users logging in at a steady pace, each with the right password.

    Args:
        url: The backend's address, or every instance's (log-in k of the run goes to
            instance k modulo their number, as a load balancer would send it).
        users: Who logs in.
        count: Log-ins per user.
        timeout: Seconds each waits for its answer.
    """

    def __init__(self, url: str | Sequence[str], users: list[LoginUser], count: int, timeout: float) -> None:
        self.urls = [url] if isinstance(url, str) else list(url)
        self._sent = 0
        self.users = users
        self.count = count
        self.timeout = timeout

    async def run(self, start_at: float, span: float) -> list[LoginAttempt]:
        """`count` log-ins per user due evenly over `span` seconds from `start_at`
        (perf_counter), the users' turns interleaved. A person does not submit the form
        twice at once: each log-in starts when due or, if later, once the same person's
        previous one has its answer (or gave up after `timeout`). In order of start."""
        if self.count < 1 or not self.users:
            return []
        slot, n = span / self.count, len(self.users)
        dues = [[(k + (j + 0.5) / n) * slot for k in range(self.count)] for j in range(n)]
        per_user = await asyncio.gather(
            *(self._person(user, due_s, start_at) for user, due_s in zip(self.users, dues, strict=True))
        )
        return sorted((a for attempts in per_user for a in attempts), key=lambda a: a.started_s)

    async def once(self) -> list[LoginAttempt]:
        """One log-in per user, all at once, now, each from the user's first address (times
        in seconds from now), in the users' order: the returning users' earlier log-in."""
        start_at = time.perf_counter()
        return list(await asyncio.gather(*(self._attempt(user, 0, 0.0, start_at) for user in self.users)))

    async def _person(self, user: LoginUser, due_s: list[float], start_at: float) -> list[LoginAttempt]:
        attempts = []
        for k, due in enumerate(due_s):
            await asyncio.sleep(max(0.0, start_at + due - time.perf_counter()))
            attempts.append(await self._attempt(user, k, due, start_at))
        return attempts

    async def _attempt(self, user: LoginUser, k: int, due: float, start_at: float) -> LoginAttempt:
        started = time.perf_counter() - start_at
        source = user.address(k)
        url = self.urls[self._sent % len(self.urls)]
        self._sent += 1
        text, ms = await log_in_once(url, source, user.username, user.password, self.timeout)
        return LoginAttempt(user.who, source, due, started, text, ms)
