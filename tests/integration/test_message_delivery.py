"""Changes to messages and memberships reaching the other tabs live, with raw clients
against the running app: edits and deletes by the author only, a member leaving, and
the read position of a reader recorded once and shown in their other tabs."""

from __future__ import annotations

import asyncio

import reflex as rx
import sqlalchemy as sa

from chatapp import wire
from chatapp.models import Message
from tests.integration.messaging import (
    GROUPS_STATE,
    MESSAGE_PREFIX,
    READ_PREFIX,
    ROW_PREFIX,
    call,
    chat_delta,
    entries,
    frames_with,
    held,
    latest,
    read_seq_of,
    send,
)
from tests.integration.support import open_tab
from tests.support import create_user, direct_pair, group, run_async

# What would open the editor or the delete dialog on a message.
FORGED_VARS = ("edit_id_rx_state_", "delete_id_rx_state_")
ROW_MEMBERS_PREFIX = wire.keyed_prefix(wire.ROW_MEMBERS)


def _message(mid: int) -> tuple[str, bool, bool]:
    """(body, edited, deleted) of a stored message."""
    with rx.session() as session:
        m = session.get(Message, mid)
        session.refresh(m)
        return m.body, m.edited_at is not None, m.deleted_at is not None


def _id_of(tab, body: str) -> int:
    """The id of the message with this body among those a tab received."""
    for update in tab.updates:
        for key, entry in entries(update, MESSAGE_PREFIX).items():
            if entry and entry["body"] == body:
                return int(key)
    raise AssertionError(f"no message {body!r} reached the tab")


def _changes_of(tab, mark: int, mid: int) -> list[tuple[int, dict]]:
    """The frames since `mark` that carry message `mid`, with their sizes."""
    return frames_with(tab, mark, MESSAGE_PREFIX, mid)


def test_only_the_author_edits_or_deletes_and_the_other_tabs_get_the_change_live(backend_url):
    a_id, b_id, cid = direct_pair("author", "other")
    path = f"/c/{cid}"

    async def scenario():
        a = await open_tab(backend_url, a_id, path)
        b = await open_tab(backend_url, b_id, path)
        b_home = await open_tab(backend_url, b_id, "/")
        await send(a, cid, "original words")
        await b.wait_for(lambda: "original words" in str(b.updates[-1:]))
        mid = _id_of(b, "original words")
        out = {"mid": mid}

        # The other member tries everything the author can: nothing happens.
        mark_a, mark_b = len(a.raw_frames), len(b.updates)
        await call(b, "start_edit", {"message_id": mid}, path)
        await call(b, "save_edit", {"form_data": {"body": "hijacked"}}, path)
        await call(b, "ask_delete", {"message_id": mid}, path)
        await call(b, "delete_message", {}, path)
        await b.load(path)  # a round trip: the four were handled before it
        await asyncio.sleep(0.3)
        out["forged_to_a"] = _changes_of(a, mark_a, mid)
        out["forged_b_vars"] = [
            (k, v) for u in b.updates[mark_b:] for k, v in chat_delta(u).items() if k in FORGED_VARS
        ]
        out["after_forgery"] = _message(mid)

        # The author edits: the other's open tab gets the entry, its list the row.
        marks = len(b.raw_frames), len(b_home.raw_frames)
        await call(a, "start_edit", {"message_id": mid}, path)
        await call(a, "save_edit", {"form_data": {"body": "better words"}}, path)
        await b.wait_for(lambda: (held(b, MESSAGE_PREFIX, mid) or {}).get("body") == "better words")
        await b_home.wait_for(lambda: (held(b_home, ROW_PREFIX, cid) or {}).get("preview") == "better words")
        out["edit"] = _changes_of(b, marks[0], mid)
        out["edited"] = _message(mid)

        # The author deletes (asked, then confirmed).
        marks = len(b.raw_frames), len(b_home.raw_frames)
        await call(a, "ask_delete", {"message_id": mid}, path)
        await call(a, "delete_message", {}, path)
        await b.wait_for(lambda: (held(b, MESSAGE_PREFIX, mid) or {}).get("deleted") is True)
        await b_home.wait_for(lambda: (held(b_home, ROW_PREFIX, cid) or {}).get("preview_deleted") is True)
        out["delete"] = _changes_of(b, marks[0], mid)
        out["deleted"] = _message(mid)

        # A deleted message cannot be edited, even by its author.
        await call(a, "start_edit", {"message_id": mid}, path)
        await a.load(path)
        out["edit_after_delete"] = latest(a, "edit_id")
        for t in (a, b, b_home):
            await t.disconnect()
        return out

    out = run_async(scenario())
    mid = out["mid"]
    assert out["after_forgery"] == ("original words", False, False)
    assert out["forged_to_a"] == []
    assert all(v in (0, None) for _, v in out["forged_b_vars"]), out["forged_b_vars"]

    assert out["edited"] == ("better words", True, False)
    assert len(out["edit"]) == 1, out["edit"]
    size, update = out["edit"][0]
    entry = entries(update, MESSAGE_PREFIX)[str(mid)]
    assert entry["body"] == "better words" and entry["edited_ms"] > 0 and not entry["deleted"]
    assert len(entries(update, MESSAGE_PREFIX)) == 1
    assert size <= len("better words") + 1024, (size, update)

    assert out["deleted"] == ("", True, True)
    assert len(out["delete"]) == 1, out["delete"]
    size, update = out["delete"][0]
    entry = entries(update, MESSAGE_PREFIX)[str(mid)]
    assert entry["deleted"] is True and entry["body"] == ""
    assert len(entries(update, MESSAGE_PREFIX)) == 1
    assert size <= 1024, (size, update)
    assert out["edit_after_delete"] in (0, None)


