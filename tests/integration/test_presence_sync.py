"""Two (or more) raw websocket clients speaking Reflex's protocol against the real app."""

from __future__ import annotations

import asyncio
import time

import reflex as rx
import sqlalchemy as sa

from chatapp import runtime, wire
from chatapp.models import Conversation, Participant, Profile, User, utcnow
from tests.integration.messaging import send
from tests.integration.support import open_tab, two_contacts, watching
from tests.support import (
    PRESENCE_PREFIX,
    create_user,
    on_backend,
    presence_key,
    run_async,
    wait_until,
)

GROUPS_STATE = wire.GROUPS_STATE


def test_toggling_a_users_status_updates_the_other_users_client_state(backend_url):
    a_id, b_id = two_contacts("sa", "sb")

    async def scenario():
        b, a = await watching(backend_url, b_id, a_id)
        await a.set_status("away")
        await b.wait_for(lambda: b.status_of(a_id) == "away")
        await a.set_status("auto")
        await b.wait_for(lambda: b.status_of(a_id) == "online")
        before = time.time() * 1000
        await a.disconnect()
        await b.wait_for(lambda: b.status_of(a_id) == "offline")
        entry = b.presence[str(a_id)]
        await b.disconnect()
        return entry, before

    entry, before = run_async(scenario())
    assert entry["type"] == "presence"
    assert entry["is_online"] is False
    assert entry["user_id"] == a_id
    assert before - 1000 <= entry["last_seen_at"] <= time.time() * 1000


def test_a_forged_status_is_refused_and_changes_nothing(backend_url):
    a_id, b_id = two_contacts("fa", "fb")

    async def scenario():
        b, a = await watching(backend_url, b_id, a_id)
        mark = len(b.updates)
        await a.set_status("offline")  # not a status a user may choose here
        await a.set_status("away")  # a real change, to know the first one was processed
        await b.wait_for(lambda: b.status_of(a_id) == "away")
        seen = [u for u in b.updates[mark:] if presence_key(a_id) in str(u)]
        for c in (a, b):
            await c.disconnect()
        return seen

    seen = run_async(scenario())
    statuses = [
        v["status"]
        for u in seen
        for s in u["delta"].values()
        for k, v in s.items()
        if k.startswith(PRESENCE_PREFIX)
    ]
    assert statuses == ["away"]


def _bulk_contacts(user_id: int, count: int) -> list[int]:
    """`count` users, each in a direct conversation with `user_id` (fast bulk inserts)."""
    now = utcnow()
    with rx.session() as session:
        start = session.exec(sa.select(sa.func.max(User.id))).one()[0] or 0
        ids = list(range(start + 1, start + 1 + count))
        session.execute(
            sa.insert(User),
            [{"id": i, "username": f"bulk{i}", "password_hash": b"!", "enabled": True} for i in ids],
        )
        session.execute(
            sa.insert(Profile), [{"user_id": i, "display_name": f"Bulk {i}", "created_at": now} for i in ids]
        )
        first = (session.exec(sa.select(sa.func.max(Conversation.id))).one()[0] or 0) + 1
        cids = list(range(first, first + count))
        session.execute(
            sa.insert(Conversation),
            [
                {
                    "id": c,
                    "kind": "direct",
                    "direct_key": f"{min(user_id, i)}:{max(user_id, i)}",
                    "created_at": now,
                    "last_activity_at": now,
                }
                for c, i in zip(cids, ids, strict=True)
            ],
        )
        session.execute(
            sa.insert(Participant),
            [
                {"conversation_id": c, "user_id": u, "joined_at": now, "last_read_message_id": 0}
                for c, i in zip(cids, ids, strict=True)
                for u in (user_id, i)
            ],
        )
        session.commit()
    return ids


def test_one_change_costs_a_few_hundred_bytes_for_a_watcher_with_1000_contacts(backend_url):
    b_id, _ = create_user("wide")
    contacts = _bulk_contacts(b_id, 1000)
    a_id = contacts[0]

    async def scenario():
        b = await open_tab(backend_url, b_id)
        await b.wait_for(lambda: len(b.presence) == 1001)
        await asyncio.sleep(0.3)
        mark = len(b.raw_frames)
        a = await open_tab(backend_url, a_id)
        await b.wait_for(lambda: b.status_of(a_id) == "online")
        await asyncio.sleep(0.3)  # anything else this change causes arrives too
        frames = b.raw_frames[mark:]
        for c in (a, b):
            await c.disconnect()
        return frames, b.raw_frames

    frames, all_frames = run_async(scenario())
    snapshot_bytes = sum(len(f) for f in all_frames) - sum(len(f) for f in frames)
    assert snapshot_bytes > 50_000  # control: the snapshot really held 1,000 entries
    assert len(frames) == 1
    assert len(frames[0]) < 400, frames[0]


