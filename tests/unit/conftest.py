"""Fixtures of the unit tests: a real, throw-away SQLite database per test, and helpers
that create users and conversations through the app's own services."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial

import bcrypt
import pytest
import sqlalchemy as sa
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


def _fresh_sqlite(tmp_path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'test.db'}")
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    """An engine on a fresh SQLite file with every table of the app created."""
    yield from _fresh_sqlite(tmp_path)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database with every table of the models, for a test module."""
    from tests.scaleout.support import POSTGRES_URL, fresh_postgres_database

    probe = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 2})
    try:
        with probe.connect():
            pass
    except sa.exc.SQLAlchemyError as exc:
        problem = f"PostgreSQL at {POSTGRES_URL} is unreachable ({str(exc).splitlines()[0]})"
        if os.environ.get("CHATAPP_REQUIRE_SERVICES", "") == "1":
            pytest.fail(f"CHATAPP_REQUIRE_SERVICES=1 but {problem}", pytrace=False)
        pytest.skip(problem)
    finally:
        probe.dispose()
    with fresh_postgres_database(migrate=False) as url:
        engine = create_engine(url)
        SQLModel.metadata.create_all(engine)
        engine.dispose()
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def either_engine(request, tmp_path) -> Iterator[Engine]:
    """An engine on a fresh SQLite file, and one on PostgreSQL (emptied after each test)
    when the machine's PostgreSQL answers: a test that uses it runs on both."""
    if request.param == "sqlite":
        yield from _fresh_sqlite(tmp_path)
        return
    engine = create_engine(request.getfixturevalue("postgres_url"))
    yield engine
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
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
