"""The SQLite connection settings (chatapp/sqlite.py) apply to every engine the app makes."""

from __future__ import annotations


def test_every_sqlite_connection_is_in_wal_mode_without_waiting_for_the_disk(engine):
    with engine.connect() as connection:
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    assert journal == "wal"
    assert synchronous == 1  # NORMAL (FULL, SQLite's default, is 2)
