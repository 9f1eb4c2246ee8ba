"""The load benchmark's database: written as a sign-up and a log-in would leave it, and
(on PostgreSQL) with the planner's statistics, as a running deployment's autovacuum keeps
them. Without them the planner took the freshly filled tables for nearly empty and looked
for a user's contacts by a scan of every membership on every page load."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from bench.load import graph, seed
from bench.load.config import LoadConfig
from bench.services import fresh_postgres_database
from chatapp.services import audience


@pytest.mark.services
def test_the_seeded_postgres_database_has_its_statistics_and_finds_contacts_by_the_index():
    world = graph.build(LoadConfig(sessions=4000, hub_contacts=50))
    with fresh_postgres_database() as url:
        seed.write_database(url, world)
        engine = sa.create_engine(url)
        statements: list[tuple[str, object]] = []
        sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append((a[2], a[3])))
        try:
            user = world.users[-1]  # not the hub: a user with a few contacts
            with Session(engine) as session:
                found = audience.visible_to(session, user)
            contacts_query = next((s, p) for s, p in statements if " theirs" in s)
            with engine.connect() as conn:
                analyzed = dict(
                    conn.execute(
                        sa.text("SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables")
                    ).all()
                )
                plan = "\n".join(
                    r[0] for r in conn.exec_driver_sql("EXPLAIN " + contacts_query[0], contacts_query[1])
                )
        finally:
            engine.dispose()
    assert {t: analyzed[t] for t in ("participant", "profile", "localuser")} == dict.fromkeys(
        ("participant", "profile", "localuser"), True
    )
    assert "Seq Scan on participant" not in plan, plan
    assert found == set(world.contacts[user])
