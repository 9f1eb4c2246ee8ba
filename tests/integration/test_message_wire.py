"""What a message costs on the wire, measured with raw clients against the running app:
sent once per key, a delta the size of the message whatever the history and the list,
a conversation opened a page at a time, and a direct chat hidden until it has a message."""

from __future__ import annotations

import asyncio
import time

import reflex as rx
import sqlalchemy as sa

from bench.reflex_client import ReflexClient
from chatapp import wire
from chatapp.models import Conversation, Message
from chatapp.services.conversations import direct_key
from chatapp.services.messages import PAGE_SIZE
from tests.integration.messaging import (
    GROUPS_STATE,
    MESSAGE_PREFIX,
    READ_PREFIX,
    ROW_PREFIX,
    chat_delta,
    count_messages,
    entries,
    frames_since,
    held,
    latest,
    new_key,
    seed_contacts,
    seed_history,
    send,
)
from tests.integration.support import open_tab
from tests.support import auth_token_for, create_user, direct, direct_pair, run_async


def _ids(updates: list[dict]) -> set[str]:
    """The ids of every message entry in these updates."""
    return {k for u in updates for k in entries(u, MESSAGE_PREFIX)}


def _bodies(updates: list[dict]) -> list[tuple[str, str]]:
    """(message id, body) of every message entry in these updates, in order received."""
    return [(k, v["body"]) for u in updates for k, v in entries(u, MESSAGE_PREFIX).items() if v]


def test_the_same_key_sent_twice_and_after_a_reconnect_is_stored_and_delivered_once(backend_url):
    a_id, b_id, cid = direct_pair("idem", "idemb")
    path = f"/c/{cid}"

    async def scenario():
        a = await open_tab(backend_url, a_id, path)
        b = await open_tab(backend_url, b_id, path)
        b_home = await open_tab(backend_url, b_id, "/")
        marks = len(b.updates), len(b_home.updates)
        key = new_key()
        await send(a, cid, "only once", key)
        await send(a, cid, "only once", key)  # Enter pressed twice
        await a.reconnect(load_path=path)  # the socket dropped; the composer retries
        await send(a, cid, "only once", key)
        other = await open_tab(backend_url, a_id, path)  # another tab, the same key
        await send(other, cid, "only once", key)
        await send(b, cid, "my own key", key)  # keys are per author: B's is B's
        await send(other, cid, "afterwards")
        await b.wait_for(lambda: "afterwards" in [body for _, body in _bodies(b.updates)])
        await b_home.wait_for(lambda: (held(b_home, ROW_PREFIX, cid) or {}).get("preview") == "afterwards")
        await asyncio.sleep(0.3)  # a late duplicate would arrive by now
        seen = {
            "b": _bodies(b.updates[marks[0] :]),
            "b_home_rows": [
                entries(u, ROW_PREFIX)[str(cid)]["preview"]
                for u in b_home.updates[marks[1] :]
                if entries(u, ROW_PREFIX).get(str(cid))
            ],
            "a_ids": {k for t in (a, other) for k, body in _bodies(t.updates) if body == "only once"},
        }
        for t in (a, b, b_home, other):
            await t.disconnect()
        return key, seen

    key, seen = run_async(scenario())
    assert count_messages(cid, author_id=a_id, client_key=key) == 1
    assert count_messages(cid, author_id=b_id, client_key=key) == 1
    assert count_messages(cid) == 3
    assert [body for _, body in seen["b"]] == ["only once", "my own key", "afterwards"]
    assert seen["b_home_rows"] == ["only once", "my own key", "afterwards"]
    assert len(seen["a_ids"]) == 1  # every tab of the sender shows the one message


def _one_message_costs(backend_url: str, sender_id: int, receiver_id: int, cid: int, body: str):
    """The ChatState frames a receiver's two tabs (the conversation open, the list only)
    get for one new message, as (size, update); and the list tab's hydrate in bytes."""

    async def scenario():
        sender = await open_tab(backend_url, sender_id, f"/c/{cid}")
        open_tab_ = await open_tab(backend_url, receiver_id, f"/c/{cid}")
        home = await open_tab(backend_url, receiver_id, "/")
        await asyncio.sleep(0.5)  # presence of the new tabs settles
        marks = len(open_tab_.raw_frames), len(home.raw_frames)
        await send(sender, cid, body)
        await open_tab_.wait_for(lambda: body in [b for _, b in _bodies(open_tab_.updates)])
        await home.wait_for(
            lambda: held(home, READ_PREFIX, cid) == (held(home, ROW_PREFIX, cid) or {}).get("seq")
        )
        await asyncio.sleep(0.3)  # anything else this message causes arrives too
        got = [
            [(size, u) for size, u in frames_since(tab, mark) if chat_delta(u)]
            for tab, mark in ((open_tab_, marks[0]), (home, marks[1]))
        ]
        hydrate = sum(len(f) for f in home.raw_frames[: marks[1]])
        for t in (sender, open_tab_, home):
            await t.disconnect()
        return got, hydrate

    return run_async(scenario())