def test_a_member_who_leaves_is_gone_live_from_the_others_open_tabs_and_from_their_own_list(backend_url):
    a_id, _ = create_user("leaver")
    b_id, b_name = create_user("stayer")
    c_id, c_name = create_user("staytoo")
    cid = group(a_id, "Leavers", [b_name, c_name])
    path = f"/c/{cid}"

    async def scenario():
        b = await open_tab(backend_url, b_id, path)
        c = await open_tab(backend_url, c_id, path)
        a = await open_tab(backend_url, a_id, path)
        a_home = await open_tab(backend_url, a_id, "/")
        assert held(a_home, ROW_PREFIX, cid) is not None
        marks = {t: len(t.updates) for t in (b, c, a_home)}
        await call(a, f"{GROUPS_STATE}.leave_group", {}, path)
        for t in (b, c):
            await t.wait_for(lambda t=t: latest(t, "current_member_ids") == sorted([b_id, c_id]))
        await a_home.wait_for(lambda: any(entries(u, ROW_PREFIX) for u in a_home.updates[marks[a_home] :]))
        out = {
            t_name: {
                "lines": [v for u in t.updates[marks[t] :] for v in entries(u, MESSAGE_PREFIX).values() if v],
                "members": latest(t, "members"),
                "row_members": held(t, ROW_MEMBERS_PREFIX, cid),
            }
            for t_name, t in (("b", b), ("c", c))
        }
        out["a_home_row"] = held(a_home, ROW_PREFIX, cid)
        for t in (a, b, c, a_home):
            await t.disconnect()
        return out

    out = run_async(scenario())
    for name in ("b", "c"):
        lines = out[name]["lines"]
        assert [(m["kind"], m["author_id"], m["body"]) for m in lines] == [("system", a_id, "left")], lines
        assert sorted(m["user_id"] for m in out[name]["members"]) == sorted([b_id, c_id])
        assert out[name]["row_members"] == sorted([b_id, c_id])
    assert out["a_home_row"] is None  # the leaver's other tab lost the row


def test_a_message_read_in_an_open_tab_is_recorded_once_and_reaches_the_readers_other_tabs(backend_url):
    a_id, _ = create_user("writer")
    b_id, b_name = create_user("reader")
    c_id, c_name = create_user("readtoo")
    cid = group(a_id, "Readers", [b_name, c_name])
    path = f"/c/{cid}"
    writes: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        text = " ".join(statement.split())
        if text.startswith("UPDATE participant SET read_seq") and "last_read_message_id" not in text:
            writes.append(text)

    async def scenario():
        a = await open_tab(backend_url, a_id, path)
        b = await open_tab(backend_url, b_id, path)
        c = await open_tab(backend_url, c_id, path)
        b_home = await open_tab(backend_url, b_id, "/")
        await asyncio.sleep(0.3)
        engine = rx.model.get_engine()
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            await send(a, cid, "read me")
            await b_home.wait_for(lambda: (held(b_home, ROW_PREFIX, cid) or {}).get("preview") == "read me")
            seq = held(b_home, ROW_PREFIX, cid)["seq"]
            await b_home.wait_for(lambda: held(b_home, READ_PREFIX, cid) == seq)
            for _ in range(100):  # written off the event loop, after the deliveries
                if read_seq_of(b_id, cid) == seq and read_seq_of(c_id, cid) == seq:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        for t in (a, b, c, b_home):
            await t.disconnect()
        return seq

    seq = run_async(scenario())
    assert seq == 1
    assert read_seq_of(b_id, cid) == read_seq_of(c_id, cid) == seq
    assert len(writes) == 1, writes  # one write for both readers
