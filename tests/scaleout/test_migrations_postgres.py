"""The project's migrations on PostgreSQL (SQLite is covered by every app test): a fresh
database reaches the latest revision with exactly the models' schema, a second run
changes nothing, and the app's services work on it with timezone-aware times."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel, create_engine

import chatapp.models  # noqa: F401  (registers every table on SQLModel.metadata)
from bench.app_server import ROOT, migrate_database
from chatapp.models import Profile
from chatapp.presence import store
from chatapp.services import messages
from tests.scaleout.support import People, fresh_postgres_database


def _revision(engine) -> str:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()


def test_migrations_bring_a_fresh_postgres_database_to_exactly_the_models_schema():
    head = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_current_head()
    with fresh_postgres_database(migrate=False) as url:
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                assert sa.inspect(conn).get_table_names() == []  # control: really empty
            migrate_database(url)
            assert _revision(engine) == head
            with engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                assert compare_metadata(context, SQLModel.metadata) == []
                columns = {c["name"]: c["type"] for c in sa.inspect(conn).get_columns("profile")}
            assert columns["last_seen_at"].timezone is True
            migrate_database(url)  # again: nothing to do, nothing breaks
            assert _revision(engine) == head
        finally:
            engine.dispose()


def test_the_apps_services_and_presence_store_work_on_the_migrated_postgres(people: People):
    a, _ = people.user("pa")
    _, b_name = people.user("pb")
    cid = people.direct(a, b_name)
    seen = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)
    with people.session() as session:
        sent = messages.send(session, author_id=a, conversation_id=cid, body="hello from postgres")
        store.save_last_seen(session, [a], seen)
        store.save_chosen_status(session, a, "dnd", seen)
    with people.session() as session:
        facts = store.load(session, [a])[a]
        profile = session.get(Profile, a)
    assert sent.body == "hello from postgres"
    assert facts.last_seen_at == seen and facts.last_seen_at.tzinfo is not None
    assert (facts.chosen_status, facts.chosen_until) == ("dnd", seen)
    assert profile.created_at.tzinfo is not None


def test_postgres_refuses_a_user_without_a_profile(people: People):
    from chatapp.models import User

    with people.session() as session:
        session.add(User(username="pg_lonely", password_hash=b"!", enabled=True))
        try:
            session.commit()
        except sa.exc.IntegrityError:
            refused = True
        else:
            refused = False
    assert refused
