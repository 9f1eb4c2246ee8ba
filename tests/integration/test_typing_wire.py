"""Typing on the raw frames: one small entry to the members who may see the typer, and
nothing to anyone else, nor while the typer appears offline or keeps typing private."""

from __future__ import annotations

import asyncio

from chatapp import wire
from tests.integration.messaging import chat_delta, frames_since, latest
from tests.integration.support import open_tab
from tests.support import create_user, direct, group, run_async

TYPING_PREFIX = wire.keyed_prefix(wire.TYPING_MAP)


async def _typing(tab, cid: int, on: bool) -> None:
    await tab.emit(wire.SET_TYPING, {"typing": on}, f"/c/{cid}")


def _entries(tab, key: str) -> list[tuple[int, object]]:
    """(frame size, entry) of every frame carrying typing entry `key` (None: stopped)."""
    out = []
    for size, update in frames_since(tab, 0):
        sub = chat_delta(update, wire.TYPING_STATE)
        if TYPING_PREFIX + key in sub:
            out.append((size, sub[TYPING_PREFIX + key]))
    return out


async def _rows_in_view(tab, ids: list[int]) -> None:
    await tab.emit(wire.SET_ROWS_IN_VIEW, {"ids": ids}, "/")


def test_typing_reaches_the_other_members_tabs_that_show_it_in_one_small_entry_and_stops(backend_url):
    a_id, _ = create_user("typa")
    b_id, b_name = create_user("typb")
    c_id, c_name = create_user("typc")
    outsider_id, _ = create_user("typx")
    cid = group(a_id, "Typists", [b_name, c_name])
    other = direct(b_id, c_name)
    key = f"{cid}-{a_id}"

    async def scenario():
        b_open = await open_tab(backend_url, b_id, f"/c/{cid}")
        b_list = await open_tab(backend_url, b_id, "/")  # the group's row on screen
        b_scrolled = await open_tab(backend_url, b_id, "/")  # only the other row on screen
        b_other = await open_tab(backend_url, b_id, f"/c/{other}")  # another chat open
        c = await open_tab(backend_url, c_id, f"/c/{cid}")
        x = await open_tab(backend_url, outsider_id, "/")
        a = await open_tab(backend_url, a_id, f"/c/{cid}")
        await _rows_in_view(b_list, [other, cid])
        await _rows_in_view(b_scrolled, [other])
        await _rows_in_view(x, [cid])  # not a member: the claim changes nothing
        await asyncio.sleep(0.3)
        await _typing(a, cid, True)
        for t in (b_open, b_list, c):
            await t.wait_for(lambda t=t: _entries(t, key))
        await _rows_in_view(b_list, [other])  # scrolled away while they type
        await asyncio.sleep(0.2)
        await _typing(a, cid, True)  # the refresh goes to the tabs still showing it
        await b_open.wait_for(lambda: len(_entries(b_open, key)) == 2)
        await _typing(a, cid, False)
        for t in (b_open, b_list, c):
            await t.wait_for(lambda t=t: _entries(t, key)[-1][1] is None)
        await asyncio.sleep(0.3)
        tabs = {"b": b_open, "list": b_list, "scrolled": b_scrolled, "other": b_other, "c": c, "x": x}
        out = {name: _entries(t, key) for name, t in tabs.items()}
        out["a"] = _entries(a, key)
        for t in (a, b_open, b_list, b_scrolled, b_other, c, x):
            await t.disconnect()
        return out

    got = run_async(scenario())
    for name in ("b", "c"):
        (size_on, on), (_, again), (size_off, off) = got[name]
        assert on[:2] == [cid, a_id] and again[:2] == [cid, a_id] and off is None
        assert size_on < 300 and size_off < 300, got[name]
    # The list tab got the start while the row was on screen, not the refresh after it
    # scrolled away, and the stop still (it held the entry).
    (_, on), (_, off) = got["list"]
    assert on[:2] == [cid, a_id] and off is None
    # Tabs of a member that do not show the conversation get nothing; nor does an
    # outsider, whatever it claims to show, nor the typer's own tab.
    assert got["scrolled"] == [] and got["other"] == []
    assert got["x"] == [] and got["a"] == []


def test_a_report_of_rows_on_screen_that_is_not_a_short_list_of_ids_is_ignored(backend_url):
    a_id, _ = create_user("typrowa")
    b_id, b_name = create_user("typrowb")
    cid = direct(a_id, b_name)
    key = f"{cid}-{a_id}"

    async def scenario():
        b = await open_tab(backend_url, b_id, "/")
        a = await open_tab(backend_url, a_id, f"/c/{cid}")
        too_many = [cid, *range(1, wire.ROWS_IN_VIEW_MAX + 1)]
        bad = ("1", [str(cid)], [cid, "x"], too_many, [-cid], [True], None)
        for ids in bad:
            await _rows_in_view(b, ids)
        await asyncio.sleep(0.3)
        await _typing(a, cid, True)
        await asyncio.sleep(0.5)
        ignored = _entries(b, key)
        await _rows_in_view(b, [cid])
        await asyncio.sleep(0.2)
        await _typing(a, cid, True)
        await b.wait_for(lambda: _entries(b, key))
        alive = b.sio.connected
        for t in (a, b):
            await t.disconnect()
        return ignored, alive

    ignored, alive = run_async(scenario())
    assert ignored == []  # none of the bad reports made the tab show the conversation
    assert alive


def test_no_typing_while_appearing_offline_or_kept_private(backend_url):
    a_id, _ = create_user("typinv")
    b_id, b_name = create_user("typwatch")
    cid = direct(a_id, b_name)
    key = f"{cid}-{a_id}"

    async def scenario():
        b = await open_tab(backend_url, b_id, f"/c/{cid}")
        a = await open_tab(backend_url, a_id, f"/c/{cid}")
        await a.set_status("invisible")
        await asyncio.sleep(0.3)
        await _typing(a, cid, True)
        await asyncio.sleep(0.5)
        invisible = _entries(b, key)
        await a.set_status("auto")
        await a.emit(wire.SET_SHARE_TYPING, {"on": False}, f"/c/{cid}")
        await a.wait_for(lambda: latest(a, "share_typing", wire.APP_STATE) is False)
        await _typing(a, cid, True)
        await asyncio.sleep(0.5)
        private = _entries(b, key)
        await a.emit(wire.SET_SHARE_TYPING, {"on": True}, f"/c/{cid}")
        await a.wait_for(lambda: latest(a, "share_typing", wire.APP_STATE) is True)
        await _typing(a, cid, True)
        await b.wait_for(lambda: _entries(b, key))
        for t in (a, b):
            await t.disconnect()
        return invisible, private

    invisible, private = run_async(scenario())
    assert invisible == [] and private == []


def test_a_message_request_hides_the_answerers_typing_from_the_stranger(backend_url):
    user_id, user_name = create_user("typreq")
    stranger_id, _ = create_user("typstr")
    cid = direct(stranger_id, user_name, answered=False)
    key = f"{cid}-{user_id}"

    async def scenario():
        stranger = await open_tab(backend_url, stranger_id, f"/c/{cid}")
        user = await open_tab(backend_url, user_id, f"/c/{cid}")
        await _typing(user, cid, True)
        await asyncio.sleep(0.5)
        got = _entries(stranger, key)
        for t in (stranger, user):
            await t.disconnect()
        return got

    assert run_async(scenario()) == []
