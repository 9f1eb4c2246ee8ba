"""Two instances of the real app (production mode, Redis, PostgreSQL) and raw websocket
clients: presence and messages across instances behave as on one process."""

from __future__ import annotations

import asyncio
import json
import time

from redis.asyncio import Redis

from bench.reflex_client import ReflexClient
from chatapp import wire
from chatapp.push_bus import channel_of
from chatapp.services import conversations
from chatapp.settings import settings
from chatapp.wire import CHAT_STATE
from tests.scaleout.support import REDIS_URL, presence_keys, received, tab
from tests.support import run_async

GRACE = settings.presence_grace  # the instances run with the default grace
# One change, from the event on one instance to the tab on the other. One process
# measured about 10-30 ms; this bound only catches a relay that is broken or polled.
RELAY_BOUND = 1.0


async def timed(change, watcher: ReflexClient, predicate) -> float:
    """Seconds from sending a change until the watcher's tab holds it."""
    start = time.perf_counter()
    await change()
    await watcher.wait_for(predicate, RELAY_BOUND * 5)
    return time.perf_counter() - start


def _holds(client: ReflexClient, key: str, test) -> bool:
    """Whether the last value the tab received for a state key passes `test`."""
    found = [sub[key] for u in client.updates for sub in (u.get("delta") or {}).values() if key in sub]
    return bool(found) and test(found[-1])


def _got(client: ReflexClient, text: str, since: int) -> bool:
    return text in json.dumps(client.updates[since:])


async def _published(pubsub, seconds: float = 0.5) -> list[dict]:
    """What the push channel carried, up to now and for `seconds` more."""
    heard, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = await pubsub.get_message(timeout=0.1)
        if message is not None:
            heard.append(json.loads(message["data"]))
    return heard


def _tabs_in_registry(prefix: str, user_id: int) -> dict:
    return presence_keys(prefix).get(f"{prefix}:t:{user_id}", {})


def test_changes_on_each_instance_reach_the_tab_on_the_other(cluster, people):
    a, _ = people.user("xa")
    b, b_name = people.user("xb")
    cid = people.direct(a, b_name)

    async def scenario():
        # Each change is decided and delivered by the instance that runs the sender's
        # event; the watcher's socket is on the other one, so its tab gets the change
        # only through Reflex's relay (modify_state, then Redis to the socket's worker).
        ta = await tab(cluster.url(0), people, a, f"/c/{cid}", {"cid": str(cid)})
        tb = await tab(cluster.url(1), people, b)
        await tb.wait_for(lambda: tb.status_of(a) == "online")
        await ta.wait_for(lambda: ta.status_of(b) == "online")
        a_to_b, b_to_a = [], []
        for choice, shown in [("away", "away"), ("auto", "online")] * 3:
            a_to_b.append(
                await timed(lambda c=choice: ta.set_status(c), tb, lambda s=shown: tb.status_of(a) == s)
            )
        for choice, shown in [("dnd", "dnd"), ("auto", "online")] * 3:
            b_to_a.append(
                await timed(lambda c=choice: tb.set_status(c), ta, lambda s=shown: ta.status_of(b) == s)
            )
        # A message sent on instance 1 reaches B's tab on instance 2 (its list preview).
        mark = len(tb.updates)
        await ta.emit(
            f"{CHAT_STATE}.send_message",
            {"body": "across instances", "key": "across-instances-1"},
            f"/c/{cid}",
        )
        await tb.wait_for(lambda: "across instances" in json.dumps(tb.updates[mark:]), RELAY_BOUND * 5)
        for client in (ta, tb):
            await client.disconnect()
        return a_to_b, b_to_a

    a_to_b, b_to_a = run_async(scenario())
    assert max(a_to_b) < RELAY_BOUND, a_to_b
    assert max(b_to_a) < RELAY_BOUND, b_to_a


def test_one_tab_on_each_instance_keeps_the_user_online_until_the_last_one_closes(
    cluster, people, redis_prefix
):
    a, _ = people.user("ya")
    b, b_name = people.user("yb")
    people.direct(a, b_name)

    async def scenario():
        watcher = await tab(cluster.url(0), people, b)
        first = await tab(cluster.url(0), people, a)
        second = await tab(cluster.url(1), people, a)
        await watcher.wait_for(lambda: watcher.status_of(a) == "online")
        mark = len(watcher.updates)
        await first.disconnect()
        await asyncio.sleep(GRACE + 1.0)  # well past the grace
        after_first = received(watcher, a, mark), _tabs_in_registry(redis_prefix, a)
        closed = time.time()
        await second.disconnect()
        await watcher.wait_for(lambda: watcher.status_of(a) == "offline", GRACE + 10)
        seen_offline = time.time()
        entry = watcher.presence[str(a)]
        await asyncio.sleep(0.3)
        left = _tabs_in_registry(redis_prefix, a)
        await watcher.disconnect()
        return after_first, closed, seen_offline, entry, left, second.token

    (entries_after_first, tabs_after_first), closed, seen_offline, entry, left, second_token = run_async(
        scenario()
    )
    assert entries_after_first == []  # nothing at all reached B: A stayed online
    assert list(tabs_after_first) == [second_token]
    assert seen_offline - closed >= GRACE * 0.9  # the grace held (it hides reloads)
    assert abs(entry["last_seen_at"] / 1000 - closed) < 1.0
    assert left == {}


