"""The login check at every event (`chatapp/services/logins.py`, `check`), on SQLite and,
when the machine's PostgreSQL answers, on PostgreSQL: it answers as `resolve` does, reads
without a transaction (one round trip), and hands its connection back to the pool in the
mode it had, so the next session's writes are transactional again."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from chatapp.models import LoginSession, User, utcnow
from chatapp.services import logins


@pytest.fixture
def engine(either_engine) -> Engine:
    """Every test of this module runs on SQLite and on PostgreSQL."""
    return either_engine


@pytest.fixture
def token(session, make_user) -> str:
    """A login of alice's, valid for a day."""
    user_id = make_user("alice")
    return logins.start(session, user_id=user_id, now=utcnow(), lifetime=timedelta(days=1))[1]


def _in_autocommit(dbapi_connection) -> bool:
    """Whether a driver's connection runs each statement on its own (psycopg, sqlite3)."""
    if hasattr(dbapi_connection, "autocommit") and isinstance(dbapi_connection.autocommit, bool):
        return dbapi_connection.autocommit
    return dbapi_connection.isolation_level is None


def _check(engine: Engine, token: str, now) -> logins.Login | None:
    with Session(engine) as fresh:  # a session per check, as at every event
        return logins.check(fresh, token, now=now)


def test_the_check_answers_as_resolve_does_for_a_valid_an_ended_and_an_expired_login(engine, session, token):
    now = utcnow()
    found = _check(engine, token, now)
    assert found is not None and found.username == "alice"
    assert found == logins.resolve(session.connection(), token, now=now)
    assert _check(engine, token, now + timedelta(days=2)) is None  # expired
    assert _check(engine, "", now) is None
    assert _check(engine, token + "x", now) is None
    logins.end(session, found.id)
    assert _check(engine, token, now) is None  # logged out


def test_the_check_reads_without_a_transaction_and_leaves_the_pool_as_it_found_it(engine, token):
    modes: list[bool] = []

    def note_mode(conn, cursor, statement, parameters, context, executemany):
        if "localauthsession" in statement:
            modes.append(_in_autocommit(conn.connection.dbapi_connection))

    sa.event.listen(engine, "before_cursor_execute", note_mode)
    try:
        assert _check(engine, token, utcnow()) is not None
        assert modes == [True]
        # The same pooled connection, taken by an ordinary session: a write rolled back
        # leaves nothing behind (a connection left in autocommit would have kept it).
        with Session(engine) as ordinary:
            row = ordinary.exec(select(LoginSession)).one()
            row.expiration = utcnow() - timedelta(days=1)
            ordinary.add(row)
            ordinary.flush()
            assert modes[-1] is False
            ordinary.rollback()
    finally:
        sa.event.remove(engine, "before_cursor_execute", note_mode)
    assert _check(engine, token, utcnow()) is not None
    with Session(engine) as fresh:
        assert fresh.exec(select(User.username)).all() == ["alice"]
