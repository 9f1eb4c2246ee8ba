"""The Redis channel over which instances hand each other changes for their own tabs.

With several instances, a change for many users' tabs (a presence change to every
watcher, say) used to reach each tab on another instance through Reflex's state in
Redis: lock, read the whole state, write it back, relay the delta; hundreds of Redis
commands per change (docs/instances.md). Instead the instance that makes a change
applies it to its own tabs and publishes it once here; every other instance applies it
to the tabs whose sockets it holds (`delivery.Push.received`). One PUBLISH per change.

Messages are text; what they say is `delivery`'s business. A lost subscription (Redis
restarted) is made again every half second until it holds; what is published while it
is down is lost, which is why a Redis outage closes every socket (`chatapp.outage`):
each tab's page load takes everything afresh.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from redis.asyncio import Redis

logger = logging.getLogger(__name__)

# How long to wait before subscribing again after the subscription was lost.
RESUBSCRIBE_AFTER = 0.5


def channel_of(presence_prefix: str) -> str:
    """The push channel of a deployment (its instances share the presence prefix)."""
    return f"{presence_prefix}:push"


class RedisBus:
    """Publishes to and listens on one channel.

    Args:
        redis: An asyncio Redis client (a subscription takes one of its connections).
        channel: The channel (one per deployment: every instance of it listens).
    """

    def __init__(self, redis: Redis, *, channel: str) -> None:
        self.redis = redis
        self.channel = channel
        self.subscribed = asyncio.Event()

    async def publish(self, message: str) -> int:
        """Send a message to every instance listening (this one included).

        Returns:
            How many instances were listening.
        """
        return int(await self.redis.publish(self.channel, message))

    async def listen(
        self, on_message: Callable[[str], object], on_lost: Callable[[], object] = lambda: None
    ) -> None:
        """Call `on_message` with each message, in the order they were published, for as
        long as the task runs; subscribes again whenever the subscription is lost, and
        calls `on_lost` then (messages published meanwhile never arrive)."""
        while True:
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.subscribed.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            data = message["data"]
                            on_message(data.decode() if isinstance(data, bytes) else data)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away: the outage watch handles the tabs
                logger.warning("the push channel was lost (%s); subscribing again", exc)
                on_lost()
            finally:
                self.subscribed.clear()
            await asyncio.sleep(RESUBSCRIBE_AFTER)
