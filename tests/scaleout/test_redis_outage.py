"""Redis goes away under two running instances and comes back, emptied by a restart or
with its data (a frozen server): every open tab is back to live messages and right
presence within 5 s, signed in, without a reload; a tab closed meanwhile shows offline.

Each test starts a Redis server of its own on its own port (it kills and restarts it),
and two instances of the app on it (production mode, PostgreSQL), with raw websocket
clients that reconnect as the browser's frontend does. What the browser shows meanwhile
(the connection line, the draft kept) is tests/e2e/test_outage.py's.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import socketio

from bench.app_server import AppServer
from bench.browser_latency.app import copy_project
from bench.reflex_client import NAMESPACE, ReflexClient
from bench.services import RedisServer
from chatapp import outage
from chatapp.services.limits import Limiter
from chatapp.services.login_throttle import LoginThrottle
from chatapp.wire import CHAT_STATE
from tests.scaleout.support import Cluster, People, received, tab
from tests.support import run_async, until

BACK_WITHIN = 5.0  # seconds from Redis answering again to every tab live and right
OUTAGE = 4.0  # seconds Redis stays away


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis server of the test's own (it kills, freezes and restarts it)."""
    server = RedisServer().start()
    yield server
    server.kill()


@pytest.fixture
def two_instances(postgres_url, own_redis) -> Iterator[Cluster]:
    env = {"REFLEX_REDIS_URL": own_redis.url, "CHATAPP_PRESENCE_PREFIX": "chatapp-outage"}
    running = Cluster(postgres_url, env, workers=(1, 1))
    running.start_all()
    try:
        yield running
        logs = [running.log(i) for i in range(2)]
    finally:
        running.stop_all()
    # Redis's own errors are expected while it is away; the app's must not be there.
    for log in logs:
        for line in ("presence socket handling failed", "a delivery to tabs failed", "writing last-seen"):
            assert line not in log, log[-3000:]


def _signed_in_as(client: ReflexClient, user_id: int, since: int) -> bool:
    """Whether the session fields the tab received since its `since`-th update say it
    is signed in as the user (a page load after a reconnect sends them)."""
    seen = None
    for update in client.updates[since:]:
        for sub in (update.get("delta") or {}).values():
            if "user_id_rx_state_" in sub:
                seen = sub["user_id_rx_state_"]
    return seen == user_id


async def _outage_and_back(cluster: Cluster, people: People, redis_server: RedisServer, *, emptied: bool):
    a, _ = people.user("oa")
    b, b_name = people.user("ob")
    c, _ = people.user("oc")
    cid = people.direct(a, b_name)
    people.direct(c, b_name)
    page = (f"/c/{cid}", {"cid": str(cid)})
    ta = await tab(cluster.url(0), people, a, *page)
    tb = await tab(cluster.url(1), people, b)
    tc = await tab(cluster.url(0), people, c)
    for client in (ta, tb, tc):
        client.auto_reconnect = True
    await tb.wait_for(lambda: tb.status_of(a) == "online" and tb.status_of(c) == "online")

    went = time.monotonic()
    if emptied:
        redis_server.kill()
    else:
        redis_server.pause()
    # Every instance notices and closes its sockets (the clients see it), within a
    # ping's timeout or two.
    for client in (ta, tb):
        await until(lambda client=client: not client.sio.connected, 10)
    noticed = time.monotonic() - went
    # Meanwhile a new socket is refused with the reason, and C's tab closes for good.
    stranger = ReflexClient(cluster.url(1), people.login(a))
    reasons: list = []
    stranger.sio.on("connect_error", reasons.append, namespace=NAMESPACE)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await stranger.connect(load_path="/")
    await tc.disconnect()
    await asyncio.sleep(OUTAGE)

    if emptied:
        await asyncio.to_thread(redis_server.start)
    else:
        redis_server.resume()
    back = time.monotonic()
    mark = len(tb.updates)
    marks = {ta: len(ta.updates), tb: mark}
    reconnected = {}
    for name, client, uid in (("a", ta, a), ("b", tb, b)):
        await until(lambda client=client, uid=uid: _signed_in_as(client, uid, marks[client]), BACK_WITHIN)
        reconnected[name] = time.monotonic() - back
    # A message sent now reaches the other tab live, on the other instance.
    await ta.emit(f"{CHAT_STATE}.send_message", {"body": "after the outage", "key": "outage-1"}, page[0])
    await tb.wait_for(lambda: "after the outage" in json.dumps(tb.updates[mark:]), BACK_WITHIN)
    live = time.monotonic() - back
    # C, who left during the outage, is shown offline; A never was.
    await tb.wait_for(lambda: tb.status_of(c) == "offline", BACK_WITHIN)
    c_offline = time.monotonic() - back
    a_seen = [entry["status"] for entry in received(tb, a, mark)]
    a_now = tb.status_of(a)
    for client in (ta, tb):
        await client.disconnect()
    return {
        "refused": reasons,
        "noticed": noticed,
        "reconnected": reconnected,
        "live": live,
        "c_offline": c_offline,
        "a_seen": a_seen,
        "a_now": a_now,
    }


