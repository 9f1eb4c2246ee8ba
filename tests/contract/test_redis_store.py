"""After Redis restarted (its configuration back to defaults), `redis_store.came_back`
turns Reflex's keyspace notifications on again: without them an instance waiting for a
tab's lock hears nothing when it is released and waits out the lock's expiry.

Against a Redis server of the test's own (it changes the server's configuration)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from redis.asyncio import Redis

from bench.services import RedisServer
from chatapp.reflex_adapter import redis_store
from tests.support import run_async


@pytest.fixture
def redis_url():
    server = RedisServer().start()
    yield server.url
    server.kill()


def test_notifications_are_on_again_after_a_restart_turned_them_off(redis_url):
    from reflex.istate.manager.redis import StateManagerRedis

    async def scenario():
        manager = StateManagerRedis(redis=Redis.from_url(redis_url))
        await manager._enable_keyspace_notifications()  # what Reflex does once per process
        on = (await manager.redis.config_get("notify-keyspace-events"))["notify-keyspace-events"]
        await manager.redis.config_set("notify-keyspace-events", "")  # a restarted Redis
        assert await redis_store.came_back(SimpleNamespace(state_manager=manager))
        again = (await manager.redis.config_get("notify-keyspace-events"))["notify-keyspace-events"]
        await manager.redis.aclose()
        return on, again

    on, again = run_async(scenario())
    assert on
    assert again == on


def test_nothing_to_do_without_state_in_redis():
    assert not run_async(redis_store.came_back(SimpleNamespace(state_manager=object())))
