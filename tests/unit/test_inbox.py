"""The inbox service (`chatapp/services/inbox.py`) on a real SQLite database: the
conversation list of a user, its previews and unread counts."""

from __future__ import annotations

import dataclasses

import pytest

from chatapp.services import conversations, inbox, messages
from chatapp.services.errors import NotFound
from tests.unit.service_helpers import NOT_A_MEMBER, unread

# list_for_user ------------------------------------------------------------------------


def test_list_for_user_orders_by_last_activity_after_a_message(session, people):
    direct, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    group = conversations.create_group(
        session, user_id=people["alice"], title="Team", member_usernames=["bob"]
    )
    assert [c.id for c in inbox.list_for_user(session, user_id=people["alice"])] == [group, direct]
    messages.send(session, author_id=people["bob"], conversation_id=direct, body="hi")
    assert [c.id for c in inbox.list_for_user(session, user_id=people["alice"])] == [direct, group]
    messages.send(session, author_id=people["alice"], conversation_id=group, body="team!")
    assert [c.id for c in inbox.list_for_user(session, user_id=people["bob"])] == [group, direct]


def test_list_for_user_shows_only_the_users_conversations(session, people):
    mine, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    conversations.open_direct(session, user_id=people["carol"], other_username="dave")
    assert [c.id for c in inbox.list_for_user(session, user_id=people["alice"])] == [mine]
    assert inbox.list_for_user(session, user_id=people["alice"] + 1000) == []


