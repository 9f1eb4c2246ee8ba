"""The users, their direct chats and their logins, written into a fresh database in bulk.

As signing up and logging in would leave them (the app's own services would take minutes
for a thousand users: bcrypt), like `bench.load.seed`: rows inserted into the tables the
migrations made, read from the database itself. Each user gets one login, whose token
both of their tabs send (two tabs of one browser); the database keeps its digest, as
`chatapp.services.logins` does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

_CHUNK = 5000


@dataclass(frozen=True)
class People:
    """Who the tabs belong to.

    Attributes:
        tokens: user id → their login token.
        contacts: user id → the users they share a direct chat with.
    """

    tokens: dict[int, str]
    contacts: dict[int, list[int]]

    def tabs(self, per_user: int, total: int) -> list[tuple[int, int, str, list[int]]]:
        """(tab index, user id, login token, contact ids) of `total` tabs, `per_user` each
        (the last user may have fewer)."""
        out = []
        for uid in sorted(self.tokens):
            for _ in range(per_user):
                if len(out) < total:
                    out.append((len(out), uid, self.tokens[uid], self.contacts[uid]))
        return out


def people(users: int, contacts: int) -> People:
    """`users` users in a ring: each has a direct chat with the `contacts` nearest others
    (half before, half after), so every tab's presence map holds `contacts` + 1 entries."""
    half = max(0, min(contacts, users - 1)) // 2
    ids = list(range(1, users + 1))
    near = {
        uid: sorted({ids[(i + d) % users] for d in range(-half, half + 1) if d}) for i, uid in enumerate(ids)
    }
    return People(tokens={uid: secrets.token_urlsafe(32) for uid in ids}, contacts=near)


def write_database(db_url: str, who: People) -> None:
    """Insert the users, their profiles, direct chats, memberships and logins."""
    from chatapp.models import utcnow
    from chatapp.services.conversations import direct_key
    from chatapp.services.logins import digest

    now = utcnow()
    pairs = sorted({(min(a, b), max(a, b)) for a, near in who.contacts.items() for b in near})
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            tables = sa.MetaData()
            tables.reflect(conn)
            t = tables.tables
            # A password hash is required, but nobody logs in with a password here.
            users = [
                {"id": uid, "username": f"mem{uid}", "password_hash": b"!", "enabled": True}
                for uid in who.tokens
            ]
            _insert(conn, t["localuser"], users)
            profiles = [
                {"user_id": uid, "display_name": f"User {uid}", "created_at": now} for uid in who.tokens
            ]
            _insert(conn, t["profile"], profiles)
            chats = [
                {
                    "id": cid,
                    "kind": "direct",
                    "title": None,
                    "direct_key": direct_key(a, b),
                    "created_at": now,
                    "last_activity_at": now,
                }
                for cid, (a, b) in enumerate(pairs, start=1)
            ]
            _insert(conn, t["conversation"], chats)
            members = [
                {"conversation_id": cid, "user_id": uid, "joined_at": now, "last_read_message_id": 0}
                for cid, pair in enumerate(pairs, start=1)
                for uid in pair
            ]
            _insert(conn, t["participant"], members)
            logins = [
                {"user_id": uid, "session_id": digest(token), "expiration": now + timedelta(days=1)}
                for uid, token in who.tokens.items()
            ]
            _insert(conn, t["localauthsession"], logins)
    finally:
        engine.dispose()


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    for start in range(0, len(rows), _CHUNK):
        conn.execute(sa.insert(table), rows[start : start + _CHUNK])