def test_joining_a_shared_conversation_brings_presence_and_leaving_stops_it(backend_url):
    a_id, a_name = create_user("ja")
    c_id, c_name = create_user("jc")

    async def scenario():
        a = await open_tab(backend_url, a_id)
        c = await open_tab(backend_url, c_id)
        await asyncio.sleep(0.3)
        assert c.status_of(a_id) is None and a.status_of(c_id) is None
        # The new-group dialog: search, pick, create.
        await a.emit(wire.SEARCH_PEOPLE, {"query": c_name})
        await a.emit(f"{wire.PEOPLE_STATE}.pick_person", {"user_id": c_id})
        await a.emit(f"{GROUPS_STATE}.create_group", {"form_data": {"title": "Joined"}})
        # a reached out: c sees a at once; c is seen in the group once c writes there.
        await c.wait_for(lambda: c.status_of(a_id) == "online")
        with rx.session() as session:
            cid = session.exec(sa.select(sa.func.max(Conversation.id))).one()[0]
        await asyncio.sleep(0.3)
        unseen = a.status_of(c_id)
        await c.load(f"/c/{cid}", {"cid": str(cid)})
        await send(c, cid, "hello, thanks for adding me")
        await a.wait_for(lambda: a.status_of(c_id) == "online")
        await c.emit(f"{GROUPS_STATE}.leave_group", {}, path=f"/c/{cid}")
        await c.wait_for(lambda: c.status_of(a_id) is None)
        await a.wait_for(lambda: a.status_of(c_id) is None)
        mark = len(c.raw_frames)
        await a.set_status("away")
        await a.wait_for(lambda: a.status_of(a_id) == "away")
        await asyncio.sleep(0.5)
        after = c.raw_frames[mark:]
        for x in (a, c):
            await x.disconnect()
        return unseen, after

    unseen, after = run_async(scenario())
    assert unseen is None
    assert not any(presence_key(a_id) in str(f) for f in after), f"@{a_name}'s status still reaches @{c_name}"


async def _registered(service, user_id: int, token: str):
    """The registry's record of a tab of the user (None if it holds none)."""
    return next((t for t in await service.registry.tabs_of(user_id) if t.token == token), None)


def test_the_disconnect_hook_ends_the_tab_when_its_socket_closes(backend_url):
    user_id, _ = create_user("hook")
    service = runtime.presence()

    async def scenario():
        tab = await open_tab(backend_url, user_id)
        await tab.wait_for(lambda: tab.status_of(user_id) == "online")
        token = tab.token
        await tab.disconnect()
        return token

    token = run_async(scenario())
    wait_until(
        lambda: on_backend(_registered(service, user_id, token)) is None,
        timeout=5,
        message="the tab to be unregistered",
    )
    on_backend(service.drain())
    assert on_backend(service.registry.tabs_of(user_id)) == []


def test_the_connect_hook_takes_back_a_tab_whose_socket_reopens_within_the_grace(backend_url):
    from chatapp.presence.logic import Status
    from chatapp.settings import settings

    user_id, _ = create_user("back")
    service = runtime.presence()
    namespace = runtime.push().app.event_namespace

    async def scenario():
        tab = await open_tab(backend_url, user_id)
        await tab.wait_for(lambda: tab.status_of(user_id) == "online")
        token = tab.token
        await tab.disconnect()
        while on_backend(_registered(service, user_id, token)) is not None:  # the close is handled
            await asyncio.sleep(0.02)
        tab.sio = tab._new_socket()
        await tab.connect()  # a new socket with the same tab token, no page load yet
        await asyncio.sleep(settings.presence_grace + 0.5)
        held = on_backend(_registered(service, user_id, token))
        sid = dict(namespace.token_to_sid).get(token)
        status = on_backend(service.status_of(user_id))
        await tab.disconnect()
        return held, sid, status

    held, sid, status = run_async(scenario())
    assert held is not None and sid is not None and held.sid == sid
    assert status == Status.ONLINE  # never published offline while the page was to load


