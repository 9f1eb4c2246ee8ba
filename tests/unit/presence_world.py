"""The world of the presence-service tests: a probe around the service (its deliveries
captured, its clock held), shared by the test modules that drive `PresenceService`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from chatapp.models import Profile
from chatapp.presence.logic import Status
from chatapp.presence.service import PresenceService

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
GRACE = timedelta(seconds=0.05)
PAST_GRACE = 0.1  # seconds to sleep for a grace to run out


@dataclass
class Probe:
    """The service under test, what it delivered, and the clock it reads."""

    service: PresenceService
    sent: list[tuple[list[str], dict]] = field(default_factory=list)
    now: list[datetime] = field(default_factory=lambda: [T0])
    snapshots: list[tuple[list[str], dict[str, dict]]] = field(default_factory=list)

    async def settled(self) -> list[tuple[list[str], dict]]:
        """Every delivery so far (after waiting for those in flight), then forget them."""
        await self.service.drain()
        out = list(self.sent)
        self.sent.clear()
        return out


def make_probe(session_factory: Callable, drops=None, clock: Callable | None = None) -> Probe:
    """A service whose clock stands still at `now[0]` (T0 until a test moves it), or is
    `clock`."""
    sent: list[tuple[list[str], dict]] = []
    now = [T0]

    # What the push API would do with a delivery: the users' tabs, from the registry.
    async def capture(user_ids: set[int], entry: dict) -> None:
        tokens = await service.registry.tokens_of(user_ids)
        if tokens:
            sent.append((sorted(tokens), entry))

    snapshots: list[tuple[list[str], dict[str, dict]]] = []

    async def capture_snapshot(user_id: int, snapshot: dict[str, dict]) -> None:
        tokens = await service.registry.tokens_of([user_id])
        if tokens:
            snapshots.append((sorted(tokens), snapshot))

    service = PresenceService(
        deliver=capture,
        deliver_snapshot=capture_snapshot,
        session_factory=session_factory,
        grace=GRACE,
        clock=clock or (lambda: now[0]),
        drops=drops,
    )
    return Probe(service=service, sent=sent, now=now, snapshots=snapshots)


def profile_of(session_factory, user_id: int) -> Profile:
    with session_factory() as session:
        return session.get(Profile, user_id)


async def bob_watching_alice(p: Probe, ids: dict[str, int], alice_tabs: int = 1) -> None:
    """Bob's tab b1 and Alice's tab a1 (socket s1) open, and what that published forgotten.
    With `alice_tabs=2`, Alice's tab a2 (socket s2) too, and so on."""
    await p.service.mark_online(token="b1", sid="sb", user_id=ids["bob"])
    for n in range(1, alice_tabs + 1):
        await p.service.mark_online(token=f"a{n}", sid=f"s{n}", user_id=ids["alice"])
    await p.settled()


async def alice_gone_at(p: Probe, ids: dict[str, int], closed_at: datetime) -> None:
    """Alice's only tab a1 (socket s1) opens, closes at `closed_at`, and stays closed past
    the grace; what that published is forgotten."""
    await p.service.mark_online(token="a1", sid="s1", user_id=ids["alice"])
    p.now[0] = closed_at
    await p.service.mark_offline(token="a1", sid="s1")
    await asyncio.sleep(PAST_GRACE)
    await p.settled()


async def after_the_grace(p: Probe, user_id: int) -> tuple[list[tuple[list[str], dict]], Status]:
    """Once a grace begun now has run out: what was delivered, and the user's status; the
    service is closed."""
    await asyncio.sleep(PAST_GRACE)
    sent = await p.settled()
    status = await p.service.status_of(user_id)
    await p.service.close()
    return sent, status
