"""Accounts, conversations and messages services on a real SQLite database."""

from __future__ import annotations

import bcrypt
import pytest
import sqlalchemy as sa
from sqlmodel import select

from chatapp.models import Conversation, Message, Participant, Profile, User, utcnow
from chatapp.services import accounts, conversations, inbox, messages
from chatapp.services.errors import ChatError, Forbidden, InvalidInput, NotFound
from chatapp.settings import settings

PASSWORD = "correct horse battery"  # what the make_user fixture signs up with
NOT_A_MEMBER = "This conversation does not exist or you are not a member of it."


def _count(session, model) -> int:
    return session.exec(select(sa.func.count()).select_from(model)).one()


def _member_ids(session, conversation_id: int) -> set[int]:
    return set(conversations.member_ids(session, conversation_id))


@pytest.fixture
def people(make_user) -> dict[str, int]:
    """Four accounts: alice, bob, carol and dave (display names capitalised)."""
    return {name: make_user(name, name.title()) for name in ("alice", "bob", "carol", "dave")}


# sign_up ------------------------------------------------------------------------------


def test_sign_up_stores_the_username_in_lower_case(session):
    user = accounts.sign_up(session, username="  AliCe ", display_name="Alice", password=PASSWORD)
    assert user.username == "alice"
    stored = session.exec(select(User.username)).all()
    assert stored == ["alice"]


def test_sign_up_drops_a_leading_at_sign(session):
    user = accounts.sign_up(session, username="@Bob", display_name="", password=PASSWORD)
    assert user.username == "bob"


def test_sign_up_refuses_a_taken_username_with_a_clear_message(session):
    accounts.sign_up(session, username="alice", display_name="Alice", password=PASSWORD)
    with pytest.raises(InvalidInput, match=r"The username @alice is taken\."):
        accounts.sign_up(session, username="alice", display_name="Other", password=PASSWORD)
    assert _count(session, User) == 1
    assert _count(session, Profile) == 1


def test_sign_up_refuses_a_case_variant_of_a_taken_username(session):
    accounts.sign_up(session, username="alice", display_name="Alice", password=PASSWORD)
    with pytest.raises(InvalidInput, match=r"The username @alice is taken\."):
        accounts.sign_up(session, username="ALICE", display_name="Shouting Alice", password=PASSWORD)
    assert _count(session, User) == 1


def test_sign_up_stores_a_bcrypt_hash_not_the_password(session):
    user = accounts.sign_up(session, username="alice", display_name="Alice", password=PASSWORD)
    stored = session.exec(select(User.password_hash).where(User.id == user.id)).one()
    assert PASSWORD.encode() not in stored
    assert stored.startswith(b"$2")
    assert bcrypt.checkpw(PASSWORD.encode(), stored)
    assert not bcrypt.checkpw(b"not the password", stored)


def test_sign_up_creates_an_enabled_account_with_a_profile(session):
    user = accounts.sign_up(session, username="alice", display_name="Alice L.", password=PASSWORD)
    assert user.enabled is True
    profile = session.get(Profile, user.id)
    assert profile is not None
    assert profile.display_name == "Alice L."
    assert profile.last_seen_at is None
    assert profile.manual_status is None


def test_sign_up_display_name_defaults_to_the_username(session):
    user = accounts.sign_up(session, username="Alice", display_name="   ", password=PASSWORD)
    assert session.get(Profile, user.id).display_name == "alice"


def test_sign_up_collapses_whitespace_in_the_display_name(session):
    user = accounts.sign_up(session, username="alice", display_name="  Alice \t  Liddell ", password=PASSWORD)
    assert session.get(Profile, user.id).display_name == "Alice Liddell"


@pytest.mark.parametrize(
    ("username", "display_name", "password", "message"),
    [
        ("al", "", PASSWORD, "Username must be 3 to 32 characters"),
        ("a" * 33, "", PASSWORD, "Username must be 3 to 32 characters"),
        ("alice!", "", PASSWORD, "Username must be 3 to 32 characters"),
        ("alice smith", "", PASSWORD, "Username must be 3 to 32 characters"),
        ("alice", "x" * 65, PASSWORD, "Display name must be at most 64 characters"),
        ("alice", "", "short", "Password must be 8 to 128 characters"),
        ("alice", "", "p" * 129, "Password must be 8 to 128 characters"),
    ],
)
def test_sign_up_refuses_a_malformed_form_and_creates_nothing(
    session, username, display_name, password, message
):
    with pytest.raises(InvalidInput, match=message):
        accounts.sign_up(session, username=username, display_name=display_name, password=password)
    assert _count(session, User) == 0
    assert _count(session, Profile) == 0