def test_a_reconnecting_tab_whose_login_ended_meanwhile_goes_offline_at_its_page_load(backend_url):
    from chatapp.models import LoginSession
    from chatapp.services import logins

    a_id, b_id = two_contacts("ea", "eb")

    async def scenario():
        b, a = await watching(backend_url, b_id, a_id)
        with rx.session() as session:  # logged out elsewhere: the login session is gone
            ended = sa.delete(LoginSession).where(LoginSession.session_id == logins.digest(a.auth_token))
            session.exec(ended)
            session.commit()
        # The socket drops and comes back: taken back at connect, then its page loads.
        await a.reconnect(load_path="/", wait=False)
        # Its socket stays open: only the page load can end it.
        await b.wait_for(lambda: b.status_of(a_id) == "offline", timeout=10)
        registered = on_backend(_registered(runtime.presence(), a_id, a.token))
        for x in (a, b):
            await x.disconnect()
        return registered

    assert run_async(scenario()) is None


def _entry_in(updates: list[dict], state: str, key: str):
    """The last value of one key of a state that these updates carried (None: none)."""
    found = None
    for update in updates:
        found = ((update.get("delta") or {}).get(state) or {}).get(key, found)
    return found


def test_a_tab_back_within_the_grace_kept_its_state_current_and_loads_without_a_snapshot(backend_url):
    """A reconnect storm is mostly page loads of tabs taken back within the grace: their
    states got every change while their sockets were closed, so their page loads skip
    the presence snapshot and the conversation list (docs/benchmarks.md). A tab back
    after its grace loads both afresh."""
    from datetime import timedelta

    from chatapp.settings import settings
    from tests.integration.messaging import ROW_PREFIX, held
    from tests.support import direct

    a_id, _ = create_user("ka")
    b_id, b_name = create_user("kb")
    cid = direct(a_id, b_name)
    service = runtime.presence()
    snapshots: list[int] = []
    real_snapshot = service.snapshot

    async def counted(user_id: int):
        snapshots.append(user_id)
        return await real_snapshot(user_id)

    async def away_and_back(b, a, status: str, grace: float, away_for: float) -> dict:
        """b's socket closes; meanwhile a chooses `status` and writes to b; b comes back."""
        service.grace = timedelta(seconds=grace)
        await b.disconnect()
        while on_backend(_registered(service, b_id, b.token)) is not None:  # the close is handled
            await asyncio.sleep(0.02)
        seq = (held(a, ROW_PREFIX, cid) or {}).get("seq", 0) + 1
        await a.set_status("away" if status == "away" else "auto", path=f"/c/{cid}")
        await send(a, cid, f"while b was away ({status})")
        await a.wait_for(lambda: a.status_of(a_id) == status)
        await a.wait_for(lambda: (held(a, ROW_PREFIX, cid) or {}).get("seq") == seq)
        await asyncio.sleep(away_for)  # the deliveries into b's state run as tasks
        del snapshots[:]
        mark = len(b.updates)
        await b.reconnect(load_path="/")
        loaded = b.updates[mark:]
        return {
            "status": (_entry_in(loaded, wire.APP_STATE, f"{PRESENCE_PREFIX}{a_id}") or {}).get("status"),
            "seq": (_entry_in(loaded, wire.CHAT_STATE, f"{ROW_PREFIX}{cid}") or {}).get("seq"),
            "expected": (status, seq),
            "snapshot": b_id in snapshots,
        }

    async def scenario():
        b = await open_tab(backend_url, b_id)
        a = await open_tab(backend_url, a_id, f"/c/{cid}")
        await b.wait_for(lambda: b.status_of(a_id) == "online")
        service.snapshot = counted
        try:
            # Away for less than its grace (a long one: the steps may be slow under load).
            kept = await away_and_back(b, a, "away", grace=30, away_for=0.3)
            lost = await away_and_back(b, a, "online", grace=0.2, away_for=1.0)
        finally:
            del service.snapshot
            service.grace = timedelta(seconds=settings.presence_grace)
        for x in (a, b):
            await x.disconnect()
        return kept, lost

    kept, lost = run_async(scenario())
    # Taken back: the hydrate carries what changed while away; no snapshot was taken.
    assert ((kept["status"], kept["seq"]), kept["snapshot"]) == (kept["expected"], False)
    # Back after its grace: presence loaded afresh, with the same result.
    assert ((lost["status"], lost["seq"]), lost["snapshot"]) == (lost["expected"], True)
