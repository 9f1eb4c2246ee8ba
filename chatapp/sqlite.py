"""SQLite, the embedded default database: the connection settings a server needs.

Every SQLite connection the app opens (Reflex's sessions, migrations, scripts) is set to:
- `journal_mode=WAL`: readers do not wait for a writer, and a commit appends to the log
  instead of rewriting pages through a rollback journal;
- `synchronous=NORMAL`: a commit does not wait for the disk (fsync at checkpoints only).
  A crash of the app loses nothing; a power cut may lose the last commits.
- `busy_timeout`: a second process (a migration, the seed) waits for the lock instead of
  failing at once;
- `foreign_keys`: references are enforced, as on PostgreSQL (SQLite's default is not
  to); migrations turn it off for themselves (alembic/env.py), since SQLite rebuilds a
  table to alter it.

With SQLite's defaults a commit of one row waited for the disk; with these it costs a
small fraction of that. Database calls run on the event loop, so every millisecond of
a commit was a millisecond of every tab's latency (the figures: docs/benchmarks.md).
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
)


@event.listens_for(Engine, "connect")
def _configure(dbapi_connection: object, _record: object) -> None:
    """Apply PRAGMAS to each new SQLite connection (other databases are left alone)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        try:
            for pragma in PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()
