"""Message numbers (`Message.seq`, `Conversation.message_seq`) and what they make of
unread counts, on a real SQLite database: unread = the conversation's number minus how
far the member has read (`Participant.read_seq`)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from chatapp.models import Conversation, Message, Participant
from chatapp.services import conversations, inbox, messages
from chatapp.services.errors import InvalidInput, NotFound
from chatapp.settings import settings
from tests.unit.service_helpers import unread


def _participant(session, user_id: int, conversation_id: int) -> Participant:
    session.expire_all()
    return session.exec(
        select(Participant).where(
            Participant.user_id == user_id, Participant.conversation_id == conversation_id
        )
    ).one()


def test_messages_are_numbered_1_2_3_in_each_conversation(session, people, chat):
    group = conversations.create_group(
        session, user_id=people["alice"], title="Team", member_usernames=["bob"]
    )
    numbers = [
        messages.send(session, author_id=people[who], conversation_id=chat, body=who).seq
        for who in ("alice", "bob", "alice")
    ]
    assert numbers == [1, 2, 3]
    assert messages.send(session, author_id=people["bob"], conversation_id=group, body="g").seq == 1
    assert messages.send(session, author_id=people["alice"], conversation_id=chat, body="four").seq == 4
    session.expire_all()
    assert session.get(Conversation, chat).message_seq == 4
    assert session.get(Conversation, group).message_seq == 1
    stored = session.exec(select(Message.seq).where(Message.conversation_id == chat).order_by(Message.id))
    assert stored.all() == [1, 2, 3, 4]


def test_the_number_is_in_the_view_of_history(session, people, chat):
    for body in ("a", "b", "c"):
        messages.send(session, author_id=people["alice"], conversation_id=chat, body=body)
    got = messages.history(session, user_id=people["bob"], conversation_id=chat)
    assert [(m.seq, m.body, m.kind) for m in got] == [(1, "a", "text"), (2, "b", "text"), (3, "c", "text")]


def test_system_lines_have_no_number_and_raise_no_unread(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    conversations.add_members(session, user_id=people["alice"], conversation_id=cid, usernames=["carol"])
    conversations.leave(session, user_id=people["alice"], conversation_id=cid)
    lines = session.exec(select(Message).where(Message.conversation_id == cid).order_by(Message.id)).all()
    assert [(m.kind, m.seq) for m in lines] == [("system", None)] * 3
    assert session.get(Conversation, cid).message_seq == 0
    got = messages.history(session, user_id=people["bob"], conversation_id=cid)
    assert [m.seq for m in got] == [0, 0, 0]
    assert unread(session, people["bob"], cid) == 0
    assert unread(session, people["carol"], cid) == 0
    sent = messages.send(session, author_id=people["carol"], conversation_id=cid, body="first words")
    assert sent.seq == 1  # the lines before took no number
    assert unread(session, people["bob"], cid) == 1


def test_a_sender_has_read_up_to_their_own_message(session, people, chat):
    messages.send(session, author_id=people["bob"], conversation_id=chat, body="one")
    messages.send(session, author_id=people["bob"], conversation_id=chat, body="two")
    assert unread(session, people["alice"], chat) == 2
    mine = messages.send(session, author_id=people["alice"], conversation_id=chat, body="reply")
    me = _participant(session, people["alice"], chat)
    assert (me.read_seq, me.last_read_message_id) == (3, mine.id)
    assert unread(session, people["alice"], chat) == 0
    assert unread(session, people["bob"], chat) == 1


def test_own_messages_never_count_as_unread(session, people):
    cid = conversations.create_group(
        session, user_id=people["alice"], title="Team", member_usernames=["bob", "carol"]
    )
    for n in range(1, 6):
        messages.send(session, author_id=people["bob"], conversation_id=cid, body=f"bob {n}")
        assert unread(session, people["bob"], cid) == 0
        assert unread(session, people["alice"], cid) == n
    messages.send(session, author_id=people["carol"], conversation_id=cid, body="carol")
    assert (unread(session, people["bob"], cid), unread(session, people["carol"], cid)) == (1, 0)


def test_sending_moves_only_the_senders_place(session, people):
    cid = conversations.create_group(
        session, user_id=people["alice"], title="Team", member_usernames=["bob", "carol"]
    )
    messages.send(session, author_id=people["bob"], conversation_id=cid, body="one")
    messages.send(session, author_id=people["bob"], conversation_id=cid, body="two")
    inbox.mark_read(session, user_ids=[people["carol"]], conversation_id=cid, upto_seq=1)
    messages.send(session, author_id=people["alice"], conversation_id=cid, body="three")
    read = {name: _participant(session, people[name], cid).read_seq for name in ("alice", "bob", "carol")}
    assert read == {"alice": 3, "bob": 2, "carol": 1}


def test_a_refused_message_takes_no_number(session, people, chat):
    messages.send(session, author_id=people["alice"], conversation_id=chat, body="one")
    for bad in ("   ", "x" * (settings.message_max_length + 1)):
        with pytest.raises(InvalidInput):
            messages.send(session, author_id=people["alice"], conversation_id=chat, body=bad)
    with pytest.raises(NotFound):
        messages.send(session, author_id=people["carol"], conversation_id=chat, body="let me in")
    assert messages.send(session, author_id=people["alice"], conversation_id=chat, body="two").seq == 2
