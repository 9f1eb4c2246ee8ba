"""Noticing that Redis went away and came back, for the instances that share it.

With `REFLEX_REDIS_URL` every tab's state (Reflex), the sockets' records, the presence
registry and the rate limits live in Redis: while it is down no event of any tab can
run. `RedisWatch` pings it and tells the composition root (`chatapp.wiring`), which does
what an outage needs:

- **down** (a ping failed): every socket of this instance is closed at its transport, so
  each browser shows that it is reconnecting, keeps what the user types and queues what
  they do; new sockets are refused, with a reason, until Redis is back;
- **back** (a ping answered again, Redis emptied by a restart or not): what Redis lost is
  put back (Reflex's keyspace notifications, this instance's heartbeat, its tabs as
  closed just now, so that a tab that reconnects is taken back without a blink and one
  that does not is shown offline after `RECOVERY_GRACE`); then sockets are let in. Each
  browser reconnects by itself (at most 2 s apart), its page loads again (its state
  rebuilt; the login lives in the database) and what it queued is sent.

The watch never decides anything else: `down` is what the rest of the process reads
to stay quiet while Redis is away (no error for every periodic job that needs it).

The ping runs in a thread of its own, with its own socket timeouts: timed on the event
loop, a loop running late under load (a reconnect storm of 1,000 tabs: seconds) made
answers arrive "late", and the instance closed every socket of a healthy Redis, which
started the storm again (seen in a benchmark run, docs/instances.md).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

# Seconds between pings, and how long one may take before Redis counts as down.
PING_EVERY = 0.5
PING_TIMEOUT = 1.0
# A tab closed by an outage that has not reconnected this many seconds after Redis is
# back is gone (closed meanwhile): its user is shown offline then. Browsers retry at
# most 2 s apart (Reflex's frontend), so a tab still open is back well within it.
RECOVERY_GRACE = 3.0


def redis_ping(url: str, timeout: float = PING_TIMEOUT) -> Callable[[], object]:
    """A blocking PING of the Redis at `url` that gives up after `timeout` seconds (to
    run in a thread: `RedisWatch`)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    return client.ping


class RedisWatch:
    """Pings Redis and runs `on_down` once when it stops answering, `on_back` once when
    it answers again (sockets stay refused until `on_back` has finished).

    Args:
        ping: One blocking round trip to Redis that raises if it fails or takes too
            long (`redis_ping`); it runs in a thread, so a busy event loop does not
            make Redis look slow.
        on_down: Runs when Redis stops answering.
        on_back: Runs when it answers again; if it fails, Redis counts as down still
            and it runs again after the next ping that answers.
        every: Seconds between pings.
        timeout: Seconds a ping may take, waited in its thread (beyond its own timeout,
            which should be shorter).
    """

    def __init__(
        self,
        ping: Callable[[], object],
        *,
        on_down: Callable[[], Awaitable[None]],
        on_back: Callable[[], Awaitable[None]],
        every: float = PING_EVERY,
        timeout: float = PING_TIMEOUT,
    ) -> None:
        self._ping = ping
        self._on_down = on_down
        self._on_back = on_back
        self.every = every
        self.timeout = timeout
        self.down = False
        self.outages = 0
        self._task: asyncio.Task | None = None

    def _ping_within(self) -> None:
        """The ping, in its thread; one that hangs past `timeout` counts as failed."""
        done = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(self._ping())
            except Exception as exc:
                done.set_exception(exc)

        threading.Thread(target=run, daemon=True, name="redis-ping").start()
        done.result(timeout=self.timeout)

    def refusal(self) -> str | None:
        """Why a socket is refused now (None: it is welcome)."""
        if self.down:
            return "chatapp is reconnecting to its data store; retrying"
        return None

    async def _answers(self) -> bool:
        try:
            await asyncio.to_thread(self._ping_within)
        except Exception as exc:  # any failure of the round trip: Redis is away for us
            if not self.down:
                logger.warning("Redis does not answer (%s): tabs of this instance wait for it", exc)
            return False
        return True

    async def check(self) -> None:
        """One ping, and what follows from it."""
        if await self._answers():
            if self.down:
                try:
                    await self._on_back()
                except Exception as exc:  # Redis went again meanwhile, most likely
                    logger.warning("recovering after Redis came back failed (%r); trying again", exc)
                    return
                self.down = False
                logger.warning("Redis answers again: tabs of this instance reconnect")
        elif not self.down:
            self.down = True
            self.outages += 1
            await self._on_down()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.check()
            except Exception:  # the watch itself must outlive any one failure
                logger.exception("watching Redis failed")

    def start(self) -> None:
        """Ping in the background until `stop`."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="redis_watch")

    async def stop(self) -> None:
        """Stop pinging."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
