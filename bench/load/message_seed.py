"""The messages phase's rows, written into the app's database: history and long lists.

Written while the app runs, between the presence phases and the messages phase, so
that the presence phases run on exactly the database they always ran on. Through
SQLAlchemy Core on tables reflected from the database, each row with only the columns
it needs (and only those the schema has): the others take their defaults.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from bench.load.message_plan import MessagePlan, body_of

_CHUNK = 5000


def write(db_url: str, plan: MessagePlan, body_length: int) -> None:
    """Insert the history of each messaged conversation and the one-member groups.

    The history's messages are one a minute up to now, authors in turn; every member
    has read all of it. The one-member groups are older than any of it, so the messaged
    conversations head their members' lists.
    """
    from chatapp.models import utcnow

    now = utcnow()
    sqlite = db_url.startswith("sqlite")
    engine = sa.create_engine(db_url, connect_args={"timeout": 30} if sqlite else {})
    try:
        with engine.begin() as conn:
            tables = sa.MetaData()
            tables.reflect(conn, only=["conversation", "participant", "message"])
            conversation = tables.tables["conversation"]
            participant = tables.tables["participant"]
            message = tables.tables["message"]
            history = []
            for cid, members in plan.conversations.items():
                for n in range(plan.history):
                    history.append(
                        {
                            "conversation_id": cid,
                            "author_id": members[n % len(members)],
                            "body": body_of(n, body_length),
                            "created_at": now - timedelta(minutes=plan.history - n),
                            "kind": "text",
                            "seq": n + 1,
                            "client_key": f"history-{cid}-{n:06d}",
                        }
                    )
            _insert(conn, message, history)
            newest = dict(
                conn.execute(
                    sa.select(message.c.conversation_id, sa.func.max(message.c.id)).group_by(
                        message.c.conversation_id
                    )
                ).all()
            )
            for cid in plan.conversations:
                conn.execute(
                    sa.update(conversation)
                    .where(conversation.c.id == cid)
                    .values(_fit(conversation, {"message_seq": plan.history, "last_activity_at": now}))
                )
                conn.execute(
                    sa.update(participant)
                    .where(participant.c.conversation_id == cid)
                    .values(
                        _fit(participant, {"read_seq": plan.history, "last_read_message_id": newest[cid]})
                    )
                )
            old = now - timedelta(days=30)
            solo = [
                {"id": cid, "kind": "group", "title": f"Notes {cid}", "created_by": uid}
                | {"created_at": old, "last_activity_at": old}
                for cid, uid in plan.solo.items()
            ]
            _insert(conn, conversation, solo)
            _insert(
                conn,
                participant,
                [
                    {"conversation_id": cid, "user_id": uid, "joined_at": old, "last_read_message_id": 0}
                    for cid, uid in plan.solo.items()
                ],
            )
    finally:
        engine.dispose()


def _fit(table: sa.Table, row: dict) -> dict:
    """The row without the columns the table does not have."""
    return {k: v for k, v in row.items() if k in table.c}


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    rows = [_fit(table, row) for row in rows]
    for start in range(0, len(rows), _CHUNK):
        conn.execute(sa.insert(table), rows[start : start + _CHUNK])
