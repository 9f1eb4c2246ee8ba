"""Fixtures of the unit tests: a real, throw-away SQLite database per test, and helpers
that create users and conversations through the app's own services."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import bcrypt
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

import chatapp.models  # noqa: F401  (registers every table on SQLModel.metadata)
from chatapp.services import accounts, conversations
from tests.support import all_wrote
from tests.unit.service_helpers import PASSWORD


@pytest.fixture(autouse=True)
def cheap_bcrypt(monkeypatch):
    """Real bcrypt hashes, at the lowest cost factor (4 instead of 12): the algorithm and
    the stored format are the app's, but signing up takes milliseconds, not a quarter second."""
    monkeypatch.setattr(bcrypt, "gensalt", partial(bcrypt.gensalt, rounds=4))


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    """An engine on a fresh SQLite file with every table of the app created."""
    engine = create_engine(f"sqlite:///{tmp_path / 'test.db'}")
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine) -> Iterator[Session]:
    """A session on the test database."""
    with Session(engine) as session:
        yield session


@pytest.fixture
def session_factory(engine) -> Callable[[], Session]:
    """Opens a new session on the test database (what `rx.session` is to the app)."""
    return lambda: Session(engine)


@pytest.fixture
def make_user(session) -> Callable[..., int]:
    """Signs up a user through the accounts service; returns their id."""

    def make(username: str, display_name: str = "") -> int:
        user = accounts.sign_up(session, username=username, display_name=display_name, password=PASSWORD)
        return user.id

    return make


@pytest.fixture
def people(make_user) -> dict[str, int]:
    """Four accounts: alice, bob, carol and dave (display names capitalised)."""
    return {name: make_user(name, name.title()) for name in ("alice", "bob", "carol", "dave")}


@pytest.fixture
def chat(session, people) -> int:
    """The direct conversation of alice and bob (opened by alice, both wrote in it)."""
    cid, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    return all_wrote(session, cid)


@pytest.fixture
def ids(people, session) -> dict[str, int]:
    """The four `people`, in three conversations: alice and bob share a direct chat,
    alice and dave a group, bob and carol a direct chat; everyone wrote in each."""
    all_wrote(session, conversations.open_direct(session, user_id=people["alice"], other_username="bob")[0])
    all_wrote(
        session,
        conversations.create_group(session, user_id=people["alice"], title="Team", member_usernames=["dave"]),
    )
    all_wrote(session, conversations.open_direct(session, user_id=people["bob"], other_username="carol")[0])
    return people
