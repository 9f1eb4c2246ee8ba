"""The push channel and the presence registry, as `chatapp.wiring` makes them, take their
Redis connections from pools of their own: a storm that keeps every registry connection
busy does not make a publish wait past the pool's timeout and fail (each failed publish is
a change the other instances never get). Against a Redis server of the test's own."""

from __future__ import annotations

import dataclasses

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from bench.services import RedisServer
from chatapp import redis_pool, wiring
from chatapp.settings import settings
from tests.support import run_async


@pytest.fixture
def narrow(monkeypatch):
    """Settings with a Redis of the test's own and one connection per pool, waited for 0.2 s."""
    server = RedisServer().start()
    small = dataclasses.replace(
        settings, redis_url=server.url, redis_max_connections=1, redis_pool_timeout=0.2
    )
    monkeypatch.setattr(redis_pool, "settings", small)
    monkeypatch.setattr(wiring, "settings", small)
    yield small
    server.kill()


def test_a_publish_goes_out_while_every_registry_connection_is_busy(narrow):
    async def scenario():
        registry = wiring.make_shared_registry()
        bus = wiring.make_push_bus()
        assert registry is not None and bus is not None
        pool = registry.redis.connection_pool
        held = await pool.get_connection()  # the registry's only connection, busy
        try:
            # The premise: on the registry's pool a publish now fails.
            with pytest.raises(RedisConnectionError):
                await registry.redis.publish(bus.channel, "on the registry's pool")
            listeners = await bus.publish("on the push channel's pool")
        finally:
            await pool.release(held)
            await registry.redis.aclose()
            await bus.redis.aclose()
        return listeners

    assert run_async(scenario()) == 0  # sent (nobody subscribed in this test)


def test_without_redis_there_is_no_push_channel(monkeypatch):
    monkeypatch.setattr(wiring, "settings", dataclasses.replace(settings, redis_url=""))
    assert wiring.make_push_bus() is None
