"""Membership changes on a real SQLite database: the system lines they write ("created
the group", "added <names>", "left"), members given by id, and who started a chat."""

from __future__ import annotations

import pytest
from sqlmodel import select

from chatapp.models import Conversation, Message, Participant
from chatapp.services import conversations, messages
from chatapp.services.errors import InvalidInput, NotFound
from tests.unit.service_helpers import count_rows


def _lines(session, conversation_id: int) -> list[tuple[str, int, str]]:
    """The conversation's messages as (kind, author id, body), oldest first."""
    session.expire_all()
    rows = session.exec(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
    ).all()
    return [(m.kind, m.author_id, m.body) for m in rows]


# system lines -------------------------------------------------------------------------


def test_creating_a_group_writes_created_the_group_by_its_creator(session, people):
    cid = conversations.create_group(session, user_id=people["bob"], title="Team", member_usernames=["alice"])
    assert _lines(session, cid) == [("system", people["bob"], "created the group")]
    (line,) = messages.history(session, user_id=people["alice"], conversation_id=cid)
    assert (line.kind, line.author_name, line.body, line.seq) == ("system", "Bob", "created the group", 0)


def test_adding_members_writes_added_with_their_names_by_the_adder(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    conversations.add_members(
        session, user_id=people["bob"], conversation_id=cid, usernames=["dave", "carol"]
    )
    assert _lines(session, cid)[-1] == ("system", people["bob"], "added Carol, Dave")
    line = messages.newest(session, cid)
    assert (line.kind, line.author_name, line.body) == ("system", "Bob", "added Carol, Dave")


def test_adding_only_present_members_writes_no_line(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    assert (
        conversations.add_members(session, user_id=people["alice"], conversation_id=cid, usernames=["bob"])
        == []
    )
    assert _lines(session, cid) == [("system", people["alice"], "created the group")]


def test_the_added_line_names_only_the_new_members(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    conversations.add_members(
        session, user_id=people["alice"], conversation_id=cid, usernames=["bob", "carol"]
    )
    assert _lines(session, cid)[-1] == ("system", people["alice"], "added Carol")


def test_leaving_writes_left_by_the_one_who_left(session, people):
    cid = conversations.create_group(
        session, user_id=people["alice"], title="Team", member_usernames=["bob", "carol"]
    )
    conversations.leave(session, user_id=people["carol"], conversation_id=cid)
    assert _lines(session, cid)[-1] == ("system", people["carol"], "left")
    page, _ = messages.page(session, user_id=people["alice"], conversation_id=cid)
    assert [(m.author_name, m.body) for m in page] == [("Alice", "created the group"), ("Carol", "left")]


def test_a_refused_change_writes_no_line(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    with pytest.raises(NotFound):
        conversations.add_members(session, user_id=people["carol"], conversation_id=cid, usernames=["dave"])
    with pytest.raises(NotFound):
        conversations.leave(session, user_id=people["dave"], conversation_id=cid)
    assert _lines(session, cid) == [("system", people["alice"], "created the group")]


def test_a_direct_chat_has_no_system_lines(session, people, chat):
    assert _lines(session, chat) == []


# members by id ------------------------------------------------------------------------


def test_create_group_by_member_ids(session, people):
    cid = conversations.create_group(
        session, user_id=people["alice"], title="Team", member_ids=[people["carol"], people["bob"]]
    )
    assert set(conversations.member_ids(session, cid)) == {people["alice"], people["bob"], people["carol"]}


def test_create_group_with_an_unknown_member_id_creates_nothing(session, people):
    with pytest.raises(NotFound):
        conversations.create_group(
            session, user_id=people["alice"], title="Team", member_ids=[people["bob"], 999]
        )
    assert (count_rows(session, Conversation), count_rows(session, Message)) == (0, 0)


def test_add_members_by_user_ids(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team")
    added = conversations.add_members(
        session, user_id=people["alice"], conversation_id=cid, user_ids=[people["dave"], people["alice"]]
    )
    assert added == [people["dave"]]
    assert _lines(session, cid)[-1] == ("system", people["alice"], "added Dave")


@pytest.mark.parametrize("bad", [999, "2", None])
def test_add_members_with_a_bad_user_id_adds_nobody(session, people, bad):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team")
    with pytest.raises(NotFound):
        conversations.add_members(
            session, user_id=people["alice"], conversation_id=cid, user_ids=[people["bob"], bad]
        )
    assert conversations.member_ids(session, cid) == [people["alice"]]
    assert len(_lines(session, cid)) == 1


# open_direct --------------------------------------------------------------------------


def test_open_direct_records_who_started_it(session, people):
    cid, created = conversations.open_direct(session, user_id=people["bob"], other_username="alice")
    assert created is True
    assert session.get(Conversation, cid).created_by == people["bob"]
    again, created = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    assert (again, created) == (cid, False)
    assert session.get(Conversation, cid).created_by == people["bob"]


def test_open_direct_by_id_is_the_same_chat_as_by_username(session, people):
    cid, created = conversations.open_direct(session, user_id=people["alice"], other_id=people["bob"])
    assert created is True
    assert set(conversations.member_ids(session, cid)) == {people["alice"], people["bob"]}
    assert session.get(Conversation, cid).created_by == people["alice"]
    assert conversations.open_direct(session, user_id=people["bob"], other_username="alice") == (cid, False)


@pytest.mark.parametrize("other_id", [999, "2", True, 2.0])
def test_open_direct_with_a_bad_id_is_not_found(session, people, other_id):
    # True is an int to Python, and was taken for user 1: a second alice-bob chat.
    conversations.open_direct(session, user_id=people["bob"], other_id=people["alice"])
    with pytest.raises(NotFound, match="No such user"):
        conversations.open_direct(session, user_id=people["bob"], other_id=other_id)
    assert count_rows(session, Conversation) == 1
    assert count_rows(session, Participant) == 2


def test_open_direct_by_id_with_yourself_is_refused(session, people):
    with pytest.raises(InvalidInput, match="with yourself"):
        conversations.open_direct(session, user_id=people["alice"], other_id=people["alice"])
    assert count_rows(session, Conversation) == 0
