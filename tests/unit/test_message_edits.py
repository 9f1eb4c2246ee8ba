"""Editing and deleting one's own messages (`messages.edit`, `messages.delete`) on a
real SQLite database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from chatapp.models import Conversation, Message, utcnow
from chatapp.services import conversations, inbox, messages
from chatapp.services.errors import Forbidden, InvalidInput, NotFound
from chatapp.settings import settings
from tests.unit.service_helpers import unread


@pytest.fixture
def sent(session, people, chat) -> messages.MessageView:
    """alice's message "hello bob" in her direct chat with bob."""
    return messages.send(session, author_id=people["alice"], conversation_id=chat, body="hello bob")


def _stored(session, message_id: int) -> Message:
    session.expire_all()
    return session.get(Message, message_id)


# messages.edit ------------------------------------------------------------------------


def test_edit_replaces_the_text_and_marks_it_edited(session, people, chat, sent):
    later = utcnow() + timedelta(minutes=3)
    view = messages.edit(
        session, user_id=people["alice"], message_id=sent.id, body="  hello Bob!\n", now=later
    )
    assert (view.id, view.body, view.seq, view.created_ms) == (
        sent.id,
        "hello Bob!",
        sent.seq,
        sent.created_ms,
    )
    assert view.edited_ms == int(later.timestamp() * 1000)
    assert view.deleted is False
    stored = _stored(session, sent.id)
    assert (stored.body, stored.edited_at) == ("hello Bob!", later)
    got = messages.history(session, user_id=people["bob"], conversation_id=chat)
    assert [(m.id, m.body, m.edited_ms) for m in got] == [(sent.id, "hello Bob!", view.edited_ms)]


def test_an_unedited_message_has_no_edit_time(session, people, chat, sent):
    assert sent.edited_ms == 0
    assert _stored(session, sent.id).edited_at is None


def test_edit_to_the_same_text_does_not_mark_it_edited(session, people, chat, sent):
    view = messages.edit(session, user_id=people["alice"], message_id=sent.id, body="  hello bob  ")
    assert (view.body, view.edited_ms) == ("hello bob", 0)
    assert _stored(session, sent.id).edited_at is None


def test_edit_is_not_a_new_message(session, people, chat, sent):
    messages.edit(session, user_id=people["alice"], message_id=sent.id, body="changed")
    assert session.get(Conversation, chat).message_seq == 1
    assert unread(session, people["bob"], chat) == 1
    assert session.exec(select(Message.body)).all() == ["changed"]


def test_edit_of_someone_elses_message_is_forbidden(session, people, chat, sent):
    with pytest.raises(Forbidden, match="only change your own"):
        messages.edit(session, user_id=people["bob"], message_id=sent.id, body="hacked")
    assert _stored(session, sent.id).body == "hello bob"


