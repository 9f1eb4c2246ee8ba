"""Malformed websocket payloads from a raw client: the server stays up, nothing leaks,
and other users are not affected. Payloads are generated with hypothesis; then every
handler of the chat states is swept with hostile values under its own argument names
(refused without an error logged) and with arguments it does not take."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest
import reflex as rx
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.reflex_client import ReflexClient
from chatapp.models import Conversation, Message, Participant
from chatapp.wire import APP_STATE, CHAT_STATE, PEOPLE_STATE, ROOT_STATE, TYPING_STATE
from tests.integration.messaging import GROUPS_STATE, caught_up, latest, new_key, send
from tests.integration.support import open_tab, watching
from tests.support import PRESENCE_PREFIX, auth_token_for, create_user, direct, group, run_async

CHAT = ["load_home", "load_conversation", "load_older", "send_message", "clear_error", "start_edit"]
CHAT += ["cancel_edit", "ask_delete", "cancel_delete", "save_edit", "delete_message"]
CHAT += ["set_seeing", "set_muted", "set_read_receipts", "accept_request", "block_peer", "unblock_peer"]
GROUPS = ["set_direct_open", "set_group_open", "start_direct_with", "create_group", "add_members"]
GROUPS += ["leave_group"]
PEOPLE = ["search_people", "pick_person", "unpick_person", "reset_people"]
# PeopleState's helpers for other states: private, so no browser can call them.
PEOPLE_HELPERS = ["_clear_people", "_result", "_picked_ids", "_picked_usernames"]
HANDLERS = [
    f"{APP_STATE}.set_status",
    f"{APP_STATE}.set_idle",
    f"{APP_STATE}.set_presence_audience",
    f"{APP_STATE}.set_share_typing",
    f"{APP_STATE}.set_custom_status",
    f"{APP_STATE}.clear_custom_status",
    f"{TYPING_STATE}.set_typing",
    f"{TYPING_STATE}.set_rows_in_view",
    f"{APP_STATE}.handle_presence_changed",
    f"{APP_STATE}._presence_changed",
    f"{APP_STATE}._presence_changed_in_place",
    f"{CHAT_STATE}._message_arrived",
    f"{CHAT_STATE}._refresh_contacts",
    *(f"{CHAT_STATE}.{h}" for h in CHAT),
    *(f"{GROUPS_STATE}.{h}" for h in GROUPS),
    *(f"{PEOPLE_STATE}.{h}" for h in PEOPLE + PEOPLE_HELPERS),
    f"{ROOT_STATE}.no_such_handler",
    "not.a.state.at_all",
]
# The handlers' argument names, and others.
ARGS = ["choice", "idle", "form_data", "value", "body", "key", "before_id", "message_id", "user_id"]
ARGS += ["query", "data", "x", "seeing", "conversation_id", "muted", "on", "typing", "ids"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True),
    st.text(max_size=50),
    st.sampled_from([100_000]).map(lambda n: "x" * n),  # a huge value
)


@dataclass
class Scene:
    """An attacker in a direct chat with a peer (a message each), and a group of the
    peer and a bystander that the attacker is not in (a message of the peer's)."""

    attacker: int
    peer: int
    bystander: int
    cid: int
    group: int
    own_message: int
    peer_message: int
    group_message: int

    def others(self) -> list[int]:
        """Ids of other people's users, conversations and messages."""
        return [self.peer, self.bystander, self.group, self.peer_message, self.group_message]


def _scene(backend_url: str) -> Scene:
    attacker, _ = create_user("fuzz")
    peer, peer_name = create_user("peer")
    bystander, bystander_name = create_user("bystand")
    cid = direct(attacker, peer_name)
    gid = group(peer, "Not yours", [bystander_name])

    async def write() -> list[int]:
        ids = []
        for user, conversation, body in ((attacker, cid, "mine"), (peer, cid, "theirs"), (peer, gid, "ours")):
            tab = await open_tab(backend_url, user, f"/c/{conversation}")
            await send(tab, conversation, body)
            await tab.wait_for(lambda tab=tab, body=body: body in json.dumps(tab.updates[-1:]))
            await tab.disconnect()
            ids.append(_newest(conversation))
        return ids

    own, peer_message, group_message = run_async(write())
    return Scene(attacker, peer, bystander, cid, gid, own, peer_message, group_message)


def _newest(cid: int) -> int:
    with rx.session() as session:
        return session.exec(sa.select(sa.func.max(Message.id)).where(Message.conversation_id == cid)).one()[0]


def _stored(where: Any = None) -> list[Any]:
    """Conversations, memberships and messages as stored (those of one conversation)."""
    with rx.session() as session:
        out = []
        for table in (Conversation, Participant, Message):
            query = sa.select(*table.__table__.columns).order_by(table.id)
            if where is not None:
                column = table.id if table is Conversation else table.conversation_id
                query = query.where(column == where)
            out.append([tuple(row) for row in session.exec(query).all()])
        return out


@pytest.mark.hostile_client
def test_malformed_events_do_not_crash_the_server_or_disturb_other_users(backend_url):
    scene = _scene(backend_url)
    group_before = _stored(scene.group)
    leaves = st.one_of(scalars, st.sampled_from(scene.others()))
    values = st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
        max_leaves=10,
    )
    payloads = st.one_of(st.dictionaries(st.sampled_from(ARGS), values, max_size=3), values)

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        path=st.sampled_from(["/", f"/c/{scene.cid}", f"/c/{scene.group}"]),
        events=st.lists(st.tuples(st.sampled_from(HANDLERS), payloads), min_size=1, max_size=5),
    )
    def fuzz(path, events):
        async def scenario():
            attacker = ReflexClient(backend_url, auth_token_for(scene.attacker))
            await attacker.connect()
            await attacker.load(path)
            for name, payload in events:
                await attacker.sio.emit(
                    "event",
                    {"name": name, "payload": payload, "router_data": {"pathname": path}},
                    namespace="/_event",
                )
            await asyncio.sleep(0.05)
            await attacker.disconnect()

        run_async(scenario())

    fuzz()

    async def still_works():
        b, c = await watching(backend_url, scene.bystander, scene.peer)
        await c.set_status("away")
        await b.wait_for(lambda: b.status_of(scene.peer) == "away")
        leaked = b.status_of(scene.attacker)
        for x in (b, c):
            await x.disconnect()
        return leaked

    leaked = run_async(still_works())
    with rx.session() as session:
        shared = session.exec(
            sa.select(sa.func.count())
            .select_from(Participant)
            .where(
                Participant.user_id == scene.bystander,
                Participant.conversation_id.in_(
                    sa.select(Participant.conversation_id).where(Participant.user_id == scene.attacker)
                ),
            )
        ).one()[0]
    assert shared or leaked is None  # a stranger to the bystander never appears
    assert _stored(scene.group) == group_before  # nor gets into, or changes, their group
    with rx.session() as session:
        others = sa.select(Message.body).where(
            Message.conversation_id == scene.cid, Message.author_id != scene.attacker
        )
        assert session.exec(others).scalars().all() == ["theirs"]  # the peer's message untouched