def test_a_new_message_costs_a_tab_its_size_whatever_the_history_and_the_list(backend_url):
    a_id, _ = create_user("wsa", "Alice Sender")
    a2_id, _ = create_user("wsb", "Alina Sender")
    b_id, b_name = create_user("wsr", "Rita Receiver")
    seed_contacts(b_id, 1000)
    long_cid = direct(a_id, b_name)
    seed_history(long_cid, [a_id, b_id], 200)
    fresh_cid = direct(a2_id, b_name)  # no history: not even in B's list yet
    body = ("A message of a few hundred characters. " * 12).strip()

    costs = {}
    for name, sender, cid in (("long", a_id, long_cid), ("fresh", a2_id, fresh_cid)):
        (opened, listed), hydrate = _one_message_costs(backend_url, sender, b_id, cid, body)
        assert hydrate > 200_000, "control: the list tab's snapshot held 1,000 rows"
        # The open tab: one frame with the message, its row and the read position.
        assert len(opened) == 1, [u for _, u in opened]
        size, update = opened[0]
        assert list(entries(update, ROW_PREFIX)) == [str(cid)]
        assert [v["body"] for v in entries(update, MESSAGE_PREFIX).values()] == [body]
        assert size <= len(body) + 1024, (name, size, update)
        # The list tab: the row, then (the open tab read it) the read position.
        rows = [(s, u) for s, u in listed if entries(u, ROW_PREFIX)]
        assert len(rows) == 1, [u for _, u in listed]
        assert list(entries(rows[0][1], ROW_PREFIX)) == [str(cid)]
        assert not any(entries(u, MESSAGE_PREFIX) for _, u in listed)
        assert all(s <= len(body) + 1024 for s, _ in listed), [s for s, _ in listed]
        costs[name] = (size, rows[0][0])
    # Digits of message numbers (201 against 1) and ids differ; nothing else.
    assert abs(costs["long"][0] - costs["fresh"][0]) <= 16, costs
    assert abs(costs["long"][1] - costs["fresh"][1]) <= 16, costs


async def _open(backend_url: str, user_id: int, cid: int) -> tuple[ReflexClient, int, float]:
    """A new tab of the user opening conversation `cid`: the tab, the bytes it received
    until the page was loaded and settled, and the seconds until it was loaded."""
    tab = ReflexClient(backend_url, auth_token_for(user_id))
    await tab.connect()
    start = time.perf_counter()
    await tab.load(f"/c/{cid}")
    took = time.perf_counter() - start
    await asyncio.sleep(0.3)
    return tab, tab.bytes_received, took


def _ids_before(cid: int, before_id: int, limit: int) -> list[str]:
    with rx.session() as session:
        query = (
            sa.select(Message.id)
            .where(Message.conversation_id == cid, Message.id < before_id)
            .order_by(Message.id.desc())
            .limit(limit)
        )
        return sorted(str(i) for i in session.exec(query).scalars())


