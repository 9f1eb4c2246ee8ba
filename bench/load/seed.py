"""The graph, written where each server reads it: the app's database, the floor's JSON."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.load.graph import ContactGraph

_CHUNK = 5000


def write_database(db_url: str, graph: ContactGraph) -> None:
    """Insert the users, profiles, conversations, memberships and login sessions.

    Bulk inserts into a freshly migrated database, as a sign-up and a log-in would leave
    them; a password hash is required but nobody logs in with a password here. The
    tables are read from the database itself, so that the rows fit the schema its
    migrations made (columns left out take their database defaults).
    """
    from chatapp.models import utcnow
    from chatapp.services.logins import digest

    now = utcnow()
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            tables = sa.MetaData()
            tables.reflect(conn)
            _insert(
                conn,
                tables.tables["localuser"],
                [
                    {"id": uid, "username": name, "password_hash": b"!", "enabled": True}
                    for uid, (name, _) in graph.names.items()
                ],
            )
            _insert(
                conn,
                tables.tables["profile"],
                [
                    {"user_id": uid, "display_name": shown, "created_at": now}
                    for uid, (_, shown) in graph.names.items()
                ],
            )
            conversations, members = [], []
            for cid, (kind, ids) in enumerate(graph.conversations, start=1):
                low, high = min(ids), max(ids)
                conversations.append(
                    {
                        "id": cid,
                        "kind": kind,
                        "title": None if kind == "direct" else f"Group {cid}",
                        "direct_key": f"{low}:{high}" if kind == "direct" else None,
                        "created_at": now,
                        "last_activity_at": now,
                    }
                )
                members += [
                    {"conversation_id": cid, "user_id": uid, "joined_at": now, "last_read_message_id": 0}
                    for uid in ids
                ]
            _insert(conn, tables.tables["conversation"], conversations)
            _insert(conn, tables.tables["participant"], members)
            _insert(
                conn,
                tables.tables["localauthsession"],
                [
                    # The app keeps a login's digest, never its token (chatapp.services.logins).
                    {"user_id": uid, "session_id": digest(token), "expiration": now + timedelta(days=1)}
                    for uid, token in graph.login_tokens.items()
                ],
            )
        if engine.dialect.name == "postgresql":
            _analyze(engine)
    finally:
        engine.dispose()


def _analyze(engine: sa.Engine) -> None:
    """Give PostgreSQL's planner the tables' statistics, as its autovacuum would within a
    minute of a bulk insert. This machine's PostgreSQL runs with autovacuum off: without
    them the planner took the freshly filled tables for nearly empty, and every page load
    looked for the people a user shares a conversation with by a scan of every
    membership (60 ms of PostgreSQL's CPU each at 10,000 tabs, instead of under 1 ms;
    `EXPLAIN ANALYZE` in docs/instances.md). SQLite keeps no statistics unless asked and
    plans by its indexes: its database is left as the app leaves it."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE"))


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    for start in range(0, len(rows), _CHUNK):
        conn.execute(sa.insert(table), rows[start : start + _CHUNK])


def write_floor_graph(
    path: Path, graph: ContactGraph, conversations: dict[int, list[int]] | None = None
) -> Path:
    """The JSON the floor keeps in memory (see `bench.floor_server.FloorPresence`), with
    the members of the `conversations` the messages phase messages."""
    path.write_text(
        json.dumps(
            {
                "users": {str(uid): list(names) for uid, names in graph.names.items()},
                "contacts": {str(uid): sorted(ids) for uid, ids in graph.contacts.items() if ids},
                "tokens": {token: uid for uid, token in graph.login_tokens.items()},
                "conversations": {str(cid): ids for cid, ids in (conversations or {}).items()},
            }
        )
    )
    return path
