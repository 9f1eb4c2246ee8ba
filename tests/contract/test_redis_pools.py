"""Every Redis client of the app is bounded (`chatapp.redis_pool`, rxconfig.py), against a
real redis-server of the test's own: a burst of callers waits for a few connections
instead of opening one each, which in a storm of 5,000 tabs went past Redis's client
limit (docs/instances.md)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys

import pytest
from redis.asyncio import Redis

from bench.services import RedisServer
from chatapp import redis_pool
from tests.support import ROOT, run_async


@pytest.fixture
def redis_url():
    server = RedisServer().start()
    yield server.url
    server.kill()


async def _connections_after_a_burst(url: str, client: Redis, callers: int) -> int:
    """How many connections `client` holds open after `callers` commands sent at once."""
    watcher = Redis.from_url(url)
    before = (await watcher.info("clients"))["connected_clients"]
    await asyncio.gather(*(client.ping() for _ in range(callers)))
    after = (await watcher.info("clients"))["connected_clients"]
    await client.aclose()
    await watcher.aclose()
    return after - before


def test_a_burst_of_callers_shares_a_bounded_pool_where_a_plain_client_opens_one_each(redis_url, monkeypatch):
    bounded = dataclasses.replace(redis_pool.settings, redis_max_connections=5)
    monkeypatch.setattr(redis_pool, "settings", bounded)

    opened = run_async(_connections_after_a_burst(redis_url, redis_pool.client(redis_url), 300))
    unbounded = run_async(_connections_after_a_burst(redis_url, Redis.from_url(redis_url), 300))

    assert 1 <= opened <= 5
    assert unbounded > 50  # what the bound prevents: redis-py alone opens one per waiting caller


def test_with_redis_rxconfig_bounds_reflexs_own_client_with_the_same_figures(redis_url):
    probe = (
        "import rxconfig\n"
        "from reflex.utils.prerequisites import get_redis\n"
        "pool = get_redis().connection_pool\n"
        "print(type(pool).__name__, pool.max_connections, pool.timeout)\n"
    )
    env = {
        **os.environ,
        "REFLEX_REDIS_URL": redis_url,
        "CHATAPP_REDIS_MAX_CONNECTIONS": "7",
        "CHATAPP_REDIS_POOL_TIMEOUT": "4",
    }
    env.pop("REFLEX_REDIS_MAX_CONNECTIONS", None)
    env.pop("REFLEX_REDIS_POOL_TIMEOUT", None)
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.split()[-3:] == ["BlockingConnectionPool", "7", "4.0"]
