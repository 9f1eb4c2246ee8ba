"""An instance killed with SIGKILL (no shutdown at all): the other instance shows its
users offline within 30 s, as last seen at the dead instance's last heartbeat, leaves
no ghost in Redis, and the restarted instance takes the reconnecting tab back."""

from __future__ import annotations

import asyncio
import json
import time

from chatapp.settings import settings
from tests.scaleout.support import presence_keys, tab
from tests.support import run_async

NOTICED_WITHIN = 30.0  # seconds from the kill to the peer's screen


def test_sigkill_of_an_instance_shows_its_users_offline_and_a_restart_brings_them_back(
    cluster, people, redis_prefix
):
    a, _ = people.user("ka")
    b, b_name = people.user("kb")
    people.direct(a, b_name)
    keys = f"{redis_prefix}:"

    async def scenario():
        watcher = await tab(cluster.url(1), people, b)
        victim = await tab(cluster.url(0), people, a)
        await watcher.wait_for(lambda: watcher.status_of(a) == "online")
        before = presence_keys(redis_prefix)
        (dead,) = [json.loads(entry)["inst"] for entry in before[f"{keys}t:{a}"].values()]
        killed_at = time.time()
        # Killing and above all restarting an instance block for seconds, far more on a
        # loaded machine, so both run in a thread: on the loop of the raw clients they
        # froze the watcher, which then sent no pong, and its own instance closed its
        # socket after the ping timeout (5 s, rxconfig.py); it never got the "online"
        # it waits for below. A browser tab does not freeze while a server restarts.
        await asyncio.to_thread(cluster.kill, 0)
        await watcher.wait_for(lambda: watcher.status_of(a) == "offline", NOTICED_WITHIN + 5)
        noticed = time.time() - killed_at
        entry = dict(watcher.presence[str(a)])
        after = presence_keys(redis_prefix)
        await asyncio.to_thread(cluster.start, 0)  # the supervisor's restart
        victim.backend_url = cluster.url(0)
        await victim.reconnect()  # as the browser does: a new socket, then the page's load
        await watcher.wait_for(lambda: watcher.status_of(a) == "online", 15)
        back = presence_keys(redis_prefix)
        for client in (watcher, victim):
            await client.disconnect()
        return dead, killed_at, noticed, entry, after, back, victim.token

    dead, killed_at, noticed, entry, after, back, token = run_async(scenario())
    print(f"SIGKILL to offline on the other instance: {noticed:.1f} s")
    assert noticed < NOTICED_WITHIN
    # Last seen: the dead instance's last heartbeat, at most one beat before the kill.
    last_seen = entry["last_seen_at"] / 1000
    assert killed_at - settings.presence_heartbeat - 1 <= last_seen <= killed_at + 0.5
    # No ghost: nothing of the dead instance, and no tab of A, is left in Redis.
    assert not [key for key in after if dead in key]
    assert dead not in after[f"{keys}inst"]
    assert f"{keys}t:{a}" not in after
    assert not [key for key in after if key.startswith(f"{keys}tab:") and after[key] == str(a)]
    assert after[f"{keys}u:{a}"]["ps"] == "offline"
    # Back: the tab (Reflex may have given it a new token) is held by the new process.
    assert list(back[f"{keys}t:{a}"]) == [token]
    owner_pid = int(json.loads(back[f"{keys}t:{a}"][token])["inst"].rsplit("-", 2)[1])
    assert owner_pid in {p.pid for p in cluster.servers[0].processes()}