def test_edit_of_a_system_line_is_forbidden_even_to_its_author(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    (line,) = messages.history(session, user_id=people["alice"], conversation_id=cid)
    assert (line.kind, line.author_id) == ("system", people["alice"])
    with pytest.raises(Forbidden):
        messages.edit(session, user_id=people["alice"], message_id=line.id, body="deleted the group")
    with pytest.raises(Forbidden):
        messages.delete(session, user_id=people["alice"], message_id=line.id)
    assert _stored(session, line.id).body == "created the group"
    assert _stored(session, line.id).deleted_at is None


def test_edit_of_a_deleted_message_is_forbidden(session, people, chat, sent):
    messages.delete(session, user_id=people["alice"], message_id=sent.id)
    with pytest.raises(Forbidden, match="was deleted"):
        messages.edit(session, user_id=people["alice"], message_id=sent.id, body="back again")
    stored = _stored(session, sent.id)
    assert (stored.body, stored.edited_at) == ("", None)


def test_edit_over_the_limit_is_refused_and_nothing_is_cut(session, people, chat, sent):
    limit = settings.message_max_length
    with pytest.raises(InvalidInput, match="at most"):
        messages.edit(session, user_id=people["alice"], message_id=sent.id, body="y" * (limit + 1))
    assert _stored(session, sent.id).body == "hello bob"
    view = messages.edit(session, user_id=people["alice"], message_id=sent.id, body="y" * limit)
    assert view.body == "y" * limit
    assert _stored(session, sent.id).body == "y" * limit


@pytest.mark.parametrize("body", ["", "  \n "])
def test_edit_to_nothing_is_refused_not_a_delete(session, people, chat, sent, body):
    with pytest.raises(InvalidInput, match="cannot be empty"):
        messages.edit(session, user_id=people["alice"], message_id=sent.id, body=body)
    stored = _stored(session, sent.id)
    assert (stored.body, stored.deleted_at) == ("hello bob", None)


def test_edit_by_a_non_member_or_of_no_message_is_not_found(session, people, chat, sent):
    with pytest.raises(NotFound):
        messages.edit(session, user_id=people["carol"], message_id=sent.id, body="mine now")
    with pytest.raises(NotFound):
        messages.edit(session, user_id=people["alice"], message_id=sent.id + 1000, body="ghost")
    with pytest.raises(NotFound):
        messages.edit(session, user_id=people["alice"], message_id=str(sent.id), body="ghost")
    assert _stored(session, sent.id).body == "hello bob"


def test_edit_after_leaving_the_group_is_not_found(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    mine = messages.send(session, author_id=people["bob"], conversation_id=cid, body="bye")
    conversations.leave(session, user_id=people["bob"], conversation_id=cid)
    with pytest.raises(NotFound):
        messages.edit(session, user_id=people["bob"], message_id=mine.id, body="changed my mind")
    assert _stored(session, mine.id).body == "bye"


# messages.delete ----------------------------------------------------------------------


def test_delete_empties_the_text_and_keeps_the_place(session, people, chat, sent):
    after = messages.send(session, author_id=people["bob"], conversation_id=chat, body="after")
    view = messages.delete(session, user_id=people["alice"], message_id=sent.id)
    assert (view.id, view.body, view.deleted, view.seq) == (sent.id, "", True, 1)
    stored = _stored(session, sent.id)
    assert stored.body == ""
    assert stored.deleted_at is not None
    got = messages.history(session, user_id=people["bob"], conversation_id=chat)
    assert [(m.id, m.body, m.deleted) for m in got] == [(sent.id, "", True), (after.id, "after", False)]


def test_delete_of_someone_elses_message_is_forbidden(session, people, chat, sent):
    with pytest.raises(Forbidden, match="only change your own"):
        messages.delete(session, user_id=people["bob"], message_id=sent.id)
    stored = _stored(session, sent.id)
    assert (stored.body, stored.deleted_at) == ("hello bob", None)


def test_delete_twice_is_forbidden_the_second_time(session, people, chat, sent):
    messages.delete(session, user_id=people["alice"], message_id=sent.id)
    first = _stored(session, sent.id).deleted_at
    with pytest.raises(Forbidden, match="was deleted"):
        messages.delete(session, user_id=people["alice"], message_id=sent.id)
    assert _stored(session, sent.id).deleted_at == first


def test_delete_by_a_non_member_is_not_found(session, people, chat, sent):
    with pytest.raises(NotFound):
        messages.delete(session, user_id=people["carol"], message_id=sent.id)
    assert _stored(session, sent.id).deleted_at is None


def test_a_deleted_last_message_shows_as_deleted_in_the_list(session, people, chat, sent):
    messages.delete(session, user_id=people["alice"], message_id=sent.id)
    (row,) = inbox.list_for_user(session, user_id=people["bob"])
    assert (row.preview, row.preview_deleted, row.preview_author) == ("", True, "Alice")
    for member_row in inbox.rows_for_members(session, chat).values():
        assert (member_row.preview, member_row.preview_deleted) == ("", True)


def test_an_edited_last_message_shows_its_new_text_in_the_list(session, people, chat, sent):
    messages.edit(session, user_id=people["alice"], message_id=sent.id, body="hello again")
    (row,) = inbox.list_for_user(session, user_id=people["bob"])
    assert (row.preview, row.preview_deleted) == ("hello again", False)
