"""Read means seen, unread synced across tabs, read receipts and their privacy, mute:
checked with raw clients on the frames each tab receives."""

from __future__ import annotations

import asyncio

from chatapp import wire
from tests.integration.messaging import (
    READ_PREFIX,
    ROW_PREFIX,
    call,
    entries,
    frames_since,
    frames_with,
    held,
    latest,
    read_seq_of,
    send,
)
from tests.integration.support import open_tab
from tests.support import create_user, direct_pair, group, run_async

SEEN_PREFIX = wire.keyed_prefix(wire.SEEN_MAP)


async def _see(tab, cid: int, seeing: bool = True) -> None:
    await tab.emit(wire.SET_SEEING, {"seeing": seeing}, f"/c/{cid}")


async def _status(tab, choice: str) -> None:
    await tab.emit(wire.SET_STATUS, {"choice": choice}, "/")


async def _receipts(tab, on: bool) -> None:
    await tab.emit(wire.SET_READ_RECEIPTS, {"on": on}, "/")


def _about(tab, mark: int, user_id: int) -> list[tuple[int, dict]]:
    """The frames since `mark` that carry anything about `user_id`'s reading."""
    return frames_with(tab, mark, SEEN_PREFIX, user_id)


def test_an_open_conversation_is_read_only_once_its_tab_is_seen_and_then_in_every_tab(backend_url):
    a_id, b_id, cid = direct_pair("seena", "seenb")
    path = f"/c/{cid}"

    async def scenario():
        a = await open_tab(backend_url, a_id, path)
        b_hidden = await open_tab(backend_url, b_id, path, seeing=False)  # open, not looked at
        b_home = await open_tab(backend_url, b_id, "/")
        for text in ("one", "two", "three"):
            await send(a, cid, text)
        await b_hidden.wait_for(lambda: (held(b_hidden, ROW_PREFIX, cid) or {}).get("seq") == 3)
        await asyncio.sleep(0.5)
        unseen = read_seq_of(b_id, cid), held(b_home, READ_PREFIX, cid), latest(b_hidden, "unread_from_seq")
        await _see(b_hidden, cid)  # the user looks at the tab
        await b_home.wait_for(lambda: held(b_home, READ_PREFIX, cid) == 3)
        for t in (a, b_hidden, b_home):
            await t.disconnect()
        return unseen

    db_read, home_read, divider = run_async(scenario())
    assert db_read == 0 and not home_read  # nothing was marked read while nobody looked
    assert divider == 1  # "New messages" goes above the first unseen one
    assert read_seq_of(b_id, cid) == 3


def test_opening_a_conversation_in_one_tab_clears_its_unread_in_the_others(backend_url):
    a_id, b_id, cid = direct_pair("synca", "syncb")

    async def scenario():
        a = await open_tab(backend_url, a_id, f"/c/{cid}")
        b_home = await open_tab(backend_url, b_id, "/")
        await send(a, cid, "unread until opened")
        await b_home.wait_for(lambda: (held(b_home, ROW_PREFIX, cid) or {}).get("seq") == 1)
        mark = len(b_home.raw_frames)
        b_open = await open_tab(backend_url, b_id, f"/c/{cid}")
        await b_home.wait_for(lambda: held(b_home, READ_PREFIX, cid) == 1)
        sizes = [size for size, u in frames_since(b_home, mark) if entries(u, READ_PREFIX)]
        for t in (a, b_home, b_open):
            await t.disconnect()
        return sizes

    sizes = run_async(scenario())
    assert sizes and max(sizes) < 300, sizes  # one small delta, not the list


def test_a_direct_chat_reader_sends_one_small_receipt_to_the_sender_only(backend_url):
    a_id, b_id, cid = direct_pair("rcpta", "rcptb")
    stranger_id, _ = create_user("rcptx")

    async def scenario():
        a = await open_tab(backend_url, a_id, f"/c/{cid}")
        a_home = await open_tab(backend_url, a_id, "/")
        stranger = await open_tab(backend_url, stranger_id, "/")
        b = await open_tab(backend_url, b_id, "/")
        await send(a, cid, "did you see this?")
        await asyncio.sleep(0.3)
        marks = len(a.raw_frames), len(a_home.raw_frames), len(stranger.raw_frames)
        await b.load(f"/c/{cid}")
        await _see(b, cid)
        await a.wait_for(lambda: (held(a, SEEN_PREFIX, b_id) or {}).get("seq") == 1)
        await asyncio.sleep(0.3)
        out = _about(a, marks[0], b_id), _about(a_home, marks[1], b_id), frames_since(stranger, marks[2])
        for t in (a, a_home, stranger, b):
            await t.disconnect()
        return out

    at_sender, at_senders_list_tab, at_stranger = run_async(scenario())
    assert len(at_sender) == 1 and at_sender[0][0] < 300, at_sender
    receipt = entries(at_sender[0][1], SEEN_PREFIX)[str(b_id)]
    assert receipt["seq"] == 1 and receipt["at_ms"] > 0
    assert at_senders_list_tab == []  # shown only where the conversation is open
    assert at_stranger == []


