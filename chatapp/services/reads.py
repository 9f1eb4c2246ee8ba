"""Reads on the hot paths (every page load, every presence change), past the ORM.

Building a SQLAlchemy statement and running it through the ORM's session cost several
times the query itself: at 2,000 tabs opening, the page load's reads were about a third
of the server's CPU, most of it in building statements, their cache keys and the ORM's
execution path, not in SQLite (docs/benchmarks.md, "Opening every tab"). So the
statements of these reads are built once, at import, with bound parameters (a built
statement memoizes its cache key), and run on the session's connection: same
transaction, same result rows, none of the ORM's work for rows that are not objects.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session


def read(session: Session, statement: sa.Executable, **params: Any) -> sa.Result[Any]:
    """Run a built statement (`sa.bindparam`s named as `params`) in the session's
    transaction. What the session holds unflushed is flushed first, as the ORM's own
    execution would (autoflush), so a read sees the caller's pending changes."""
    if session.autoflush:
        session.flush()  # nothing to do (a check) when the session holds no change
    return session.connection().execute(statement, params)
