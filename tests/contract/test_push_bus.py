"""The push channel (`chatapp.push_bus`) against a real Redis server of the test's own:
messages arrive in the order they were published, and the subscription is made again
by itself after Redis restarted (the instances' pushes go on without a restart), telling
its owner that messages may have been lost meanwhile."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from bench.services import RedisServer
from chatapp.push_bus import RedisBus
from tests.support import run_async, until


@pytest.fixture
def server():
    running = RedisServer().start()
    yield running
    running.kill()


def test_messages_arrive_in_order_and_the_subscription_comes_back_after_a_restart(server):
    async def scenario():
        bus = RedisBus(Redis.from_url(server.url), channel="test:push")
        got: list[str] = []
        lost: list[int] = []
        listening = asyncio.create_task(bus.listen(got.append, on_lost=lambda: lost.append(len(got))))
        await asyncio.wait_for(bus.subscribed.wait(), 5)
        listeners = [await bus.publish(f"m{i}") for i in range(200)]
        await until(lambda: len(got) == 200, 5)
        before = list(got)
        lost_before = list(lost)
        server.kill()
        await until(lambda: not bus.subscribed.is_set(), 5)
        await asyncio.to_thread(server.start)
        await asyncio.wait_for(bus.subscribed.wait(), 5)
        await bus.publish("after the restart")
        await until(lambda: got[-1:] == ["after the restart"], 5)
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await bus.redis.aclose()
        return listeners, before, lost_before, lost

    listeners, before, lost_before, lost = run_async(scenario())
    assert set(listeners) == {1}
    assert before == [f"m{i}" for i in range(200)]
    assert lost_before == []  # nothing lost while subscribed
    assert lost[:1] == [200]  # told when the subscription went, before it came back
