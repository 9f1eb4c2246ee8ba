"""The messages phase of a run: after the presence phases, on the same server and tabs.

For the app, the history and the long lists are written into its database first
(`message_seed`); then every tab of every member of the messaged conversations loads its
page (the conversation, or the home page and its list; a tab showing the conversation then
reports that its user sees it, as a browser's does, so it reads what arrives and the
other members' tabs showing it get read receipts), and the messages are sent one
at a time at the configured rate, each from a member's tab showing the conversation,
the members in turn. The floor gets the same messages, as the JSON the app sends.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.load import message_seed
from bench.load.analysis import merge
from bench.load.config import LoadConfig
from bench.load.graph import ContactGraph
from bench.load.message_analysis import MessageStats, analyse
from bench.load.message_plan import Message, MessagePlan
from bench.load.pool import ClientPool

_PREVIEW_LENGTH = 80  # the app's list preview (chatapp.services.inbox.PREVIEW_LENGTH)


def run(
    target: str,
    pool: ClientPool,
    graph: ContactGraph,
    plan: MessagePlan,
    config: LoadConfig,
    *,
    cpu: Callable[[], float],
    db_url: str | None = None,
    templates: dict | None = None,
) -> MessageStats:
    """Send the plan's messages through the pool's tabs and analyse what arrived.

    Args:
        target: "app" or "floor".
        pool: The client processes, every tab open.
        graph: The run's users and tabs.
        plan: The messages phase.
        config: The workload.
        cpu: The server's CPU seconds so far.
        db_url: The app's database (the app only).
        templates: The app's JSON as a tab received it (`MessageStats.samples`), for
            the floor to forward the same; None: built from the app's wire contract.
    """
    if target == "app" and db_url is not None:
        message_seed.write(db_url, plan, config.message_bytes)
    loaded = pool.all("navigate", pages=plan.pages(), concurrency=config.connect_concurrency)
    held = merge([answer["held"] for answer in loaded])
    time.sleep(config.settle)
    pool.all("records")  # what the loads caused is not measured
    pool.all("chat_records")

    per_proc = sends(target, pool, graph, plan, plan.messages, templates)
    start = time.perf_counter() + 0.5
    until = start + plan.span + config.settle
    cpu0 = cpu()
    answers = pool.each("send", [{"sends": mine, "start": start, "until": until} for mine in per_proc])
    cpu_s = cpu() - cpu0
    logs = merge(pool.all("chat_records"))

    stats = analyse(plan, {mid: t for a in answers for mid, t in a["t0"].items()}, logs, dict(graph.tabs))
    stats.cpu_s = cpu_s
    stats.errors += [f"message {mid}: {err}" for a in answers for mid, err in a["errors"]]
    stats.errors += [f"tab {tab}: loading its page: {err}" for a in loaded for tab, err in a["failed"]]
    rows = [held[tab][0] for tab in plan.list_tabs if tab in held]
    entries = [held[tab][1] for tab in plan.open_tabs if tab in held]
    stats.held_rows = (min(rows), max(rows)) if rows else (0, 0)
    stats.held_messages = (min(entries), max(entries)) if entries else (0, 0)
    if target == "app":
        stats.samples = _samples(logs)
    return stats


def sends(
    target: str,
    pool: ClientPool,
    graph: ContactGraph,
    plan: MessagePlan,
    messages: list[Message],
    templates: dict | None,
) -> list[list[tuple]]:
    """The messages as each client process's `send` command takes them (those its tabs
    send), with the floor's JSON of each (see `floor_payload`)."""
    per_proc: list[list] = [[] for _ in range(pool.count)]
    wall = time.time()
    for m in messages:
        payload = (
            floor_payload(m, graph, plan, templates, int((wall + m.at) * 1000)) if target == "floor" else {}
        )
        per_proc[pool.owner[m.sender]].append(
            (m.id, m.at, m.sender_tab, m.conversation, m.key, m.body, payload)
        )
    return per_proc


def _samples(logs: dict[int, dict]) -> dict:
    """One message entry, each conversation's latest row and one read receipt, as the
    tabs received them."""
    out: dict = {"entry": None, "rows": {}, "receipt": None}
    for log in logs.values():
        out["entry"] = out["entry"] or log["samples"]["entry"]
        out["receipt"] = out["receipt"] or log["samples"]["receipt"]
        out["rows"].update(log["samples"]["rows"])
    return out


def floor_payload(
    message: Message, graph: ContactGraph, plan: MessagePlan, templates: dict | None, now_ms: int
) -> dict:
    """The JSON the floor forwards for a message: the app's entry and row for it.

    With `templates` (what the app sent in the same run), the entry and the row have
    exactly the app's fields, those that depend on the message set for this one; without,
    they are built from the wire contract.
    """
    cid = message.conversation
    entry = {
        "id": 10_000_000 + message.id,
        "conversation_id": cid,
        "author_id": message.sender,
        "author_name": graph.names[message.sender][1],
        "body": message.body,
        "created_ms": now_ms,
        "edited_ms": 0,
        "deleted": False,
        "kind": "text",
        "seq": message.seq,
        "client_key": message.key,
    }
    direct = plan.kinds[cid] == "direct"
    row = {
        "id": cid,
        "kind": plan.kinds[cid],
        "title": "" if direct else f"Group {cid}",
        "peer_id": next((u for u in plan.conversations[cid] if u != message.sender), 0) if direct else 0,
        "last_activity_ms": now_ms,
        "seq": message.seq,
        "preview_author_id": message.sender,
        "preview_author": entry["author_name"],
        "preview_kind": "text",
        "preview": " ".join(message.body.split())[:_PREVIEW_LENGTH],
        "preview_deleted": False,
    }
    templates = templates or {}
    if templates.get("entry"):
        entry = {k: entry.get(k, v) for k, v in templates["entry"].items()}
    template_row = (templates.get("rows") or {}).get(cid)
    if template_row:
        row = {k: row[k] if k in ("seq", "last_activity_ms") else v for k, v in template_row.items()}
    return {"conversation_id": cid, "entry": entry, "row": row}