def test_ten_thousand_messages_open_at_the_cost_of_fifty_and_older_pages_load_on_request(backend_url):
    u_id, u_name = create_user("pager")
    x_id, _ = create_user("pagex", "Peer Long")
    y_id, _ = create_user("pagey", "Peer Tiny")
    z_id, _ = create_user("pagez", "Peer Midi")
    big, small, mid = direct(x_id, u_name), direct(y_id, u_name), direct(z_id, u_name)
    seed_history(big, [x_id, u_id], 10_000)
    seed_history(small, [y_id, u_id], PAGE_SIZE)
    seed_history(mid, [z_id, u_id], 2 * PAGE_SIZE + 20)

    async def scenario():
        out = {}
        for name, cid in (("small", small), ("big", big), ("small2", small), ("big2", big)):
            tab, size, took = await _open(backend_url, u_id, cid)
            out[name] = (size, took, _ids(tab.updates))
            out[name + "_older"] = latest(tab, "has_older")
            if name == "big2":  # the page before the oldest one shown
                oldest = min(int(k) for k in out[name][2])
                mark = len(tab.updates)
                await tab.emit(wire.LOAD_OLDER, {"before_id": oldest}, f"/c/{big}")
                await tab.wait_for(lambda tab=tab: len(_ids(tab.updates)) > PAGE_SIZE)
                await asyncio.sleep(0.2)
                out["older"] = (oldest, _ids(tab.updates[mark:]))
                out["older_has_older"] = latest(tab, "has_older")
            await tab.disconnect()
        # Paging to the start of a conversation of 120: 50, 50, then the last 20.
        tab, _, _ = await _open(backend_url, u_id, mid)
        pages = [(latest(tab, "has_older"), _ids(tab.updates))]
        for _ in range(2):
            mark = len(tab.updates)
            oldest = min(int(k) for _, page in pages for k in page)
            await tab.emit(wire.LOAD_OLDER, {"before_id": oldest}, f"/c/{mid}")
            await tab.wait_for(lambda mark=mark: any(entries(u, MESSAGE_PREFIX) for u in tab.updates[mark:]))
            await asyncio.sleep(0.2)
            pages.append((latest(tab, "has_older"), _ids(tab.updates[mark:])))
        await tab.disconnect()
        out["pages"] = pages
        return out

    out = run_async(scenario())
    for name in ("small", "big", "small2", "big2"):
        assert len(out[name][2]) == PAGE_SIZE, (name, len(out[name][2]))
    assert out["small_older"] in (None, False) and out["big_older"] is True
    small_bytes = min(out["small"][0], out["small2"][0])
    big_bytes = min(out["big"][0], out["big2"][0])
    assert abs(big_bytes - small_bytes) <= 0.10 * small_bytes, (small_bytes, big_bytes)
    small_time = min(out["small"][1], out["small2"][1])
    big_time = min(out["big"][1], out["big2"][1])
    assert big_time <= 3 * small_time + 0.25, (small_time, big_time)

    oldest, older = out["older"]
    assert sorted(older) == _ids_before(big, oldest, PAGE_SIZE)
    assert out["older_has_older"] is True

    sizes = [len(page) for _, page in out["pages"]]
    flags = [flag for flag, _ in out["pages"]]
    assert sizes == [PAGE_SIZE, PAGE_SIZE, 20], sizes
    assert flags == [True, True, False], flags
    assert len(set().union(*(page for _, page in out["pages"]))) == count_messages(mid)


def _direct_id(a_id: int, b_id: int) -> int | None:
    with rx.session() as session:
        query = sa.select(Conversation.id).where(Conversation.direct_key == direct_key(a_id, b_id))
        return session.exec(query).scalars().first()


def test_a_direct_chat_reaches_the_other_persons_list_only_with_its_first_message(backend_url):
    a_id, _ = create_user("opener")
    b_id, b_name = create_user("openee")

    async def scenario():
        b = await open_tab(backend_url, b_id, "/")
        a = await open_tab(backend_url, a_id, "/")
        await a.emit(wire.SEARCH_PEOPLE, {"query": b_name})
        await a.wait_for(lambda: bool(latest(a, "people_results", wire.PEOPLE_STATE)))
        await a.emit(f"{GROUPS_STATE}.start_direct_with", {"user_id": b_id})
        for _ in range(100):
            if (cid := _direct_id(a_id, b_id)) is not None:
                break
            await asyncio.sleep(0.05)
        await a.load(f"/c/{cid}")  # where start_direct_with redirected the browser
        await asyncio.sleep(0.3)
        later = await open_tab(backend_url, b_id, "/")  # B's list loaded afresh
        await asyncio.sleep(0.3)
        before = {"live": list(b.updates), "hydrate": list(later.updates)}
        await send(a, cid, "first words")
        for tab in (b, later):
            await tab.wait_for(lambda tab=tab: held(tab, ROW_PREFIX, cid) is not None)
        rows = [held(tab, ROW_PREFIX, cid) for tab in (b, later)]
        for t in (a, b, later):
            await t.disconnect()
        return cid, before, rows

    cid, before, rows = run_async(scenario())
    for where, updates in before.items():
        for update in updates:
            keys = chat_delta(update)
            assert not any(k.endswith(f".{cid}") for k in keys), (where, update)
    assert [r["preview"] for r in rows] == ["first words", "first words"]
    assert [r["peer_id"] for r in rows] == [a_id, a_id]