def test_a_group_receipt_goes_to_the_members_with_the_conversation_open(backend_url):
    a_id, _ = create_user("grpa")
    b_id, b_name = create_user("grpb")
    c_id, c_name = create_user("grpc")
    cid = group(a_id, "Receipts", [b_name, c_name])
    path = f"/c/{cid}"

    async def scenario():
        a = await open_tab(backend_url, a_id, path)
        c = await open_tab(backend_url, c_id, path)
        b = await open_tab(backend_url, b_id, "/")
        await send(a, cid, "group news")
        await a.wait_for(lambda: held(a, SEEN_PREFIX, c_id) is not None)
        await b.load(path)
        await _see(b, cid)
        await a.wait_for(lambda: (held(a, SEEN_PREFIX, b_id) or {}).get("seq") == 1)
        await c.wait_for(lambda: (held(c, SEEN_PREFIX, b_id) or {}).get("seq") == 1)
        for t in (a, b, c):
            await t.disconnect()

    run_async(scenario())


def test_read_receipts_off_is_mutual(backend_url):
    a_id, b_id, cid = direct_pair("mutla", "mutlb")
    path = f"/c/{cid}"

    async def scenario():
        a = await open_tab(backend_url, a_id, path)
        b = await open_tab(backend_url, b_id, "/")
        await _receipts(b, False)
        await b.wait_for(lambda: latest(b, "read_receipts", wire.APP_STATE) is False)
        mark = len(a.raw_frames)
        await send(a, cid, "read silently")
        await b.load(path)
        await _see(b, cid)
        await b.wait_for(lambda: held(b, READ_PREFIX, cid) == 1 or read_seq_of(b_id, cid) == 1)
        await send(b, cid, "and answered")
        await a.wait_for(lambda: (held(a, ROW_PREFIX, cid) or {}).get("seq") == 2)
        await asyncio.sleep(0.5)  # a read a's answer with its tab seen: no receipt for b
        about_b = _about(a, mark, b_id)
        b_sees_a = held(b, SEEN_PREFIX, a_id)
        for t in (a, b):
            await t.disconnect()
        return about_b, b_sees_a

    about_b, b_sees_a = run_async(scenario())
    assert about_b == []  # others don't see b's reads
    assert b_sees_a is None  # and b doesn't see theirs


def test_reads_while_appearing_offline_are_never_revealed(backend_url):
    a_id, b_id, cid = direct_pair("invra", "invrb")
    path = f"/c/{cid}"

    async def scenario():
        a = await open_tab(backend_url, a_id, path)
        b = await open_tab(backend_url, b_id, "/")
        await _status(b, "invisible")
        await b.wait_for(lambda: latest(b, "chosen_status", wire.APP_STATE) == "invisible")
        await send(a, cid, "are you there?")
        await asyncio.sleep(0.3)
        mark = len(a.raw_frames)
        await b.load(path)
        await _see(b, cid)
        for _ in range(100):
            if read_seq_of(b_id, cid) == 1:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        while_invisible = frames_since(a, mark)
        await _status(b, "auto")  # back: the reads made meanwhile stay unrevealed
        await b.wait_for(lambda: latest(b, "chosen_status", wire.APP_STATE) == "")
        await asyncio.sleep(0.5)
        after = _about(a, mark, b_id)
        await send(a, cid, "now?")  # read while visible: this one is revealed
        await a.wait_for(lambda: (held(a, SEEN_PREFIX, b_id) or {}).get("seq") == 2)
        for t in (a, b):
            await t.disconnect()
        return while_invisible, after

    while_invisible, after = run_async(scenario())
    assert read_seq_of(b_id, cid) == 2
    assert while_invisible == []  # nothing at all about b's activity reached a
    assert after == []


def test_mute_holds_across_the_users_tabs_and_only_for_members(backend_url):
    a_id, _, cid = direct_pair("mutea", "muteb")
    outsider_id, _ = create_user("mutex")

    async def scenario():
        a1 = await open_tab(backend_url, a_id, "/")
        a2 = await open_tab(backend_url, a_id, "/")
        x = await open_tab(backend_url, outsider_id, "/")
        await call(a1, "set_muted", {"conversation_id": cid, "muted": True})
        await a2.wait_for(lambda: latest(a2, "muted_ids") == [cid])
        await call(x, "set_muted", {"conversation_id": cid, "muted": True})
        await asyncio.sleep(0.5)
        outsider = latest(x, "muted_ids")
        await call(a2, "set_muted", {"conversation_id": cid, "muted": False})
        await a1.wait_for(lambda: latest(a1, "muted_ids") == [])
        for t in (a1, a2, x):
            await t.disconnect()
        return outsider

    assert not run_async(scenario())  # not a member: nothing muted
