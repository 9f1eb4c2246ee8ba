"""Finding people by name: what the "people picker" shows when starting a chat or
adding members (one typed prefix in, a few people out).

A person matches when the query starts their username, their display name, or any word
of their display name ("bui" finds "Bob Builder"), whatever the case. The searcher is
never among the results, nor an account that cannot log in (`User.enabled` false).

Ordering, deterministic: the exact username first, then the other usernames the query
starts (by username), then display-name matches (by display name, then username).

What a search costs: one query joining `localuser` with `profile`, which reads every
enabled account. The username is indexed, but neither database can use that index here
(SQLite's LIKE ignores case, which its plain index does not; PostgreSQL would need a
`text_pattern_ops` index or the C collation), and a word inside a display name has a
wildcard in front of it. Fine at our sizes; measured when this was written (one search,
random names): 1-2 ms with 1,000 accounts on SQLite, 3-4 ms on PostgreSQL; with 50,000,
25-35 ms and 40-60 ms, which is why `PeopleState` runs it off the event loop. Far
beyond that: a trigram index (pg_trgm) or a table of name words.

Case: both sides are lowered by the database's `lower()`. PostgreSQL lowers every
letter; SQLite only A-Z, so there "Él" finds "Élodie" but "él" does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from chatapp.models import Profile, User
from chatapp.services.errors import InvalidInput

QUERY_MAX = 64  # the longest display name: a longer query could not match anyway
LIMIT_DEFAULT = 8
# The LIKE escape character; "/" rather than a backslash, which databases quote differently.
_ESCAPE = "/"


@dataclass
class Person:
    """Someone the picker shows: only what it needs, and all that goes to a browser."""

    user_id: int
    username: str
    display_name: str


def normalize_query(raw: str) -> str:
    """The search term as typed, cleaned: outer spaces stripped, inner runs of spaces
    collapsed to one, and one leading "@" dropped (usernames are shown as "@bob").

    Returns:
        The term ("" when nothing is left: nothing to search).

    Raises:
        InvalidInput: Longer than QUERY_MAX characters: refused, never cut, so that
            the results always answer what was typed.
    """
    term = " ".join(raw.split()).removeprefix("@").lstrip()
    if len(term) > QUERY_MAX:
        msg = f"Search for at most {QUERY_MAX} characters."
        raise InvalidInput(msg)
    return term


def _escape_like(text: str) -> str:
    """`text` matched literally by LIKE: its wildcards and the escape character escaped."""
    for char in (_ESCAPE, "%", "_"):
        text = text.replace(char, _ESCAPE + char)
    return text


def search(session: Session, *, viewer_id: int, query: str, limit: int = LIMIT_DEFAULT) -> list[Person]:
    """The people whose username or display name (or a word of it) starts with `query`.

    Args:
        session: A database session.
        viewer_id: Who searches: never among the results.
        query: What they typed (`normalize_query` cleans it; "%" and "_" are literal).
        limit: At most this many people, the best first (see the module's docstring).

    Returns:
        The people found, best first; [] for an empty query.

    Raises:
        InvalidInput: The query is longer than QUERY_MAX characters.
        ValueError: `limit` is below one (a caller's bug, not a user's input).
    """
    if limit < 1:
        msg = f"limit must be at least 1, not {limit}"
        raise ValueError(msg)
    term = normalize_query(query)
    if not term:
        return []
    # Usernames are stored in lower case (ASCII): Python's lower() is theirs.
    name = term.lower()
    username_prefix = User.username.like(_escape_like(name) + "%", escape=_ESCAPE)
    # Display names keep their case: both sides are lowered by the database, alike. With
    # a space in front (display names are stored with single spaces between words), one
    # pattern finds the query at the start of the name and at the start of any word.
    shown = sa.func.lower(Profile.display_name)
    a_word_starts = (sa.literal(" ") + shown).like(
        sa.func.lower(sa.literal("% " + _escape_like(term) + "%")), escape=_ESCAPE
    )
    rank = sa.case((User.username == name, 0), (username_prefix, 1), else_=2)
    rows = session.exec(
        select(User.id, User.username, Profile.display_name)
        .join(Profile, Profile.user_id == User.id)
        .where(
            User.enabled == sa.true(),
            User.id != viewer_id,
            sa.or_(username_prefix, a_word_starts),
        )
        # Within the username tiers by username, among display-name matches by the
        # name shown; the username (unique) breaks every tie.
        .order_by(rank, sa.case((rank < 2, User.username), else_=shown), User.username)
        .limit(limit)
    ).all()
    return [Person(user_id=uid, username=username, display_name=display) for uid, username, display in rows]
