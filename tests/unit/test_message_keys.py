"""Idempotent sending (`messages.send(client_key=...)`) on a real SQLite database: a
message sent twice (Enter pressed twice, a retry after a reconnect) is stored once."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from sqlmodel import select

from chatapp.models import Conversation, Message
from chatapp.services import messages
from chatapp.services.errors import InvalidInput
from tests.unit.service_helpers import count_rows, unread

KEY = "k3y-0f_message-1"


def test_the_same_key_twice_stores_one_message_and_says_repeat(session, people, chat):
    first = messages.send(
        session, author_id=people["alice"], conversation_id=chat, body="double", client_key=KEY
    )
    again = messages.send(
        session, author_id=people["alice"], conversation_id=chat, body="double", client_key=KEY
    )
    assert (first.repeat, again.repeat) == (False, True)
    assert again.id == first.id
    assert (again.body, again.seq, again.client_key) == ("double", 1, KEY)
    assert count_rows(session, Message) == 1
    assert session.get(Conversation, chat).message_seq == 1  # not numbered twice
    assert unread(session, people["bob"], chat) == 1


def test_a_repeat_returns_the_stored_message_not_the_new_text(session, people, chat):
    first = messages.send(
        session, author_id=people["alice"], conversation_id=chat, body="one", client_key=KEY
    )
    again = messages.send(
        session, author_id=people["alice"], conversation_id=chat, body="two", client_key=KEY
    )
    assert (again.id, again.body, again.repeat) == (first.id, "one", True)
    assert [m.body for m in messages.history(session, user_id=people["bob"], conversation_id=chat)] == ["one"]


def test_a_repeat_is_not_in_the_wire_entry(session, people, chat):
    messages.send(session, author_id=people["alice"], conversation_id=chat, body="x", client_key=KEY)
    again = messages.send(session, author_id=people["alice"], conversation_id=chat, body="x", client_key=KEY)
    wire = again.to_wire()
    assert "repeat" not in wire
    assert (wire["id"], wire["client_key"]) == (again.id, KEY)


def test_different_keys_are_different_messages(session, people, chat):
    for key in ("key-00001", "key-00002"):
        sent = messages.send(
            session, author_id=people["alice"], conversation_id=chat, body="same", client_key=key
        )
        assert sent.repeat is False
    assert count_rows(session, Message) == 2


def test_without_a_key_every_send_is_stored(session, people, chat):
    for _ in range(2):
        assert (
            messages.send(session, author_id=people["alice"], conversation_id=chat, body="hi").repeat is False
        )
    assert count_rows(session, Message) == 2


def test_the_key_is_per_author(session, people, chat):
    mine = messages.send(session, author_id=people["alice"], conversation_id=chat, body="a", client_key=KEY)
    theirs = messages.send(session, author_id=people["bob"], conversation_id=chat, body="b", client_key=KEY)
    assert (mine.repeat, theirs.repeat) == (False, False)
    assert mine.id != theirs.id
    stored = session.exec(select(Message.author_id, Message.body).order_by(Message.id)).all()
    assert stored == [(people["alice"], "a"), (people["bob"], "b")]


@pytest.mark.parametrize(
    "key",
    [
        "",
        "short",  # under 8 characters
        "x" * 65,  # over 64
        "has space",
        "semi;colon",
        "slash/slash",
        "newline-at-end\n",
        "ключ-ключ-ключ",
        12345678,
        ["k3y-0f_message-1"],
    ],
)
def test_a_malformed_key_is_refused_and_nothing_is_stored(session, people, chat, key):
    with pytest.raises(InvalidInput, match="malformed key"):
        messages.send(session, author_id=people["alice"], conversation_id=chat, body="hi", client_key=key)
    assert count_rows(session, Message) == 0
    assert session.get(Conversation, chat).message_seq == 0


@pytest.mark.parametrize("key", ["a" * 8, "Z9_-" * 16, "0123456789abcdef"])
def test_keys_of_8_to_64_letters_digits_dash_underscore_are_accepted(session, people, chat, key):
    assert messages.clean_key(key) == key
    sent = messages.send(session, author_id=people["alice"], conversation_id=chat, body="hi", client_key=key)
    assert session.get(Message, sent.id).client_key == key


def test_the_same_key_from_two_sessions_at_once_stores_one_message(
    session, session_factory, people, chat, monkeypatch
):
    """Two requests with one key both find no message under it, then both store: the
    database's unique key lets one in, and the other answers with that one's message."""
    both_looked = threading.Barrier(2, timeout=10)
    first_look = threading.local()
    real_by_key = messages._by_key

    def by_key_then_wait(*args, **kwargs):
        found = real_by_key(*args, **kwargs)
        if not getattr(first_look, "done", False):
            first_look.done = True
            assert found is None
            both_looked.wait()  # neither stores until both have looked
        return found

    monkeypatch.setattr(messages, "_by_key", by_key_then_wait)
    views, errors = [], []

    def send() -> None:
        try:
            with session_factory() as own:
                views.append(
                    messages.send(
                        own, author_id=people["alice"], conversation_id=chat, body="race", client_key=KEY
                    )
                )
        except Exception as exc:  # reported below, with the thread's view of it
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(v.repeat for v in views) == [False, True]
    assert views[0].id == views[1].id
    session.expire_all()
    assert count_rows(session, Message) == 1
    assert session.get(Conversation, chat).message_seq == 1  # the loser's number was rolled back


def test_a_wire_entry_names_every_field_a_tab_shows_in_order(session, people, chat):
    view = messages.send(session, author_id=people["alice"], conversation_id=chat, body="x", client_key=KEY)
    wire = view.to_wire()
    shown = [f.name for f in dataclasses.fields(view) if f.name not in ("repeat", "first_words")]
    assert list(wire) == shown
    assert wire == {name: getattr(view, name) for name in shown}
    view.body = "changed"
    assert wire["body"] == "x"  # an entry a tab holds does not change with the view