@pytest.mark.parametrize("emptied", [True, False], ids=["restarted-empty", "frozen-with-its-data"])
def test_tabs_are_back_live_signed_in_and_right_within_5_s_after_redis_returns(
    two_instances, people, own_redis, emptied
):
    result = run_async(_outage_and_back(two_instances, people, own_redis, emptied=emptied))
    print(
        f"Redis {'restarted empty' if emptied else 'frozen'}: noticed {result['noticed']:.2f} s; back: "
        f"tabs reconnected and signed in {result['reconnected']['a']:.2f}"
        f" / {result['reconnected']['b']:.2f} s, "
        f"a message live {result['live']:.2f} s, the departed user offline {result['c_offline']:.2f} s"
    )
    assert "reconnecting to its data store" in json.dumps(result["refused"])
    assert result["live"] < BACK_WITHIN
    assert result["c_offline"] < BACK_WITHIN
    assert result["c_offline"] >= outage.RECOVERY_GRACE - 0.5  # not before a tab could come back
    assert result["a_now"] == "online"
    assert "offline" not in result["a_seen"], result["a_seen"]  # A, back in time, never blinked


@pytest.fixture
def long_grace_instance(postgres_url, own_redis) -> Iterator[Cluster]:
    """One instance on the test's Redis whose closed tabs stay closed (not gone) for
    30 s: long enough to come back after an outage."""
    env = {
        "REFLEX_REDIS_URL": own_redis.url,
        "CHATAPP_PRESENCE_PREFIX": "chatapp-outage-kept",
        "CHATAPP_PRESENCE_GRACE": "30",
    }
    running = Cluster(postgres_url, env, workers=(1,))
    running.start_all()
    try:
        yield running
    finally:
        running.stop_all()


def test_a_tab_closed_before_an_outage_loads_its_page_afresh_when_it_comes_back(
    long_grace_instance, people, own_redis
):
    """A tab closed on an instance gets every change while it is away, and comes back
    without loading its page again (test_two_instances.py). Changes published while
    Redis is away may be lost: a tab closed before an outage that comes back after it,
    within its grace, loads everything afresh. Two things see to it, and either is
    enough here: the instance gives up its states' leases when Redis is back (the tab's
    state is rebuilt, `redis_store.came_back`), and no tab closed on it counts as
    current (`RedisRegistry.changes_lost`). The change standing for the lost ones is a
    conversation made straight in the database during the outage (no push announces
    it): the tab lists it only if it loaded its list again."""
    from tests.integration.messaging import ROW_PREFIX, held

    cluster = long_grace_instance
    a, _ = people.user("ka")
    b, _ = people.user("kb")
    _, c_name = people.user("kc")

    async def scenario():
        watch = await tab(cluster.url(0), people, a)  # its socket shows when the instance noticed
        watch.auto_reconnect = True
        away = await tab(cluster.url(0), people, b)
        await away.disconnect()
        store = redis.Redis.from_url(own_redis.url)
        await until(lambda: store.exists(f"chatapp-outage-kept:closed:{away.token}"), 10)  # closed, kept
        store.close()
        own_redis.pause()
        await until(lambda: not watch.sio.connected, 10)
        hidden = people.direct(b, c_name)  # during the outage, behind the app's back
        own_redis.resume()
        mark = len(watch.updates)
        await until(lambda: _signed_in_as(watch, a, mark), BACK_WITHIN)
        await away.reconnect(load_path="/")
        # Loaded afresh, its list holds the conversation (kept, it would never).
        await until(lambda: held(away, ROW_PREFIX, hidden) is not None, BACK_WITHIN)
        for client in (watch, away):
            await client.disconnect()

    run_async(scenario())


