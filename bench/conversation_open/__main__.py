"""`python -m bench.conversation_open`: time and bytes to open a conversation of 50,
1,000 and 10,000 messages, through the real app (production mode, SQLite).

One signed-in tab (a raw websocket client, as the browser's frontend speaks) opens each
conversation in turn from the home page, as a person does: the page load's on_load
loads the conversation's newest page. Measured per open: the time from sending the
page's load until its last delta, the bytes the tab received, and how many messages it
got. Writes docs/conversation-open.md.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from bench import common
from bench.app_server import AppServer
from bench.reflex_client import ReflexClient

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "conversation-open.md"
PREFIX = "message_map."


def seed(db_url: str, sizes: list[int], token: str) -> dict[int, int]:
    """Two users and one group per size, each with that many messages; the viewer's
    login. Returns {size: conversation id}."""
    from chatapp.models import utcnow
    from chatapp.services.logins import digest

    now = utcnow()
    engine = sa.create_engine(db_url)
    ids: dict[int, int] = {}
    try:
        with engine.begin() as conn:
            t = sa.MetaData()
            t.reflect(conn)
            users = [
                {"id": i, "username": f"reader{i}", "password_hash": b"!", "enabled": True} for i in (1, 2)
            ]
            conn.execute(sa.insert(t.tables["localuser"]), users)
            conn.execute(
                sa.insert(t.tables["profile"]),
                [{"user_id": i, "display_name": f"Reader {i}", "created_at": now} for i in (1, 2)],
            )
            conn.execute(
                sa.insert(t.tables["localauthsession"]),
                [{"user_id": 1, "session_id": digest(token), "expiration": now + timedelta(days=1)}],
            )
            for cid, size in enumerate(sizes, start=1):
                ids[size] = cid
                conn.execute(
                    sa.insert(t.tables["conversation"]),
                    [
                        {
                            "id": cid,
                            "kind": "group",
                            "title": f"{size} messages",
                            "created_at": now,
                            "last_activity_at": now,
                            "message_seq": size,
                        }
                    ],
                )
                conn.execute(
                    sa.insert(t.tables["participant"]),
                    [
                        {
                            "conversation_id": cid,
                            "user_id": u,
                            "joined_at": now,
                            "read_seq": size,
                            "last_read_message_id": 0,
                        }
                        for u in (1, 2)
                    ],
                )
                rows = [
                    {
                        "conversation_id": cid,
                        "author_id": 1 + n % 2,
                        "body": f"Message {n + 1} of {size}: a line of about the length people write.",
                        "created_at": now - timedelta(minutes=size - n),
                        "kind": "text",
                        "seq": n + 1,
                    }
                    for n in range(size)
                ]
                for start in range(0, len(rows), 5000):
                    conn.execute(sa.insert(t.tables["message"]), rows[start : start + 5000])
    finally:
        engine.dispose()
    return ids


async def measure(url: str, token: str, ids: dict[int, int], trials: int) -> dict[int, dict]:
    """Open each conversation `trials` times (from the home page each time)."""
    tab = ReflexClient(url, token)
    await tab.connect(load_path="/")
    await tab.wait_for(lambda: tab.hydrated, 30)
    found: dict[int, dict] = {size: {"ms": [], "bytes": [], "messages": []} for size in ids}
    try:
        for _ in range(trials):
            for size, cid in ids.items():
                await tab.load("/", timeout=30)
                start_updates, start_bytes = len(tab.updates), tab.bytes_received
                began = time.perf_counter()
                await tab.load(f"/c/{cid}", timeout=30)
                found[size]["ms"].append((time.perf_counter() - began) * 1000)
                found[size]["bytes"].append(tab.bytes_received - start_bytes)
                keys = {
                    k
                    for update in tab.updates[start_updates:]
                    for sub in (update.get("delta") or {}).values()
                    for k, v in sub.items()
                    if k.startswith(PREFIX) and v is not None
                }
                found[size]["messages"].append(len(keys))
    finally:
        await tab.disconnect()
    return found


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def page(found: dict[int, dict], args: argparse.Namespace, command: str) -> str:
    """The results page."""
    rows = [
        [
            f"{size:,}",
            f"{statistics.median(f['ms']):.1f}",
            f"{_p(f['ms'], 99):.1f}",
            f"{statistics.median(f['bytes']):,.0f}",
            f"{max(f['bytes']):,}",
            f"{max(f['messages'])}",
        ]
        for size, f in found.items()
    ]
    return "\n".join(
        [
            "# Opening a conversation: the cost does not grow with its length",
            "",
            f"Command: `{command}` ({common.now():%Y-%m-%d %H:%M} UTC, {common.machine()}, app "
            f"{common.app_version(None)}).",
            "",
            "One signed-in tab (a raw websocket client speaking the browser's protocol) opens each"
            f" conversation from the home page, {args.trials} times each, in turn. Time: from the page load's"
            " event to its last delta (the on_load runs the membership check, the newest page of messages,"
            " the members and the list). Bytes: everything the tab received for it. Percentiles: type 7.",
            "",
            common.table(
                [
                    "messages in the conversation",
                    "open p50 (ms)",
                    "open p99 (ms)",
                    "bytes p50",
                    "bytes max",
                    "messages sent",
                ],
                rows,
            ),
            "",
            "The newest 50 messages travel (`chatapp/services/messages.py` PAGE_SIZE, one indexed range"
            " read);"
            " older ones load a page at a time when the reader scrolls up (`ChatState.load_older`). The"
            ' bytes differ only by the messages\' own text ("Message 10000 of 10000" is longer than'
            ' "Message 50 of 50").',
        ]
    )


def main(argv: list[str] | None = None) -> None:
    """Run it."""
    p = argparse.ArgumentParser(prog="python -m bench.conversation_open", description=__doc__)
    p.add_argument("--sizes", default="50,1000,10000", help="messages per conversation, comma-separated")
    p.add_argument("--trials", type=int, default=30, help="opens per conversation")
    p.add_argument("--out", type=Path, default=OUT, help="the results page")
    p.add_argument("--no-docs", dest="docs", action="store_false", help="print the page instead")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    token = secrets.token_urlsafe(32)
    ids: dict[int, int] = {}

    def before_start(db_url: str) -> None:
        ids.update(seed(db_url, sizes, token))

    with AppServer(before_start=before_start, env={"CHATAPP_SEED_DEMO": "0"}) as app:
        found = asyncio.run(measure(app.backend_url, token, ids, args.trials))
    common.publish(page(found, args, common.command_line("bench.conversation_open", argv)), args)


if __name__ == "__main__":
    main()
