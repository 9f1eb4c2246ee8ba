"""The conversations service (`chatapp/services/conversations.py`) on a real SQLite
database: direct chats, groups, membership and contacts."""

from __future__ import annotations

import pytest

from chatapp.models import Conversation, Participant
from chatapp.services import conversations
from chatapp.services.errors import ChatError, Forbidden, InvalidInput, NotFound
from tests.unit.service_helpers import NOT_A_MEMBER, count_rows


def _member_ids(session, conversation_id: int) -> set[int]:
    return set(conversations.member_ids(session, conversation_id))


# open_direct --------------------------------------------------------------------------


def test_open_direct_creates_the_conversation_with_both_users(session, people):
    cid, created = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    assert created is True
    conversation = session.get(Conversation, cid)
    assert conversation.kind == "direct"
    assert _member_ids(session, cid) == {people["alice"], people["bob"]}


def test_open_direct_second_call_returns_the_same_conversation(session, people):
    first, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    again, created = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    assert (again, created) == (first, False)
    assert count_rows(session, Conversation) == 1
    assert count_rows(session, Participant) == 2


def test_open_direct_from_the_other_side_returns_the_same_conversation(session, people):
    first, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    reverse, created = conversations.open_direct(session, user_id=people["bob"], other_username="ALICE")
    assert (reverse, created) == (first, False)
    assert count_rows(session, Conversation) == 1


def test_open_direct_with_yourself_is_refused(session, people):
    with pytest.raises(InvalidInput, match="with yourself"):
        conversations.open_direct(session, user_id=people["alice"], other_username="Alice")
    assert count_rows(session, Conversation) == 0


def test_open_direct_with_an_unknown_username_is_not_found(session, people):
    with pytest.raises(NotFound, match="@ghost"):
        conversations.open_direct(session, user_id=people["alice"], other_username="ghost")
    assert count_rows(session, Conversation) == 0


@pytest.mark.parametrize("blank", ["", "   "])
def test_open_direct_with_a_blank_username_is_refused_with_a_chat_error(session, people, blank):
    # The "new direct chat" dialog passes whatever was typed; only ChatError is shown
    # to the user, anything else is an unhandled exception in the event handler.
    with pytest.raises(ChatError):
        conversations.open_direct(session, user_id=people["alice"], other_username=blank)
    assert count_rows(session, Conversation) == 0


# create_group -------------------------------------------------------------------------


def test_create_group_has_the_creator_and_the_named_members(session, people):
    cid = conversations.create_group(
        session, user_id=people["alice"], title="  Team   chat ", member_usernames=["bob", "@Carol", "bob"]
    )
    conversation = session.get(Conversation, cid)
    assert conversation.kind == "group"
    assert conversation.title == "Team chat"
    assert conversation.direct_key is None
    assert _member_ids(session, cid) == {people["alice"], people["bob"], people["carol"]}
    assert count_rows(session, Participant) == 3


def test_create_group_requires_a_title(session, people):
    with pytest.raises(InvalidInput, match="A group needs a title"):
        conversations.create_group(session, user_id=people["alice"], title="  \t ", member_usernames=["bob"])
    assert count_rows(session, Conversation) == 0


def test_create_group_title_may_be_80_characters(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="t" * 80, member_usernames=[])
    assert session.get(Conversation, cid).title == "t" * 80


def test_create_group_title_over_80_characters_is_refused(session, people):
    with pytest.raises(InvalidInput, match="at most 80 characters"):
        conversations.create_group(session, user_id=people["alice"], title="t" * 81, member_usernames=["bob"])
    assert count_rows(session, Conversation) == 0


def test_create_group_with_an_unknown_member_is_not_found_and_creates_nothing(session, people):
    with pytest.raises(NotFound, match="@ghost"):
        conversations.create_group(
            session, user_id=people["alice"], title="Team", member_usernames=["bob", "ghost"]
        )
    assert count_rows(session, Conversation) == 0
    assert count_rows(session, Participant) == 0


# add_members --------------------------------------------------------------------------


def test_add_members_adds_new_users_and_skips_existing_ones(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    added = conversations.add_members(
        session, user_id=people["bob"], conversation_id=cid, usernames=["alice", "carol", "dave"]
    )
    assert added == sorted([people["carol"], people["dave"]])
    assert _member_ids(session, cid) == set(people.values())
    assert count_rows(session, Participant) == 4


def test_add_members_by_a_non_member_is_refused_and_adds_nobody(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    with pytest.raises(NotFound, match=NOT_A_MEMBER):
        conversations.add_members(session, user_id=people["carol"], conversation_id=cid, usernames=["dave"])
    assert _member_ids(session, cid) == {people["alice"], people["bob"]}


def test_add_members_to_a_direct_chat_is_refused(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    with pytest.raises(Forbidden, match="only be added to a group"):
        conversations.add_members(session, user_id=people["alice"], conversation_id=cid, usernames=["carol"])
    assert _member_ids(session, cid) == {people["alice"], people["bob"]}


def test_add_members_with_an_unknown_username_adds_nobody(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=[])
    with pytest.raises(NotFound, match="@ghost"):
        conversations.add_members(
            session, user_id=people["alice"], conversation_id=cid, usernames=["bob", "ghost"]
        )
    assert _member_ids(session, cid) == {people["alice"]}


# leave --------------------------------------------------------------------------------


def test_leave_removes_the_user_from_the_group_only(session, people):
    cid = conversations.create_group(
        session, user_id=people["alice"], title="Team", member_usernames=["bob", "carol"]
    )
    conversations.leave(session, user_id=people["bob"], conversation_id=cid)
    assert _member_ids(session, cid) == {people["alice"], people["carol"]}
    with pytest.raises(NotFound):
        conversations.require_member(session, user_id=people["bob"], conversation_id=cid)


def test_leave_a_direct_chat_is_refused(session, people):
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    with pytest.raises(Forbidden, match="cannot be left"):
        conversations.leave(session, user_id=people["alice"], conversation_id=cid)
    assert _member_ids(session, cid) == {people["alice"], people["bob"]}


def test_leave_by_a_non_member_is_not_found(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    with pytest.raises(NotFound, match=NOT_A_MEMBER):
        conversations.leave(session, user_id=people["carol"], conversation_id=cid)
    assert _member_ids(session, cid) == {people["alice"], people["bob"]}


# require_member -----------------------------------------------------------------------


def test_require_member_returns_the_conversation_to_a_member(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    conversation = conversations.require_member(session, user_id=people["bob"], conversation_id=cid)
    assert conversation.id == cid
    assert conversation.title == "Team"


def test_require_member_non_member_and_nonexistent_get_the_same_not_found(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    with pytest.raises(NotFound) as not_member:
        conversations.require_member(session, user_id=people["carol"], conversation_id=cid)
    with pytest.raises(NotFound) as nonexistent:
        conversations.require_member(session, user_id=people["carol"], conversation_id=cid + 1000)
    assert str(not_member.value) == NOT_A_MEMBER
    assert str(nonexistent.value) == str(not_member.value)


def test_co_members_are_everyone_sharing_a_conversation(session, people):
    conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    conversations.create_group(session, user_id=people["alice"], title="T", member_usernames=["dave"])
    assert sorted(conversations.co_members(session, people["alice"])) == sorted(
        [people["bob"], people["dave"]]
    )
    assert conversations.co_members(session, people["carol"]) == []