# authenticate -------------------------------------------------------------------------


def test_authenticate_returns_the_user_for_the_right_password(session, make_user):
    uid = make_user("alice", "Alice")
    user = accounts.authenticate(session, username="alice", password=PASSWORD)
    assert user.id == uid


def test_authenticate_username_is_case_insensitive(session, make_user):
    uid = make_user("alice", "Alice")
    assert accounts.authenticate(session, username=" @ALICE ", password=PASSWORD).id == uid


def test_authenticate_wrong_password_and_unknown_user_give_the_same_message(session, make_user):
    make_user("alice", "Alice")
    with pytest.raises(InvalidInput) as wrong_password:
        accounts.authenticate(session, username="alice", password="wrong password!")
    with pytest.raises(InvalidInput) as unknown_user:
        accounts.authenticate(session, username="nobody", password=PASSWORD)
    assert str(wrong_password.value) == "Wrong username or password."
    assert str(unknown_user.value) == str(wrong_password.value)


def test_authenticate_refuses_a_disabled_account(session, make_user):
    uid = make_user("alice", "Alice")
    user = session.get(User, uid)
    user.enabled = False
    session.add(user)
    session.commit()
    with pytest.raises(InvalidInput, match="Wrong username or password"):
        accounts.authenticate(session, username="alice", password=PASSWORD)


def test_find_user_ids_names_every_missing_user(session, people):
    with pytest.raises(NotFound, match=r"No such user: @ghost, @zombie\."):
        accounts.find_user_ids(session, ["alice", "zombie", "ghost"])


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
    assert _count(session, Conversation) == 1
    assert _count(session, Participant) == 2


def test_open_direct_from_the_other_side_returns_the_same_conversation(session, people):
    first, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    reverse, created = conversations.open_direct(session, user_id=people["bob"], other_username="ALICE")
    assert (reverse, created) == (first, False)
    assert _count(session, Conversation) == 1


def test_open_direct_with_yourself_is_refused(session, people):
    with pytest.raises(InvalidInput, match="with yourself"):
        conversations.open_direct(session, user_id=people["alice"], other_username="Alice")
    assert _count(session, Conversation) == 0


def test_open_direct_with_an_unknown_username_is_not_found(session, people):
    with pytest.raises(NotFound, match="@ghost"):
        conversations.open_direct(session, user_id=people["alice"], other_username="ghost")
    assert _count(session, Conversation) == 0


@pytest.mark.parametrize("blank", ["", "   "])
def test_open_direct_with_a_blank_username_is_refused_with_a_chat_error(session, people, blank):
    # The "new direct chat" dialog passes whatever was typed; only ChatError is shown
    # to the user, anything else is an unhandled exception in the event handler.
    with pytest.raises(ChatError):
        conversations.open_direct(session, user_id=people["alice"], other_username=blank)
    assert _count(session, Conversation) == 0


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
    assert _count(session, Participant) == 3


def test_create_group_requires_a_title(session, people):
    with pytest.raises(InvalidInput, match="A group needs a title"):
        conversations.create_group(session, user_id=people["alice"], title="  \t ", member_usernames=["bob"])
    assert _count(session, Conversation) == 0


def test_create_group_title_may_be_80_characters(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="t" * 80, member_usernames=[])
    assert session.get(Conversation, cid).title == "t" * 80


def test_create_group_title_over_80_characters_is_refused(session, people):
    with pytest.raises(InvalidInput, match="at most 80 characters"):
        conversations.create_group(session, user_id=people["alice"], title="t" * 81, member_usernames=["bob"])
    assert _count(session, Conversation) == 0


def test_create_group_with_an_unknown_member_is_not_found_and_creates_nothing(session, people):
    with pytest.raises(NotFound, match="@ghost"):
        conversations.create_group(
            session, user_id=people["alice"], title="Team", member_usernames=["bob", "ghost"]
        )
    assert _count(session, Conversation) == 0
    assert _count(session, Participant) == 0


# add_members --------------------------------------------------------------------------


