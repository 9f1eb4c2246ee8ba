"""The hot paths' reads past the ORM (`chatapp/services/reads.py`) on a real SQLite
database: they see what the caller's session holds unflushed, as the ORM's own reads do,
and the statements built once give what a statement built per call gives."""

from __future__ import annotations

from sqlmodel import select

from chatapp.models import Block, Profile
from chatapp.services import audience, reads


def test_a_read_sees_the_sessions_unflushed_changes(session, people):
    profile = session.get(Profile, people["bob"])
    profile.presence_audience = "nobody"  # changed, not flushed
    session.add(Block(blocker_id=people["alice"], blocked_id=people["carol"]))  # new, not flushed
    statement = select(Profile.presence_audience).where(Profile.user_id == people["bob"])
    assert reads.read(session, statement).scalar_one() == "nobody"
    assert audience.sharing_of(session, people["bob"]).audience == "nobody"
    assert audience._blocked_with(session, people["carol"]) == {people["alice"]}


def test_a_read_inside_no_autoflush_sees_what_was_flushed_only(session, people):
    with session.no_autoflush:
        session.get(Profile, people["bob"]).presence_audience = "nobody"
        assert audience.sharing_of(session, people["bob"]).audience == "written"
    assert audience.sharing_of(session, people["bob"]).audience == "nobody"


def test_the_built_statements_take_their_parameters_at_each_call(session, people, ids):
    # `ids`: alice-bob and bob-carol direct chats, alice and dave in a group; all wrote.
    assert audience.visible_to(session, people["alice"]) == {people["bob"], people["dave"]}
    assert audience.visible_to(session, people["bob"]) == {people["alice"], people["carol"]}
    assert audience.watchers_of(session, people["carol"]) == {people["bob"]}
    assert audience.watchers_of(session, people["carol"], "everyone") == {people["bob"]}
    assert audience.watchers_of(session, people["carol"], "nobody") == set()