async def _watched(cluster, people, tag: str) -> tuple[int, int, ReflexClient, ReflexClient]:
    """Two users in a direct chat: a watcher's tab on the second instance, and a tab of
    the other user on the first (one worker: its reconnects come back to it), which the
    watcher sees online. Returns (the other user, the watcher's tab, the other's tab)."""
    a, _ = people.user(f"{tag}a")
    b, b_name = people.user(f"{tag}b")
    people.direct(a, b_name)
    watcher = await tab(cluster.url(1), people, b)
    other = await tab(cluster.url(0), people, a)
    await watcher.wait_for(lambda: watcher.status_of(a) == "online")
    return a, b, watcher, other


def test_a_reload_that_lands_on_the_other_instance_does_not_blink(cluster, people, redis_prefix):
    async def scenario():
        a, _, watcher, reloading = await _watched(cluster, people, "z")
        mark = len(watcher.updates)
        # The browser reloads; the proxy sends its new socket to the other instance.
        reloading.backend_url = cluster.url(1)
        await reloading.reconnect()
        await asyncio.sleep(GRACE + 1.0)
        blinks = received(watcher, a, mark)
        tabs = _tabs_in_registry(redis_prefix, a)
        for client in (watcher, reloading):
            await client.disconnect()
        return blinks, tabs, reloading.token

    blinks, tabs, token = run_async(scenario())
    assert blinks == []
    assert list(tabs) == [token]
    # The tab is held by a process of the second server (one of its two workers): an
    # instance id is "<host>-<pid>-<random>".
    owner_pid = int(json.loads(tabs[token])["inst"].rsplit("-", 2)[1])
    assert owner_pid in {p.pid for p in cluster.servers[1].processes()}


def test_a_tab_reconnecting_while_reflex_still_deletes_its_closed_sockets_record_keeps_its_token(
    cluster, people
):
    """Reflex deletes a closed socket's record from Redis in a task of its own, behind
    whatever the Redis pool already has to do (a reconnect storm: thousands of them). A
    reconnect of the same tab that looked the record up first was taken for the tab
    open on another socket and given a new token: its state lost, its page loaded
    afresh. Redis holds every write for a moment here (CLIENT PAUSE WRITE), so the
    delete is still pending when the tab reconnects; its lookup is a read."""

    async def scenario():
        _, b, watcher, reconnecting = await _watched(cluster, people, "u")
        token = reconnecting.token
        admin = Redis.from_url(REDIS_URL)
        try:
            await admin.execute_command("CLIENT", "PAUSE", 800, "WRITE")
            await reconnecting.reconnect(load_path="/")
        finally:
            await admin.execute_command("CLIENT", "UNPAUSE")
            await admin.aclose()
        await reconnecting.wait_for(lambda: reconnecting.status_of(b) == "online")
        for client in (watcher, reconnecting):
            await client.disconnect()
        return token, reconnecting.token, reconnecting.new_tokens

    before, after, new_tokens = run_async(scenario())
    assert new_tokens == 0
    assert after == before


