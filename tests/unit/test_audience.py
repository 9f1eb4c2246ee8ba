"""Who sees whose presence (`chatapp/services/audience.py`) on a real SQLite database:
the three choices, message requests, groups one was added to, blocks; and that
`visible_to` is exactly the inverse of `watchers_of`."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa
from sqlmodel import select

from chatapp.models import Conversation, Participant, Profile, User, utcnow
from chatapp.services import audience, conversations, messages
from chatapp.services.errors import Forbidden, InvalidInput


def _inverse_holds(session, people) -> None:
    """For every pair: a sees b exactly when b's presence reaches a."""
    for a, b in itertools.permutations(people.values(), 2):
        assert (b in audience.visible_to(session, a)) == (a in audience.watchers_of(session, b)), (a, b)


def test_a_direct_chat_started_by_a_stranger_is_a_request_until_answered(session, people):
    alice, bob = people["alice"], people["bob"]
    cid, _ = conversations.open_direct(session, user_id=alice, other_username="bob")
    assert audience.watchers_of(session, alice) == {bob}  # alice reached out: bob sees her
    assert audience.watchers_of(session, bob) == set()  # bob never wrote: alice sees nothing of him
    assert audience.standing(session, user_id=bob, conversation_id=cid).request
    assert not audience.standing(session, user_id=alice, conversation_id=cid).request
    _inverse_holds(session, people)
    view = messages.send(session, author_id=bob, conversation_id=cid, body="hi")
    assert view.first_words
    assert audience.watchers_of(session, bob) == {alice}
    assert not audience.standing(session, user_id=bob, conversation_id=cid).request
    assert not messages.send(session, author_id=bob, conversation_id=cid, body="again").first_words
    _inverse_holds(session, people)


def test_accepting_a_request_reveals_the_user(session, people):
    alice, bob = people["alice"], people["bob"]
    cid, _ = conversations.open_direct(session, user_id=alice, other_username="bob")
    assert audience.mark_written(session, user_id=bob, conversation_id=cid)
    assert not audience.mark_written(session, user_id=bob, conversation_id=cid)  # once
    assert audience.visible_to(session, alice) == {bob}


def test_a_member_added_by_others_reaches_nobody_there_until_they_write(session, people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    cid = conversations.create_group(session, user_id=alice, title="T", member_usernames=["bob", "carol"])
    assert audience.watchers_of(session, alice) == {bob, carol}
    assert audience.watchers_of(session, bob) == set()
    messages.send(session, author_id=carol, conversation_id=cid, body="hello all")
    assert audience.watchers_of(session, carol) == {alice, bob}
    assert audience.visible_to(session, bob) == {alice, carol}
    _inverse_holds(session, people)


def test_everyone_and_nobody(session, people):
    alice, bob = people["alice"], people["bob"]
    conversations.open_direct(session, user_id=alice, other_username="bob")
    audience.set_audience(session, bob, "everyone")
    assert audience.watchers_of(session, bob) == {alice}
    audience.set_audience(session, alice, "nobody")
    assert audience.watchers_of(session, alice) == set()
    assert audience.visible_to(session, bob) == set()
    _inverse_holds(session, people)
    with pytest.raises(InvalidInput):
        audience.set_audience(session, alice, "friends")


def test_a_block_hides_presence_both_ways_and_refuses_messages(session, people):
    alice, bob = people["alice"], people["bob"]
    cid, _ = conversations.open_direct(session, user_id=alice, other_username="bob")
    messages.send(session, author_id=bob, conversation_id=cid, body="hi")
    audience.block(session, user_id=bob, other_id=alice)
    audience.block(session, user_id=bob, other_id=alice)  # twice: still one block
    assert audience.watchers_of(session, bob) == set() and audience.watchers_of(session, alice) == set()
    _inverse_holds(session, people)
    with pytest.raises(Forbidden, match="can't send"):
        messages.send(session, author_id=alice, conversation_id=cid, body="let me in")
    with pytest.raises(Forbidden, match="unblock"):
        messages.send(session, author_id=bob, conversation_id=cid, body="oops")
    standing = audience.standing(session, user_id=bob, conversation_id=cid)
    assert (standing.blocked, standing.blocked_by, standing.peer_id) == (True, False, alice)
    assert audience.standing(session, user_id=alice, conversation_id=cid).blocked_by
    audience.unblock(session, user_id=bob, other_id=alice)
    assert audience.watchers_of(session, bob) == {alice}
    messages.send(session, author_id=alice, conversation_id=cid, body="thanks")


def test_presence_stops_reaching_a_user_who_left_the_only_shared_group(session, people):
    cid = conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["bob"])
    conversations.leave(session, user_id=people["bob"], conversation_id=cid)
    for who in ("alice", "bob"):
        assert audience.watchers_of(session, people[who]) == set()
        assert audience.visible_to(session, people[who]) == set()


def test_watchers_of_a_user_in_a_thousand_conversations(session):
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
    contacts = audience.watchers_of(session, me)
    assert contacts == set(friends)
    assert audience.visible_to(session, me) == contacts
    assert me not in contacts
    assert contacts.isdisjoint(strangers)


def test_an_unknown_audience_counts_as_the_people_written_to(session, people):
    # Alice started the chat (she wrote); Bob has not answered. A value the database
    # should never hold shows no more than the default does.
    conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    assert audience.watchers_of(session, people["alice"], "bogus") == {people["bob"]}
    assert audience.watchers_of(session, people["bob"], "bogus") == set()
    assert audience.watchers_of(session, people["bob"], "everyone") == {people["alice"]}