# Hostile values under the handlers' own argument names.
IDS = [None, True, False, -1, 0, 2**63 - 1, 2**63, 2**70, 1.5, "1", "x" * 100_000, [1], {"id": 1}]
TEXTS = [None, True, 0, 2**70, 1.5, ["x"], {"x": "y"}, "x" * 100_000]
FORMS = [None, "body", [], 0, {}, {"body": None}, {"body": ["x"]}, {"body": "x" * 100_000}]
FORMS += [{"title": {"$ne": 1}}, {"title": "x" * 100_000}, {"title": "   "}, {"title": None}]
BOOLS = [None, 0, "x", "x" * 100_000, [], {}, 2**70]
KEYS = [None, 12345678, "short", "k" * 65, "bad key!", "x" * 100_000, ["k" * 10], {"k": "v"}]


def _bound(scene: Scene) -> list[tuple[str, dict]]:
    # Ids of others' users and messages that happen to be the attacker's message id are
    # left out: that one is theirs to edit.
    ids = [v for v in IDS + scene.others() if type(v) is not int or v != scene.own_message]
    chat = [
        *(
            (f"{CHAT_STATE}.{h}", {arg: v})
            for h, arg in (
                ("load_older", "before_id"),
                ("start_edit", "message_id"),
                ("ask_delete", "message_id"),
            )
            for v in ids
        ),
        *((f"{CHAT_STATE}.save_edit", {"form_data": v}) for v in FORMS),
        *((f"{CHAT_STATE}.send_message", {"body": v, "key": new_key()}) for v in [*TEXTS, "", "   "]),
        *((f"{CHAT_STATE}.send_message", {"body": "a fine text", "key": v}) for v in KEYS),
    ]
    groups = [
        *(
            (f"{GROUPS_STATE}.{h}", {"value": v})
            for h in ("set_direct_open", "set_group_open")
            for v in BOOLS
        ),
        *((f"{GROUPS_STATE}.start_direct_with", {"user_id": v}) for v in ids),
        *((f"{GROUPS_STATE}.create_group", {"form_data": v}) for v in FORMS),
    ]
    people = [
        *((f"{PEOPLE_STATE}.search_people", {"query": v}) for v in TEXTS),
        *((f"{PEOPLE_STATE}.{h}", {"user_id": v}) for h in ("pick_person", "unpick_person") for v in ids),
    ]
    # Without arguments, refused: nothing to edit, delete, add or leave (a direct chat).
    bare = [f"{CHAT_STATE}.{h}" for h in ("clear_error", "cancel_edit", "cancel_delete", "delete_message")]
    bare += [f"{GROUPS_STATE}.{h}" for h in ("add_members", "leave_group")]
    bare += [f"{PEOPLE_STATE}.reset_people"]
    return chat + groups + people + [(name, {}) for name in bare]