def test_a_tab_back_on_its_instance_kept_its_state_current_and_one_back_elsewhere_loads_afresh(
    cluster, people, redis_prefix
):
    """With Redis too, a tab whose socket comes back to the instance it closed on within
    the grace got every change meanwhile, and its page load reads neither the presence
    snapshot nor the conversation list again (a reconnect storm is mostly such loads).
    What shows it from outside: a conversation made straight in the database, behind the
    app's back (no push announces it), is not in the kept list, and is in a list loaded
    afresh, as on a tab that comes back to another instance."""
    from tests.integration.messaging import ROW_PREFIX, held

    a, _ = people.user("ka")
    b, b_name = people.user("kb")
    cid = people.direct(a, b_name)

    def seq_of(client) -> int | None:
        return (held(client, ROW_PREFIX, cid) or {}).get("seq")

    async def away_and_back(ta, tb, status: str, back_to: str) -> dict:
        await tb.disconnect()
        while _tabs_in_registry(redis_prefix, b):  # until its instance handled the close
            await asyncio.sleep(0.02)
        before = seq_of(ta)
        await ta.set_status(status, path=f"/c/{cid}")
        body = f"while away, {status}"
        await ta.emit(f"{CHAT_STATE}.send_message", {"body": body, "key": f"k-{b}-{status}"}, f"/c/{cid}")
        await ta.wait_for(lambda: seq_of(ta) not in (None, before))
        seq = seq_of(ta)
        _, c_name = people.user("kc")
        hidden = people.direct(b, c_name)  # straight in the database
        await asyncio.sleep(1.0)  # the deliveries into b's closed tab run as tasks
        tb.backend_url = back_to
        await tb.reconnect(load_path="/")
        shown = "away" if status == "away" else "online"
        await tb.wait_for(lambda: tb.status_of(a) == shown and seq_of(tb) == seq)
        return {"hidden conversation listed": held(tb, ROW_PREFIX, hidden) is not None}

    async def scenario():
        ta = await tab(cluster.url(1), people, a, f"/c/{cid}", {"cid": str(cid)})
        tb = await tab(cluster.url(0), people, b)  # one worker: a reconnect comes back to it
        await tb.wait_for(lambda: tb.status_of(a) == "online")
        kept = await away_and_back(ta, tb, "away", cluster.url(0))
        elsewhere = await away_and_back(ta, tb, "auto", cluster.url(1))
        for client in (ta, tb):
            await client.disconnect()
        return kept, elsewhere

    kept, elsewhere = run_async(scenario())
    # Both show what changed while away (the waits above); only the kept one skipped the list.
    assert kept == {"hidden conversation listed": False}
    assert elsewhere == {"hidden conversation listed": True}


def _shown_choice(client: ReflexClient) -> str | None:
    """The status the tab's menu shows as chosen (the last one it received)."""
    shown = None
    for update in client.updates:
        for sub in (update.get("delta") or {}).values():
            shown = sub.get("chosen_status_rx_state_", shown)
    return shown


def test_a_choice_made_on_one_instance_holds_on_the_other_at_once(cluster, people):
    a, _ = people.user("ca")
    b, b_name = people.user("cb")
    people.direct(a, b_name)

    async def scenario():
        watcher = await tab(cluster.url(1), people, b)
        here = await tab(cluster.url(0), people, a)
        there = await tab(cluster.url(1), people, a)
        await watcher.wait_for(lambda: watcher.status_of(a) == "online")
        await here.set_status("invisible")
        await watcher.wait_for(lambda: watcher.status_of(a) == "offline")
        mark = len(watcher.updates)
        # A's other tab, on the other instance, is used and reloaded: it must not give
        # A away, and its menu shows the choice made on the first instance.
        await there.set_idle(True)
        await there.set_idle(False)
        await there.load("/")
        await asyncio.sleep(0.5)
        leaked = received(watcher, a, mark)
        shown = _shown_choice(there)
        await there.set_status("auto")
        await watcher.wait_for(lambda: watcher.status_of(a) == "online")
        for client in (watcher, here, there):
            await client.disconnect()
        return leaked, shown

    leaked, shown = run_async(scenario())
    assert leaked == []
    assert shown == "invisible"


def test_typing_custom_status_and_receipts_cross_instances_and_a_request_hides_the_answerer(cluster, people):
    a, _ = people.user("xta")
    b, b_name = people.user("xtb")
    stranger, _ = people.user("xts")
    cid = people.direct(a, b_name)
    with people.session() as session:  # the stranger writes to b; b never answers
        request, _ = conversations.open_direct(session, user_id=stranger, other_username=b_name)
    typing_key = wire.keyed_entry(wire.TYPING_MAP, f"{cid}-{a}")
    custom_key = wire.keyed_entry(wire.CUSTOM_STATUS_MAP, b)
    seen_key = wire.keyed_entry(wire.SEEN_MAP, b)

    async def scenario():
        ta = await tab(cluster.url(0), people, a, f"/c/{cid}", {"cid": str(cid)})
        tb = await tab(cluster.url(1), people, b, f"/c/{cid}", {"cid": str(cid)})
        ts = await tab(cluster.url(0), people, stranger, f"/c/{request}", {"cid": str(request)})
        await tb.emit(wire.SET_SEEING, {"seeing": True}, f"/c/{cid}")
        await ta.emit(wire.SET_TYPING, {"typing": True}, f"/c/{cid}")
        await tb.wait_for(lambda: _holds(tb, typing_key, lambda v: v is not None), RELAY_BOUND * 5)
        await ta.emit(wire.SET_TYPING, {"typing": False}, f"/c/{cid}")
        await tb.wait_for(lambda: _holds(tb, typing_key, lambda v: v is None), RELAY_BOUND * 5)
        form = {"emoji": "🎧", "text": "Focusing", "clear_after": "1h", "utc_offset": "0"}
        await tb.emit(wire.SET_CUSTOM_STATUS, {"form_data": form}, f"/c/{cid}")
        await ta.wait_for(lambda: _holds(ta, custom_key, lambda v: v and v[1] == "Focusing"), RELAY_BOUND * 5)
        await ta.emit(
            f"{CHAT_STATE}.send_message", {"body": "seen across?", "key": "across-seen-1"}, f"/c/{cid}"
        )
        await ta.wait_for(lambda: _holds(ta, seen_key, lambda v: v and v["seq"] >= 1), RELAY_BOUND * 5)
        await asyncio.sleep(0.5)
        stranger_frames = [
            f for f in ts.raw_frames if isinstance(f, str) and (custom_key in f or f"presence_map.{b}" in f)
        ]
        for client in (ta, tb, ts):
            await client.disconnect()
        return stranger_frames

    assert run_async(scenario()) == []  # nothing of b reaches the stranger b never answered