def test_add_members_adds_new_users_and_skips_existing_ones(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    added = conversations.add_members(
        session, user_id=people["bob"], conversation_id=cid, usernames=["alice", "carol", "dave"]
    )
    assert added == sorted([people["carol"], people["dave"]])
    assert _member_ids(session, cid) == set(people.values())
    assert _count(session, Participant) == 4


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


# contact_ids --------------------------------------------------------------------------


def test_contact_ids_are_exactly_the_users_sharing_a_conversation(session, people):
    conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    conversations.create_group(
        session, user_id=people["alice"], title="Team", member_usernames=["bob", "carol"]
    )
    conversations.open_direct(session, user_id=people["carol"], other_username="dave")
    assert conversations.contact_ids(session, people["alice"]) == {people["bob"], people["carol"]}
    assert conversations.contact_ids(session, people["carol"]) == {
        people["alice"],
        people["bob"],
        people["dave"],
    }
    assert conversations.contact_ids(session, people["dave"]) == {people["carol"]}


def test_contact_ids_exclude_the_user_themself(session, people):
    conversations.create_group(session, user_id=people["alice"], title="Solo", member_usernames=[])
    conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    contacts = conversations.contact_ids(session, people["alice"])
    assert people["alice"] not in contacts
    assert contacts == {people["bob"]}


def test_contact_ids_of_a_user_without_conversations_is_empty(session, people):
    conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    assert conversations.contact_ids(session, people["dave"]) == set()


def test_contact_ids_forget_a_user_who_left_the_only_shared_group(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    conversations.leave(session, user_id=people["bob"], conversation_id=cid)
    assert conversations.contact_ids(session, people["alice"]) == set()
    assert conversations.contact_ids(session, people["bob"]) == set()


def test_contact_ids_of_a_user_in_a_thousand_conversations(session):
    now = utcnow()
    pw = b"$2b$12$not-a-real-hash-not-a-real-hash-not-a-real-hash-xx"
    session.execute(
        sa.insert(User),
        [{"username": f"user{i:03d}", "password_hash": pw, "enabled": True} for i in range(120)],
    )
    ids = dict(session.exec(select(User.username, User.id)).all())
    session.execute(
        sa.insert(Profile),
        [{"user_id": uid, "display_name": name, "created_at": now} for name, uid in ids.items()],
    )
    me = ids["user000"]
    friends = [ids[f"user{i:03d}"] for i in range(1, 80)]  # share something with me
    strangers = [ids[f"user{i:03d}"] for i in range(80, 120)]  # share nothing with me

    n = 1000
    session.execute(
        sa.insert(Conversation),
        [
            {"kind": "group", "title": f"group {i}", "created_at": now, "last_activity_at": now}
            for i in range(n + 50)
        ],
    )
    conv_ids = sorted(session.exec(select(Conversation.id)).all())
    mine, others_only = conv_ids[:n], conv_ids[n:]
    rows = []
    for i, cid in enumerate(mine):
        rows.append({"conversation_id": cid, "user_id": me})
        if i % 10 != 9:  # every tenth conversation has only me in it
            rows.append({"conversation_id": cid, "user_id": friends[i % len(friends)]})
        if i % 7 == 0:  # and some have a second friend too
            rows.append({"conversation_id": cid, "user_id": friends[(i + 1) % len(friends)]})
    for j, cid in enumerate(others_only):  # strangers talk to each other and to my friends
        rows.append({"conversation_id": cid, "user_id": strangers[j % len(strangers)]})
        rows.append({"conversation_id": cid, "user_id": friends[j % len(friends)]})
    session.execute(
        sa.insert(Participant),
        [{**row, "joined_at": now, "last_read_message_id": 0} for row in rows],
    )
    session.commit()

    assert session.exec(select(sa.func.count()).where(Participant.user_id == me)).one() == n
    contacts = conversations.contact_ids(session, me)
    assert contacts == set(friends)
    assert me not in contacts
    assert contacts.isdisjoint(strangers)


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


# messages.send ------------------------------------------------------------------------


@pytest.fixture
def chat(session, people) -> int:
    """The direct conversation of alice and bob."""
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    return cid


@pytest.mark.parametrize("body", ["", "   ", "\n\t  \n"])
def test_send_empty_or_whitespace_only_is_refused_and_not_stored(session, people, chat, body):
    with pytest.raises(InvalidInput, match="cannot be empty"):
        messages.send(session, author_id=people["alice"], conversation_id=chat, body=body)
    assert _count(session, Message) == 0


def test_send_over_the_length_limit_is_refused_and_not_stored(session, people, chat):
    limit = settings.message_max_length
    with pytest.raises(InvalidInput, match="at most"):
        messages.send(session, author_id=people["alice"], conversation_id=chat, body="x" * (limit + 1))
    assert _count(session, Message) == 0


def test_send_exactly_at_the_length_limit_is_accepted(session, people, chat):
    limit = settings.message_max_length
    sent = messages.send(session, author_id=people["alice"], conversation_id=chat, body="x" * limit)
    assert len(sent.body) == limit
    assert _count(session, Message) == 1


def test_send_limit_counts_the_stripped_body(session, people, chat):
    limit = settings.message_max_length
    sent = messages.send(
        session, author_id=people["alice"], conversation_id=chat, body="  " + "x" * limit + "  \n"
    )
    assert sent.body == "x" * limit


def test_send_by_a_non_member_is_refused_and_not_stored(session, people, chat):
    with pytest.raises(NotFound, match=NOT_A_MEMBER):
        messages.send(session, author_id=people["carol"], conversation_id=chat, body="let me in")
    assert _count(session, Message) == 0


def test_send_to_a_nonexistent_conversation_is_not_found(session, people, chat):
    with pytest.raises(NotFound, match=NOT_A_MEMBER):
        messages.send(session, author_id=people["alice"], conversation_id=chat + 1000, body="hello?")
    assert _count(session, Message) == 0


def test_send_stores_the_stripped_body_and_returns_its_view(session, people, chat):
    sent = messages.send(session, author_id=people["alice"], conversation_id=chat, body="  hello bob \n")
    assert sent.body == "hello bob"
    assert (sent.conversation_id, sent.author_id, sent.author_name) == (chat, people["alice"], "Alice")
    stored = session.exec(select(Message)).one()
    assert stored.id == sent.id
    assert stored.body == "hello bob"
    assert sent.created_ms == int(stored.created_at.timestamp() * 1000)


def test_send_bumps_the_conversation_activity_to_the_message_time(session, people, chat):
    before = session.get(Conversation, chat).last_activity_at
    sent = messages.send(session, author_id=people["alice"], conversation_id=chat, body="hi")
    session.expire_all()
    after = session.get(Conversation, chat).last_activity_at
    assert after > before
    assert int(after.timestamp() * 1000) == sent.created_ms


# messages.history ---------------------------------------------------------------------


def test_history_is_oldest_first_with_author_names(session, people, chat):
    for author, body in (("alice", "one"), ("bob", "two"), ("alice", "three")):
        messages.send(session, author_id=people[author], conversation_id=chat, body=body)
    got = messages.history(session, user_id=people["bob"], conversation_id=chat)
    assert [(m.author_name, m.body) for m in got] == [("Alice", "one"), ("Bob", "two"), ("Alice", "three")]
    assert [m.id for m in got] == sorted(m.id for m in got)


def test_history_keeps_only_the_messages_of_that_conversation(session, people, chat):
    other = conversations.create_group(
        session, user_id=people["alice"], title="Team", member_usernames=["bob"]
    )
    messages.send(session, author_id=people["alice"], conversation_id=chat, body="direct")
    messages.send(session, author_id=people["alice"], conversation_id=other, body="group")
    assert [m.body for m in messages.history(session, user_id=people["alice"], conversation_id=chat)] == [
        "direct"
    ]


def test_history_returns_the_newest_messages_up_to_the_limit(session, people, chat):
    total = messages.HISTORY_LIMIT + 5
    now = utcnow()
    session.execute(
        sa.insert(Message),
        [
            {"conversation_id": chat, "author_id": people["bob"], "body": f"m{i}", "created_at": now}
            for i in range(total)
        ],
    )
    session.commit()
    got = messages.history(session, user_id=people["alice"], conversation_id=chat)
    assert len(got) == messages.HISTORY_LIMIT
    assert got[0].body == "m5"
    assert got[-1].body == f"m{total - 1}"


def test_history_by_a_non_member_is_refused(session, people, chat):
    messages.send(session, author_id=people["alice"], conversation_id=chat, body="private")
    with pytest.raises(NotFound, match=NOT_A_MEMBER):
        messages.history(session, user_id=people["carol"], conversation_id=chat)