@pytest.fixture
def app_with_pages(own_redis, tmp_path) -> Iterator[tuple[AppServer, People]]:
    """One instance on the test's Redis, its pages built (a copy of the project: the
    build writes into `.web`), SQLite."""
    writer: list[People] = []
    server = AppServer(
        env={"REFLEX_REDIS_URL": own_redis.url, "GRANIAN_WORKERS": "1"},
        frontend=True,
        workdir=copy_project(tmp_path / "app"),
        before_start=lambda url: writer.append(People(url)),
        ready_timeout=400,
    )
    with server:
        yield server, writer[0]
    writer[0].close()


@pytest.mark.parametrize("emptied", [True, False], ids=["restarted-empty", "frozen-with-its-data"])
def test_a_page_says_it_is_reconnecting_keeps_the_draft_and_sends_it_once_when_back(
    app_with_pages, own_redis, browser, emptied
):
    from playwright.sync_api import expect

    server, people = app_with_pages
    a, _ = people.user("pa")
    b, b_name = people.user("pb")
    cid = people.direct(a, b_name)

    def page_of(user_id: int, **options):
        context = browser.new_context(**options)
        context.add_init_script(f"window.localStorage.setItem('_auth_token', {people.login(user_id)!r});")
        page = context.new_page()
        page.goto(f"{server.frontend_url}/c/{cid}")
        expect(page.locator("#conversation-title")).to_be_visible(timeout=30_000)
        return page

    alice = page_of(a, viewport={"width": 390, "height": 800}, has_touch=True)
    bob = page_of(b, viewport={"width": 1200, "height": 800})
    status = alice.get_by_role("status").filter(has_text="Reconnecting")
    expect(status).to_have_count(0)
    # A send the server never confirmed (it reached a server that lost it): still in the
    # tab's outbox, as the composer leaves it.
    alice.evaluate(
        """cid => sessionStorage.setItem("chatapp.outbox",
             JSON.stringify({"unconfirmed-1": {cid: String(cid), body: "sent as Redis went"}}))""",
        cid,
    )

    if emptied:
        own_redis.kill()
    else:
        own_redis.pause()
    expect(status).to_be_visible(timeout=10_000)
    expect(status).to_contain_text("What you type stays here")
    composer = alice.locator("#composer")
    composer.click()
    alice.keyboard.type("typed while it was away", delay=15)
    alice.keyboard.press("Enter")
    alice.keyboard.press("Enter")
    expect(composer).to_have_value("typed while it was away")  # refused, and kept

    if emptied:
        own_redis.start()
    else:
        own_redis.resume()
    expect(status).to_have_count(0, timeout=10_000)
    expect(bob.locator("#messages")).to_contain_text("sent as Redis went", timeout=10_000)
    composer.press("Enter")
    expect(bob.locator("#messages")).to_contain_text("typed while it was away", timeout=10_000)
    expect(composer).to_have_value("")
    # Each once, in both tabs, and nothing left waiting in the outbox.
    for page in (alice, bob):
        text = page.locator("#messages").inner_text()
        assert text.count("typed while it was away") == 1
        assert text.count("sent as Redis went") == 1
    assert alice.evaluate("() => sessionStorage.getItem('chatapp.outbox')") == "{}"


def test_the_login_throttle_holds_through_a_restart_of_the_deployments_redis(tmp_path):
    """Failed logins are remembered for a day, in Redis: the Redis of deploy/compose.yaml
    keeps them on disk, so a crash and restart of it lets no one guess faster."""
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed (it belongs in requirements-dev.txt)")
    compose = yaml.safe_load((Path(__file__).parents[2] / "deploy" / "compose.yaml").read_text())
    command = compose["services"]["redis"]["command"]
    assert command[0] == "redis-server"
    server = RedisServer(options=command[1:], data_dir=tmp_path)
    server.start()
    stranger = "203.0.113.77"

    async def waits():
        limiter = Limiter.on_redis(server.url)
        try:
            return await LoginThrottle(limiter).wait("alice", stranger)
        finally:
            await limiter.close()

    async def fail_five_times():
        limiter = Limiter.on_redis(server.url)
        throttle = LoginThrottle(limiter)
        try:
            for _ in range(5):  # the 4th failure makes the next attempt wait 1 s
                await asyncio.sleep(await throttle.wait("alice", stranger))
                await throttle.begin("alice", stranger)
                await throttle.failed("alice", stranger)
        finally:
            await limiter.close()

    try:
        run_async(fail_five_times())
        before = run_async(waits())
        server.kill()  # a crash: no shutdown of its own
        server.start()
        after = run_async(waits())
    finally:
        server.kill()
    assert before > 1.5  # the 5th failure: 2 s
    assert after > 1.0, "the restarted Redis forgot the failures: a guesser starts afresh"