def test_a_presence_change_crosses_to_the_other_instance_as_one_message_on_the_push_channel(
    cluster, people, redis_prefix
):
    a, _ = people.user("pa")
    b, b_name = people.user("pb")
    people.direct(a, b_name)

    async def scenario():
        ta = await tab(cluster.url(0), people, a)
        tb = await tab(cluster.url(1), people, b)
        await tb.wait_for(lambda: tb.status_of(a) == "online")
        redis = Redis.from_url(REDIS_URL)
        heard: list[dict] = []
        async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(channel_of(redis_prefix))
            await ta.set_status("away")
            await tb.wait_for(lambda: tb.status_of(a) == "away", RELAY_BOUND * 5)
            heard += await _published(pubsub)
        await redis.aclose()
        for client in (ta, tb):
            await client.disconnect()
        return heard

    heard = run_async(scenario())
    # (Other tests' users may still be going offline on this channel meanwhile.)
    presence = [m for m in heard if m["recipe"][0] == "presence" and m["recipe"][1][0]["user_id"] == a]
    # One message for the change, naming its watchers: the instance holding B's tab made
    # the change from it (before the push channel, nothing was published: the tab's state
    # went through Redis instead).
    assert len(presence) == 1, heard
    assert b in presence[0]["users"]
    assert presence[0]["recipe"][1][0]["status"] == "away"


def test_a_message_crosses_as_one_push_message_and_its_reader_there_is_recorded(
    cluster, people, redis_prefix
):
    """The instance that stores a message makes it in its own tabs and publishes it once;
    the instance holding the reader's socket shows it to her and records her read (the
    author's tab gets her receipt, published once too), and her tab on the first
    instance gets the message as well."""
    a, _ = people.user("ma")
    b, b_name = people.user("mb")
    cid = people.direct(a, b_name)
    seen_key = wire.keyed_entry(wire.SEEN_MAP, b)

    async def scenario():
        ta = await tab(cluster.url(0), people, a, f"/c/{cid}", {"cid": str(cid)})
        tb = await tab(cluster.url(1), people, b, f"/c/{cid}", {"cid": str(cid)})
        tb_list = await tab(cluster.url(0), people, b)  # her list, on the author's instance
        await tb.emit(wire.SET_SEEING, {"seeing": True}, f"/c/{cid}")
        redis = Redis.from_url(REDIS_URL)
        heard: list[dict] = []
        marks = len(tb.updates), len(tb_list.updates)
        async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(channel_of(redis_prefix))
            sent = {"body": "one publish", "key": "one-publish-1"}
            await ta.emit(f"{CHAT_STATE}.send_message", sent, f"/c/{cid}")
            await tb.wait_for(lambda: _got(tb, "one publish", marks[0]), RELAY_BOUND * 5)
            await tb_list.wait_for(lambda: _got(tb_list, "one publish", marks[1]), RELAY_BOUND * 5)
            await ta.wait_for(lambda: _holds(ta, seen_key, lambda v: v and v["seq"] >= 1), RELAY_BOUND * 5)
            heard += await _published(pubsub)
        await redis.aclose()
        for client in (ta, tb, tb_list):
            await client.disconnect()
        return heard

    heard = run_async(scenario())
    posted = [m for m in heard if m["recipe"][0] == "message"]
    assert len(posted) == 1, heard
    assert set(posted[0]["users"]) == {a, b}
    assert posted[0]["recipe"][1][0]["body"] == "one publish"
    # Her read's receipt crossed back the same way: once, from her instance.
    receipts = [m for m in heard if m["recipe"][0] == "receipt" and m["recipe"][1][1]["user_id"] == b]
    assert len(receipts) == 1, heard
    assert a in receipts[0]["users"]
