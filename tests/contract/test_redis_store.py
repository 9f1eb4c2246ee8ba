"""After Redis restarted (its configuration back to defaults), `redis_store.came_back`
turns Reflex's keyspace notifications on again: without them an instance waiting for a
tab's lock hears nothing when it is released and waits out the lock's expiry.

Against a Redis server of the test's own (it changes the server's configuration)."""

from __future__ import annotations

import subprocess
import time
from types import SimpleNamespace

import pytest
import redis
from redis.asyncio import Redis

from bench.app_server import free_port
from chatapp.reflex_adapter import redis_store
from tests.support import run_async


@pytest.fixture
def redis_url():
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(200):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    client.close()
    process.kill()
    process.wait()


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
