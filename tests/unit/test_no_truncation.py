"""Nothing a user typed is silently cut: lengths are checked on exactly what is stored,
and a value too long is refused whole (issue 11: three spaces and 4,000 characters were
stored as 3,998 characters without an error)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import select

from chatapp.models import Conversation, Message, Profile
from chatapp.services import accounts, conversations, messages
from chatapp.services.errors import InvalidInput
from chatapp.settings import settings
from chatapp.states.forms import FIELD_MAX_LENGTH, field

LIMIT = settings.message_max_length
PASSWORD = "correct horse battery"


@pytest.fixture
def chat(session, make_user) -> tuple[int, int]:
    """(alice's id, the direct conversation of alice and bob)."""
    alice = make_user("alice", "Alice")
    make_user("bob", "Bob")
    cid, _ = conversations.open_direct(session, user_id=alice, other_username="bob")
    return alice, cid


def _bodies(session) -> list[str]:
    return list(session.exec(select(Message.body)).all())


def _send_as_the_composer_does(session, author_id: int, cid: int, typed: str):
    """The form's field read as `ChatState.send_message` reads it, then the service."""
    body = field({"body": typed}, "body")
    return messages.send(session, author_id=author_id, conversation_id=cid, body=body)


def test_three_spaces_and_a_full_length_message_are_stored_whole(session, chat):
    alice, cid = chat
    text = "x" * LIMIT
    sent = _send_as_the_composer_does(session, alice, cid, "   " + text)
    assert sent.body == text
    assert _bodies(session) == [text]  # 4,000 characters, not 3,998


def test_surrounding_whitespace_is_stripped_before_the_length_is_checked(session, chat):
    alice, cid = chat
    text = "y" * (LIMIT - 2)
    _send_as_the_composer_does(session, alice, cid, "\n\t " * 500 + text + "  \n" * 500)
    assert _bodies(session) == [text]


def test_a_message_one_character_too_long_after_stripping_is_refused_not_cut(session, chat):
    alice, cid = chat
    with pytest.raises(InvalidInput, match=f"^Messages can be at most {LIMIT:,} characters\\.$"):
        _send_as_the_composer_does(session, alice, cid, "   " + "x" * (LIMIT + 1))
    assert _bodies(session) == []


def test_inner_whitespace_counts_and_is_kept(session, chat):
    alice, cid = chat
    text = "a" + " " * (LIMIT - 2) + "b"
    _send_as_the_composer_does(session, alice, cid, text)
    assert _bodies(session) == [text]
    with pytest.raises(InvalidInput, match="at most"):
        _send_as_the_composer_does(session, alice, cid, "a" + " " * (LIMIT - 1) + "b")
    assert _bodies(session) == [text]


def test_field_returns_the_value_whole():
    typed = "   " + "x" * LIMIT
    assert field({"body": typed}, "body") == typed
    assert field({"password": " p" * 500}, "password") == " p" * 500


def test_field_refuses_a_huge_value_instead_of_cutting_it():
    assert FIELD_MAX_LENGTH >= 2 * LIMIT
    assert field({"body": "z" * FIELD_MAX_LENGTH}, "body") == "z" * FIELD_MAX_LENGTH
    with pytest.raises(InvalidInput, match="Too long"):
        field({"body": "z" * (FIELD_MAX_LENGTH + 1)}, "body")


@pytest.mark.parametrize("form_data", [None, [], "body", 42, {"body": None}, {"body": ["x"]}, {}])
def test_field_of_a_malformed_form_is_empty(form_data):
    assert field(form_data, "body") == ""


def test_a_display_name_after_many_spaces_is_stored_whole_not_cut(session):
    # The sign-up form read the display name cut to 200 characters, then normalised:
    # 199 spaces and "Bob" became "B".
    typed = " " * 199 + "Bob Builder"
    user = accounts.sign_up(
        session,
        username=field({"username": "bob"}, "username"),
        display_name=field({"display_name": typed}, "display_name"),
        password=PASSWORD,
    )
    assert session.get(Profile, user.id).display_name == "Bob Builder"


def test_a_username_after_many_spaces_is_read_whole_not_cut(session):
    typed = " " * 62 + "alice"  # cut to 64 it was "al", refused as too short
    user = accounts.sign_up(
        session, username=field({"username": typed}, "username"), display_name="", password=PASSWORD
    )
    assert user.username == "alice"


def test_a_group_title_after_many_spaces_is_stored_whole_not_cut(session, make_user):
    alice = make_user("alice", "Alice")
    make_user("bob", "Bob")
    cid = conversations.create_group(
        session,
        user_id=alice,
        title=field({"title": " " * 199 + "Team"}, "title"),
        member_usernames=["bob"],
    )
    title = session.exec(sa.select(Conversation.title).where(Conversation.id == cid)).one()[0]
    assert title == "Team"
