"""The messages service (`chatapp/services/messages.py`) on a real SQLite database:
sending messages and reading a conversation's history."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import select

from chatapp.models import Conversation, Message, utcnow
from chatapp.services import conversations, messages
from chatapp.services.errors import InvalidInput, NotFound
from chatapp.settings import settings
from tests.unit.service_helpers import NOT_A_MEMBER, count_rows

# messages.send ------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["", "   ", "\n\t  \n"])
def test_send_empty_or_whitespace_only_is_refused_and_not_stored(session, people, chat, body):
    with pytest.raises(InvalidInput, match="cannot be empty"):
        messages.send(session, author_id=people["alice"], conversation_id=chat, body=body)
    assert count_rows(session, Message) == 0


def test_send_over_the_length_limit_is_refused_and_not_stored(session, people, chat):
    limit = settings.message_max_length
    with pytest.raises(InvalidInput, match="at most"):
        messages.send(session, author_id=people["alice"], conversation_id=chat, body="x" * (limit + 1))
    assert count_rows(session, Message) == 0


def test_send_exactly_at_the_length_limit_is_accepted(session, people, chat):
    limit = settings.message_max_length
    sent = messages.send(session, author_id=people["alice"], conversation_id=chat, body="x" * limit)
    assert len(sent.body) == limit
    assert count_rows(session, Message) == 1


def test_send_limit_counts_the_stripped_body(session, people, chat):
    limit = settings.message_max_length
    sent = messages.send(
        session, author_id=people["alice"], conversation_id=chat, body="  " + "x" * limit + "  \n"
    )
    assert sent.body == "x" * limit


def test_send_by_a_non_member_is_refused_and_not_stored(session, people, chat):
    with pytest.raises(NotFound, match=NOT_A_MEMBER):
        messages.send(session, author_id=people["carol"], conversation_id=chat, body="let me in")
    assert count_rows(session, Message) == 0


def test_send_to_a_nonexistent_conversation_is_not_found(session, people, chat):
    with pytest.raises(NotFound, match=NOT_A_MEMBER):
        messages.send(session, author_id=people["alice"], conversation_id=chat + 1000, body="hello?")
    assert count_rows(session, Message) == 0


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


def test_history_returns_the_newest_page_of_messages(session, people, chat):
    total = messages.PAGE_SIZE + 5
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
    assert len(got) == messages.PAGE_SIZE
    assert got[0].body == "m5"
    assert got[-1].body == f"m{total - 1}"


def test_history_by_a_non_member_is_refused(session, people, chat):
    messages.send(session, author_id=people["alice"], conversation_id=chat, body="private")
    with pytest.raises(NotFound, match=NOT_A_MEMBER):
        messages.history(session, user_id=people["carol"], conversation_id=chat)


# messages.views_of, messages.newest ---------------------------------------------------


def test_views_of_returns_the_messages_by_id_oldest_first(session, people, chat):
    sent = [
        messages.send(session, author_id=people[who], conversation_id=chat, body=who)
        for who in ("alice", "bob", "alice")
    ]
    got = messages.views_of(session, [sent[2].id, sent[0].id, sent[2].id + 1000])
    assert [(m.id, m.author_name, m.body) for m in got] == [
        (sent[0].id, "Alice", "alice"),
        (sent[2].id, "Alice", "alice"),
    ]
    assert messages.views_of(session, []) == []


def test_newest_is_the_last_line_of_the_conversation(session, people, chat):
    assert messages.newest(session, chat) is None
    messages.send(session, author_id=people["alice"], conversation_id=chat, body="one")
    last = messages.send(session, author_id=people["bob"], conversation_id=chat, body="two")
    newest = messages.newest(session, chat)
    assert (newest.id, newest.author_name, newest.body, newest.seq) == (last.id, "Bob", "two", 2)
