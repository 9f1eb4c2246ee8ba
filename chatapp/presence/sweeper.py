"""Heartbeat and sweep of one instance, when presence is shared in Redis.

Every instance beats (a key with a TTL, renewed well before it expires) and sweeps:
- the tabs of an instance whose beat expired (killed, frozen, cut off) are ended, and
  their users, if left without a tab, are published offline as last seen at that
  instance's last beat;
- offlines whose grace ran out and chosen statuses that ended are evaluated, whichever
  instance started them (it may be the dead one);
- whatever else a dead instance left to release is handed to `on_reaped` (the app
  releases the tab locks it held in Reflex's state store, so that those tabs' events on
  other instances do not wait out the locks' expiry).
The service decides each case; a commit that loses to another instance's is made again
or dropped, so two sweepers never publish the same change twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from chatapp.presence.redis_registry import RedisRegistry
from chatapp.presence.service import PresenceService

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timing:
    """How often an instance beats and sweeps, and when it counts as dead.

    Attributes:
        beat: Seconds between heartbeats.
        ttl: Seconds after its last heartbeat that an instance counts as dead.
        sweep: Seconds between sweeps.
        slack: A due grace is left to the timer of the instance that started it for
            this many seconds before a sweep takes it over.
    """

    beat: float = 3.0
    ttl: float = 10.0
    sweep: float = 1.0
    slack: float = 1.0


class Sweeper:
    """Runs the heartbeat and the sweep of one instance as two tasks.

    Args:
        service: The presence service that decides.
        registry: The shared registry.
        timing: Intervals.
        clock: The current time.
        on_reaped: Called with the id of each dead instance this sweeper reaped (by one
            sweeper only), before the offlines it left are evaluated.
    """

    def __init__(
        self,
        service: PresenceService,
        registry: RedisRegistry,
        timing: Timing,
        clock: Callable[[], datetime],
        on_reaped: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        self.service = service
        self.registry = registry
        self.timing = timing
        self._clock = clock
        self._on_reaped = on_reaped
        self._tasks: list[asyncio.Task] = []
        # No instance is taken for dead before this (after an outage of Redis).
        self._reap_after: datetime | None = None

    async def start(self) -> None:
        """Beat once (before any tab registers here, so that a crash is always noticed),
        then beat and sweep in the background."""
        await self.registry.heartbeat(self._clock(), timedelta(seconds=self.timing.ttl), first=True)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(
                self._every(self.timing.beat, self.beat, "heartbeat"), name="presence_heartbeat"
            ),
            loop.create_task(self._every(self.timing.sweep, self.sweep, "sweep"), name="presence_sweep"),
        ]

    async def stop(self) -> None:
        """Stop both tasks."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _every(self, seconds: float, step: Callable[[], Awaitable[None]], what: str) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await step()
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                # Redis unreachable for a moment: the next round tries again.
                logger.warning("presence %s failed: %s", what, exc)
            except Exception:
                logger.exception("presence %s failed", what)

    async def beat(self) -> None:
        """Renew this instance's heartbeat; if it was declared dead meanwhile, register
        its tabs again."""
        ttl = timedelta(seconds=self.timing.ttl)
        if not await self.registry.heartbeat(self._clock(), ttl):
            logger.warning("presence: this instance was declared dead; registering its tabs again")
            for user_id in await self.registry.reclaim(self._clock(), ttl, self.service.grace):
                await self.service.check(user_id)

    async def recovered(self) -> None:
        """Redis answers again after an outage (perhaps emptied by a restart): beat at
        once, and take no other instance for dead for one TTL, so that every instance
        that lived through the outage beats again first."""
        ttl = timedelta(seconds=self.timing.ttl)
        await self.registry.heartbeat(self._clock(), ttl, first=True)
        self._reap_after = self._clock() + ttl

    async def sweep(self) -> None:
        """End the tabs of dead instances, then evaluate whatever fell due."""
        reaping = self._reap_after is None or self._clock() >= self._reap_after
        for instance_id, last_beat in (await self.registry.dead()).items() if reaping else ():
            users = await self.registry.reap(instance_id, self.service.grace)
            if users is not None:
                logger.info(
                    "presence: instance %s stopped beating at %s; ended its tabs (%d users left without one)",
                    instance_id,
                    last_beat.isoformat(),
                    len(users),
                )
                await self._reaped(instance_id)
        for kind, user_id, at in await self.registry.due(
            self._clock() - timedelta(seconds=self.timing.slack)
        ):
            await self.service.check(user_id, grace_due=at if kind == "g" else None)
            await self.registry.finish_due(kind, user_id, at)

    async def _reaped(self, instance_id: str) -> None:
        if self._on_reaped is None:
            return
        try:
            await self._on_reaped(instance_id)
        except Exception:  # not tried again: what it would release expires by itself
            logger.exception("presence: releasing what instance %s held failed", instance_id)
