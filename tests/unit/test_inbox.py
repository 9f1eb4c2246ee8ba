"""The inbox service (`chatapp/services/inbox.py`) on a real SQLite database: the
conversation list of a user, its previews and unread counts."""

from __future__ import annotations

from chatapp.services import conversations, inbox, messages

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
    assert row.member_ids == sorted([people["alice"], people["bob"]])
    (other_side,) = inbox.list_for_user(session, user_id=people["bob"])
    assert (other_side.title, other_side.peer_id) == ("Alice", people["alice"])


def test_list_for_user_titles_a_group_with_its_title(session, people):
    conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    (row,) = inbox.list_for_user(session, user_id=people["bob"])
    assert (row.kind, row.title, row.peer_id) == ("group", "Team", 0)


def test_list_for_user_preview_is_the_last_message_with_its_author(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    (empty,) = inbox.list_for_user(session, user_id=people["alice"])
    assert empty.preview == ""
    messages.send(session, author_id=people["alice"], conversation_id=cid, body="first")
    messages.send(session, author_id=people["bob"], conversation_id=cid, body="second\n  line")
    (row,) = inbox.list_for_user(session, user_id=people["alice"])
    assert row.preview == "Bob: second line"


def test_list_for_user_preview_is_cut_to_80_characters(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    messages.send(session, author_id=people["bob"], conversation_id=cid, body="x" * 500)
    (row,) = inbox.list_for_user(session, user_id=people["alice"])
    assert row.preview == ("Bob: " + "x" * 500)[:80]
    assert len(row.preview) == 80


def test_list_for_user_last_activity_is_that_of_the_last_message(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    sent = messages.send(session, author_id=people["bob"], conversation_id=cid, body="hi")
    (row,) = inbox.list_for_user(session, user_id=people["alice"])
    assert row.last_activity_ms == sent.created_ms


def test_list_for_user_counts_unread_messages_of_others_only(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    for body in ("one", "two", "three"):
        messages.send(session, author_id=people["bob"], conversation_id=cid, body=body)
    messages.send(session, author_id=people["alice"], conversation_id=cid, body="mine")
    (alice_row,) = inbox.list_for_user(session, user_id=people["alice"])
    (bob_row,) = inbox.list_for_user(session, user_id=people["bob"])
    assert alice_row.unread == 3
    assert bob_row.unread == 1


def test_mark_read_resets_the_unread_count_until_the_next_message(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    messages.send(session, author_id=people["bob"], conversation_id=cid, body="one")
    messages.send(session, author_id=people["bob"], conversation_id=cid, body="two")
    inbox.mark_read(session, user_id=people["alice"], conversation_id=cid)
    (row,) = inbox.list_for_user(session, user_id=people["alice"])
    assert row.unread == 0
    messages.send(session, author_id=people["bob"], conversation_id=cid, body="three")
    (row,) = inbox.list_for_user(session, user_id=people["alice"])
    assert row.unread == 1


def test_mark_read_by_one_member_leaves_the_others_unread(session, people):
    cid = conversations.create_group(
        session, user_id=people["alice"], title="Team", member_usernames=["bob", "carol"]
    )
    messages.send(session, author_id=people["alice"], conversation_id=cid, body="hello all")
    inbox.mark_read(session, user_id=people["bob"], conversation_id=cid)
    (bob_row,) = inbox.list_for_user(session, user_id=people["bob"])
    (carol_row,) = inbox.list_for_user(session, user_id=people["carol"])
    assert bob_row.unread == 0
    assert carol_row.unread == 1