def test_list_for_user_titles_a_direct_chat_with_the_peer(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    (row,) = inbox.list_for_user(session, user_id=people["alice"])
    assert (row.id, row.kind, row.title, row.peer_id) == (cid, "direct", "Bob", people["bob"])
    box = inbox.inbox_of(session, user_id=people["alice"])
    assert box.members == {}  # member ids are listed for groups only (a direct chat has its peer)
    messages.send(session, author_id=people["alice"], conversation_id=cid, body="hi")
    (other_side,) = inbox.list_for_user(session, user_id=people["bob"])
    assert (other_side.title, other_side.peer_id) == ("Alice", people["alice"])


def test_list_for_user_titles_a_group_with_its_title(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    box = inbox.inbox_of(session, user_id=people["bob"])
    (row,) = box.rows
    assert (row.kind, row.title, row.peer_id) == ("group", "Team", 0)
    assert box.members == {cid: sorted([people["alice"], people["bob"]])}


def test_list_for_user_preview_is_the_last_message_with_its_author(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    (empty,) = inbox.list_for_user(session, user_id=people["alice"])
    assert (empty.preview, empty.preview_author, empty.preview_author_id, empty.preview_kind) == (
        "",
        "",
        0,
        "",
    )
    messages.send(session, author_id=people["alice"], conversation_id=cid, body="first")
    messages.send(session, author_id=people["bob"], conversation_id=cid, body="second\n  line")
    for viewer in ("alice", "bob"):
        (row,) = inbox.list_for_user(session, user_id=people[viewer])
        assert (row.preview_author_id, row.preview_author) == (people["bob"], "Bob")
        assert (row.preview_kind, row.preview, row.preview_deleted) == ("text", "second line", False)


def test_list_for_user_preview_is_cut_to_80_characters(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    messages.send(session, author_id=people["bob"], conversation_id=cid, body="x" * 500)
    (row,) = inbox.list_for_user(session, user_id=people["alice"])
    assert row.preview == "x" * 80
    assert row.preview_author == "Bob"
    assert messages.history(session, user_id=people["alice"], conversation_id=cid)[0].body == "x" * 500


def test_list_for_user_last_activity_is_that_of_the_last_message(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    sent = messages.send(session, author_id=people["bob"], conversation_id=cid, body="hi")
    (row,) = inbox.list_for_user(session, user_id=people["alice"])
    assert row.last_activity_ms == sent.created_ms


def test_list_for_user_counts_unread_messages_of_others_only(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    for body in ("one", "two", "three"):
        messages.send(session, author_id=people["bob"], conversation_id=cid, body=body)
    assert (unread(session, people["alice"], cid), unread(session, people["bob"], cid)) == (3, 0)
    # Replying reads what came before: the sender has read up to their own message.
    messages.send(session, author_id=people["alice"], conversation_id=cid, body="mine")
    assert (unread(session, people["alice"], cid), unread(session, people["bob"], cid)) == (0, 1)


def test_one_row_serves_every_member_and_read_seq_tells_them_apart(session, people):
    cid = conversations.create_group(
        session, user_id=people["alice"], title="Team", member_usernames=["bob", "carol"]
    )
    messages.send(session, author_id=people["alice"], conversation_id=cid, body="one")
    messages.send(session, author_id=people["bob"], conversation_id=cid, body="two")
    boxes = {name: inbox.inbox_of(session, user_id=people[name]) for name in ("alice", "bob", "carol")}
    rows = {name: box.rows[0].to_wire() for name, box in boxes.items()}
    assert rows["alice"] == rows["bob"] == rows["carol"]
    assert rows["alice"]["seq"] == 2
    assert {name: box.read_seq[cid] for name, box in boxes.items()} == {"alice": 1, "bob": 2, "carol": 0}


def test_mark_read_resets_the_unread_count_until_the_next_message(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    messages.send(session, author_id=people["bob"], conversation_id=cid, body="one")
    messages.send(session, author_id=people["bob"], conversation_id=cid, body="two")
    assert inbox.mark_read(session, user_ids=[people["alice"]], conversation_id=cid) == 2
    assert unread(session, people["alice"], cid) == 0
    messages.send(session, author_id=people["bob"], conversation_id=cid, body="three")
    assert unread(session, people["alice"], cid) == 1


def test_mark_read_by_one_member_leaves_the_others_unread(session, people):
    cid = conversations.create_group(
        session, user_id=people["alice"], title="Team", member_usernames=["bob", "carol"]
    )
    messages.send(session, author_id=people["alice"], conversation_id=cid, body="hello all")
    inbox.mark_read(session, user_ids=[people["bob"]], conversation_id=cid)
    assert unread(session, people["bob"], cid) == 0
    assert unread(session, people["carol"], cid) == 1


def test_mark_read_never_moves_a_member_backwards(session, people):
    cid = conversations.create_group(
        session, user_id=people["alice"], title="Team", member_usernames=["bob", "carol"]
    )
    for body in ("one", "two", "three"):
        messages.send(session, author_id=people["alice"], conversation_id=cid, body=body)
    inbox.mark_read(session, user_ids=[people["bob"]], conversation_id=cid)
    inbox.mark_read(session, user_ids=[people["bob"], people["carol"]], conversation_id=cid, upto_seq=1)
    box = {name: inbox.inbox_of(session, user_id=people[name]).read_seq[cid] for name in ("bob", "carol")}
    assert box == {"bob": 3, "carol": 1}  # one statement: carol moved forward, bob stayed
    inbox.mark_read(session, user_ids=[people["alice"]], conversation_id=cid, upto_seq=0)
    assert unread(session, people["alice"], cid) == 0  # her own messages stay read


def test_mark_read_of_nobody_changes_nothing(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    messages.send(session, author_id=people["alice"], conversation_id=cid, body="hi")
    assert inbox.mark_read(session, user_ids=[], conversation_id=cid) == 1
    assert unread(session, people["bob"], cid) == 1


# A direct chat appears in the other person's list with its first message ---------------


def test_an_empty_direct_chat_shows_only_in_its_creators_list(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    assert [r.id for r in inbox.list_for_user(session, user_id=people["alice"])] == [cid]
    assert inbox.list_for_user(session, user_id=people["bob"]) == []
    assert inbox.inbox_of(session, user_id=people["bob"]).read_seq == {}
    # Bob opening it from his side does not make it his: it still waits for a message.
    assert conversations.open_direct(session, user_id=people["bob"], other_username="alice") == (cid, False)
    assert inbox.list_for_user(session, user_id=people["bob"]) == []
    messages.send(session, author_id=people["alice"], conversation_id=cid, body="hello")
    (row,) = inbox.list_for_user(session, user_id=people["bob"])
    assert (row.id, row.title, row.peer_id, row.preview) == (cid, "Alice", people["alice"], "hello")
    assert unread(session, people["bob"], cid) == 1


def test_an_empty_direct_chat_shows_once_the_other_person_writes_first(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    messages.send(session, author_id=people["bob"], conversation_id=cid, body="I saw you opened it")
    assert [r.id for r in inbox.list_for_user(session, user_id=people["bob"])] == [cid]
    assert unread(session, people["alice"], cid) == 1


def test_row_of_an_empty_direct_chat_works_for_the_other_person(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    row = inbox.row_of(session, user_id=people["bob"], conversation_id=cid)
    assert (row.id, row.kind, row.title, row.peer_id, row.seq, row.preview) == (
        cid,
        "direct",
        "Alice",
        people["alice"],
        0,
        "",
    )
    mine = inbox.row_of(session, user_id=people["alice"], conversation_id=cid)
    assert (mine.title, mine.peer_id) == ("Bob", people["bob"])
    with pytest.raises(NotFound, match=NOT_A_MEMBER):
        inbox.row_of(session, user_id=people["carol"], conversation_id=cid)


def test_a_group_shows_at_once_to_every_member(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    (row,) = inbox.list_for_user(session, user_id=people["bob"])
    assert row.id == cid
    assert (row.preview_kind, row.preview_author, row.preview) == ("system", "Alice", "created the group")
    assert unread(session, people["bob"], cid) == 0  # a system line is not a message to read


# rows_for_members ---------------------------------------------------------------------


def test_rows_for_members_of_a_group_is_one_row_for_all(session, people):
    cid = conversations.create_group(
        session, user_id=people["alice"], title="Team", member_usernames=["bob", "carol"]
    )
    messages.send(session, author_id=people["carol"], conversation_id=cid, body="hi  all")
    rows = inbox.rows_for_members(session, cid)
    assert list(rows) == [0]
    assert rows[0].to_wire() == inbox.list_for_user(session, user_id=people["bob"])[0].to_wire()
    assert (rows[0].title, rows[0].seq, rows[0].preview_author, rows[0].preview) == (
        "Team",
        1,
        "Carol",
        "hi all",
    )


def test_rows_for_members_of_a_direct_chat_is_one_row_per_member(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    messages.send(session, author_id=people["alice"], conversation_id=cid, body="hi")
    rows = inbox.rows_for_members(session, cid)
    assert set(rows) == {people["alice"], people["bob"]}
    assert (rows[people["alice"]].title, rows[people["alice"]].peer_id) == ("Bob", people["bob"])
    assert (rows[people["bob"]].title, rows[people["bob"]].peer_id) == ("Alice", people["alice"])
    for viewer in ("alice", "bob"):
        (listed,) = inbox.list_for_user(session, user_id=people[viewer])
        assert rows[people[viewer]].to_wire() == listed.to_wire()


def test_a_rows_wire_entry_is_a_copy_of_every_field_in_order():
    row = inbox.ConversationRow(id=1, kind="direct", title="Bob", peer_id=2, seq=3)
    wire = row.to_wire()
    assert list(wire) == [f.name for f in dataclasses.fields(row)]
    assert wire == dataclasses.asdict(row)
    row.with_last(author_id=2, author="Bob", kind="text", body="hi  there", deleted=False)
    assert wire["preview"] == ""  # an entry a tab holds does not change with the row
    assert (row.to_wire()["preview"], list(row.to_wire())) == ("hi there", list(wire))