def _unbound() -> list[tuple[str, dict]]:
    names = [f"{CHAT_STATE}.{h}" for h in CHAT if not h.startswith("load_")]
    names += [f"{GROUPS_STATE}.{h}" for h in GROUPS] + [f"{PEOPLE_STATE}.{h}" for h in PEOPLE]
    payloads = [{"unexpected": 1}, {"user_id": 1, "conversation_id": 1, "form_data": {"body": "x"}}]
    return [(name, payload) for name in names for payload in payloads]


# What a refusal may change in the attacker's own tab: the words that say why.
MAY_CHANGE = {
    "error_rx_state_",
    "dialog_error_rx_state_",
    "people_error_rx_state_",
    "people_none_found_rx_state_",
}
BARRIER = f"{GROUPS_STATE}.set_group_open"


def _changes(earlier: list[dict], later: list[dict]) -> list[tuple[str, str, Any]]:
    """The vars whose value `later` changed from what `earlier` left in the tab (Reflex
    resends a var that was set to its own value), up to the barrier's change."""
    held = {}
    for update in earlier:
        for state, delta in (update.get("delta") or {}).items():
            held.update({(state, key): value for key, value in delta.items()})
    changed = []
    for update in later:
        for state, delta in (update.get("delta") or {}).items():
            for key, value in delta.items():
                if state == GROUPS_STATE and key == "group_open_rx_state_" and value is True:
                    return changed
                if not key.startswith(PRESENCE_PREFIX) and held.get((state, key), ...) != value:
                    changed.append((state.rsplit(".", 1)[-1], key, value))
                held[state, key] = value
    raise AssertionError("the barrier's change never came")


def _sweep(backend_url: str, scene: Scene, events: list[tuple[str, dict]]) -> dict:
    """Send `events` from the attacker's tab with its chat with the peer open; what
    changed in the attacker's tab, in the peer's tab (same chat open), and stored."""
    path = f"/c/{scene.cid}"

    async def scenario():
        peer = await open_tab(backend_url, scene.peer, path)
        attacker = await open_tab(backend_url, scene.attacker, path)
        # Opening (and being seen) marks the chat read: wait for it before the sweep.
        await attacker.wait_for(lambda: caught_up(attacker, scene.cid))
        await asyncio.sleep(0.3)
        before = _stored()
        marks = len(attacker.updates), len(peer.updates)
        for name, payload in events:
            await attacker.emit(name, payload, path)
        # A tab's events run in order: once this one's change arrives, all ran.
        await attacker.emit(BARRIER, {"value": True}, path)
        await attacker.wait_for(lambda: latest(attacker, "group_open", GROUPS_STATE) is True, timeout=60)
        await asyncio.sleep(0.3)
        mine = _changes(attacker.updates[: marks[0]], attacker.updates[marks[0] :])
        theirs = [
            u.get("delta") for u in peer.updates[marks[1] :] if (u.get("delta") or {}).keys() - {APP_STATE}
        ]
        for tab in (attacker, peer):
            await tab.disconnect()
        return mine, theirs, before

    mine, theirs, before = run_async(scenario())
    return {"mine": mine, "theirs": theirs, "stored": (before, _stored())}


def test_every_chat_handler_refuses_hostile_values_without_an_error_or_a_change(backend_url, caplog):
    scene = _scene(backend_url)
    events = _bound(scene)
    caplog.set_level(logging.ERROR)
    got = _sweep(backend_url, scene, events)
    raised = [
        f"{r.name}: {r.getMessage().strip().splitlines()[-1][:200]}"
        for r in caplog.records
        if r.levelno >= logging.ERROR
    ]
    # Fails until the app refuses it: load_older with a before_id beyond the database's
    # 64-bit integers (2**63, 2**70) raises OverflowError in services.messages.page.
    assert raised == [], f"handlers raised instead of refusing: {raised}"
    changed = [change for change in got["mine"] if change[1] not in MAY_CHANGE]
    assert changed == [], f"{len(events)} hostile events changed the attacker's tab: {changed[:10]}"
    assert got["theirs"] == [], "the peer's tab heard of them"
    assert got["stored"][0] == got["stored"][1], "something was stored"


@pytest.mark.hostile_client
def test_every_chat_handler_refuses_arguments_it_does_not_take(backend_url):
    scene = _scene(backend_url)
    got = _sweep(backend_url, scene, _unbound())
    changed = [change for change in got["mine"] if change[1] not in MAY_CHANGE]
    assert changed == [], changed[:10]
    assert got["theirs"] == []
    assert got["stored"][0] == got["stored"][1]
