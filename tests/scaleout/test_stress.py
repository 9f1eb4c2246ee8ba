"""One user's tabs on both instances changing the user's presence at the same moment,
many times: every change is broadcast once, and the end state is the true one."""

from __future__ import annotations

import asyncio
import random

from bench.reflex_client import ReflexClient
from tests.scaleout.support import presence_keys, received, tab
from tests.support import run_async

ROUNDS = 10
BURST = 12  # reports per tab in the burst (4 tabs x 22 stay under 120 a minute per user)


def test_concurrent_changes_of_one_user_through_both_instances_end_right_and_broadcast_once(
    cluster, people, redis_prefix
):
    a, _ = people.user("sta")
    b, b_name = people.user("stb")
    people.direct(a, b_name)
    rng = random.Random(7)

    async def scenario():
        watcher = await tab(cluster.url(1), people, b)
        tabs = [await tab(cluster.url(i % 2), people, a) for i in range(4)]  # two on each instance
        await watcher.wait_for(lambda: watcher.status_of(a) == "online")

        # Rounds: every tab reports the same thing at once, so the instances evaluate
        # the same change side by side: exactly one of them may broadcast it.
        per_round = []
        for i in range(ROUNDS):
            idle = i % 2 == 0
            mark = len(watcher.updates)
            await asyncio.gather(*(t.set_idle(idle) for t in tabs))
            await watcher.wait_for(lambda idle=idle: watcher.status_of(a) == ("away" if idle else "online"))
            await asyncio.sleep(0.3)  # a second broadcast, if any, arrives meanwhile
            per_round.append(received(watcher, a, mark))

        # Burst: each tab fires reports and reloads without waiting, on both instances.
        mark = len(watcher.updates)
        finals = [rng.random() < 0.7 for _ in tabs]

        async def burst(t: ReflexClient, final: bool) -> None:
            for _ in range(BURST - 1):
                await t.set_idle(rng.random() < 0.7)
                if rng.random() < 0.25:
                    await t.load("/", wait=True)  # a reload: the tab is active again
            await t.set_idle(final)

        await asyncio.gather(*(burst(t, final) for t, final in zip(tabs, finals, strict=True)))
        expected = "away" if all(finals) else "online"
        await watcher.wait_for(lambda: watcher.status_of(a) == expected, 10)
        await asyncio.sleep(1.0)  # and it stays so: nothing older arrives after it
        burst_entries = received(watcher, a, mark)
        final_entry = dict(watcher.presence[str(a)])
        truth = presence_keys(redis_prefix)[f"{redis_prefix}:u:{a}"]
        for client in (watcher, *tabs):
            await client.disconnect()
        return per_round, expected, burst_entries, final_entry, truth

    per_round, expected, burst_entries, final_entry, truth = run_async(scenario())
    assert [[e["status"] for e in entries] for entries in per_round] == [
        ["away" if i % 2 == 0 else "online"] for i in range(ROUNDS)
    ]
    versions = [e["v"] for e in burst_entries]
    assert len(set(versions)) == len(versions)
    assert final_entry["status"] == expected
    assert truth["ps"] == expected
    assert final_entry["v"] == int(truth["pv"])  # the watcher holds the latest change
