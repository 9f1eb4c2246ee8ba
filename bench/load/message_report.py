"""The "Messages" section of the results page: the messages phase, app and floor."""

from __future__ import annotations

import math
from typing import Any

from bench.common import table
from bench.load.analysis import summary
from bench.load.cells import mean_max, met, ms, percentiles
from bench.load.config import LoadConfig
from bench.load.message_analysis import MessageStats
from bench.load.run import RunResult

TARGET_P99_MS = 50.0
TARGET_ENVELOPE = 1024  # bytes per message per tab beyond the message's own size

_LATENCY_HEADER = ["Server", "Tabs", "Deliveries", "p50", "p95", "p99", "max"]
_LATENCY_HEADER += ["p99 showing", "p99 list", "Fan-out p50", "Echo p50"]
_BYTES_HEADER = ["Server", "Tabs", "Body", "Frame, showing", "Frame, list", "All, showing", "All, list"]
_BYTES_HEADER += ["Receipt frames", "Extra frames", "Rows held", "Messages held", "CPU/message (ms)"]
_CORRECT_HEADER = ["Server", "Tabs", "Sent", "Missing", "Duplicates", "Leaks", "Entries at list tabs"]
_CORRECT_HEADER += ["Reloads", "Errors"]


def runs(results: dict[tuple[str, int], RunResult], part: str = "messages") -> list[tuple[str, int, Any]]:
    """(server, tabs, the run's `part`) of each run that has it (not None), by size: the
    app in one process first, then on N instances ("app@N"), then the floor."""

    def rank(target: str) -> tuple[int, int]:
        if target in ("app", "floor"):
            return (0 if target == "app" else 2), 0
        return 1, int(target.partition("@")[2] or 0)

    return [
        (t, n, getattr(r, part))
        for (t, n), r in sorted(results.items(), key=lambda item: (item[0][1], rank(item[0][0])))
        if getattr(r, part) is not None
    ]


def targets(results: dict[tuple[str, int], RunResult], config: LoadConfig) -> list[list[str]]:
    """The issue's message targets against the largest run of the app."""
    apps = [(n, m) for t, n, m in runs(results) if t == "app"]
    if not apps:
        return []
    size, m = apps[-1]
    lat = summary(m.latency_ms)
    limit = m.body_bytes + TARGET_ENVELOPE
    rows = [
        [
            f"Message → every member's tab, {size} tabs",
            f"p99 ≤ {TARGET_P99_MS:g} ms",
            f"p50 {ms(lat['p50'])} ms, p95 {ms(lat['p95'])} ms, p99 {ms(lat['p99'])} ms",
            met(lat["p99"] <= TARGET_P99_MS if lat["n"] else None),
        ]
    ]
    for label, frame, every, receipts in (
        ("showing the conversation", m.bytes_open, m.per_message_open, m.receipts_per_message_open),
        ("with it as a list row", m.bytes_list, m.per_message_list, []),
    ):
        # Read receipts have their own target (the "Read receipts" section).
        own = [a - b for a, b in zip(every, receipts, strict=True)] if receipts else every
        worst = max(frame + own) if frame else math.nan
        without = f" ({max(own):.0f} B without read receipts)" if receipts else ""
        rows.append(
            [
                f"Bytes per message per tab {label} ({config.history} messages of history, "
                f"{config.list_size:,}-conversation list)",
                f"≤ {m.body_bytes} + {TARGET_ENVELOPE} = {limit} B",
                f"frame max {max(frame, default=math.nan):.0f} B; all chat bytes max "
                f"{max(every, default=math.nan):.0f} B{without}",
                met(None if math.isnan(worst) else worst <= limit),
            ]
        )
    rows.append(
        [
            "Every member's tab got each message once; no other tab got anything",
            "all runs",
            ", ".join(f"{t} {n}: {'yes' if s.complete else 'NO'}" for t, n, s in runs(results)),
            met(all(s.complete for _, _, s in runs(results))),
        ]
    )
    return rows


def _targets_table(results: dict[tuple[str, int], RunResult], config: LoadConfig) -> list[str]:
    rows = targets(results, config)
    return [table(["Target", "Goal", "Measured (app)", "Met"], rows), ""] if rows else []


def section(results: dict[tuple[str, int], RunResult], config: LoadConfig, command: str) -> list[str]:
    """The section's lines (none when no run had a messages phase)."""
    done = runs(results)
    if not done:
        return []
    first = done[0][2]
    kinds = list(first.conversations.values())
    return [
        "## Messages",
        "",
        "After the presence phases, on the same server and the same tabs: messages sent one at a time,",
        "each from a member's tab showing its conversation, the members in turn. Each member's first tab",
        "shows the conversation (`/c/<id>`, loaded as a tab loads it: hydrate and on_load, then the report",
        "that its user sees it, as a browser's page makes at mount: so it reads what arrives, and the other",
        "members' tabs showing the conversation get a read receipt); their other tabs stay on the home",
        "page, where it is one row of the list. Before that, the app's database gets",
        f"{config.history} messages of history in each conversation and enough one-member groups to make",
        f"each member's list {config.list_size:,} conversations long (they add no contact: presence is",
        "unchanged). A message arrives at a tab showing the conversation with its entry (matched by its",
        "idempotency key), at a list tab with the conversation's row whose `seq` is the message's. The floor",
        "forwards the same JSON (the app's entry and row, as a tab of the app received them) to every",
        "socket of every member: entry and row to those showing the conversation, the row to the others;",
        "then, for each other member whose socket shows it and reports being seen, a receipt to the other",
        "members' sockets showing it.",
        "",
        f"- **Command:** `{command}`",
        f"- **Messages:** {config.messages} per size at {config.message_rate:g}/s, bodies of "
        f"{first.body_bytes} bytes, into {len(kinds)} conversations ({kinds.count('direct')} direct, "
        f"{kinds.count('group')} group(s) of up to {config.members}, no user in two); "
        f"{first.open_tabs} tabs showing one, {first.list_tabs} list tabs (at the first size).",
        "",
        *_targets_table(results, config),
        "Send → arrival at each member's tab, the sender's own aside (milliseconds; echo: the sender's tab,",
        "where the message is the answer to its event):",
        "",
        table(
            _LATENCY_HEADER,
            [_latency_row(t, n, m) for t, n, m in done],
        ),
        "",
        "Bytes per message per receiving tab: the socket.io message that brought it (mean / max), and",
        "every chat byte the tab received in the phase divided by the messages of its conversation",
        "(mean / max; it includes read receipts, read marks and anything sent again; the target leaves the",
        "receipts out: they have their own, in the next section). Receipt frames:",
        "frames with read receipts that brought no message (the other members read it as it arrives; the",
        "read receipts step below times them); extra frames: the other frames that brought no message (read",
        "marks, repeats). Held: rows in a list tab's list and",
        "messages in a showing tab's view once loaded (min–max). CPU/message: the server's CPU time in the",
        "phase (its wait for the last arrivals included) divided by the messages.",
        "",
        table(
            _BYTES_HEADER,
            [_bytes_row(t, n, m) for t, n, m in done],
        ),
        "",
        "Correctness: missing (message, tab) pairs, messages a tab received more than once, leaks (chat",
        "entries of a conversation at a tab of a non-member; read receipts at a tab that does not show",
        "their conversation, or at the reader's own), message entries at list tabs (which need only the",
        "row), pages tabs loaded again by themselves (a dropped socket reconnecting; what that brought is",
        "not counted above), errors (a send from a tab whose socket was down, a refusal shown).",
        "",
        table(
            _CORRECT_HEADER,
            [_correct_row(t, n, m) for t, n, m in done],
        ),
        "",
    ]


def _latency_row(target: str, n: int, m: MessageStats) -> list[str]:
    return [
        target,
        str(n),
        f"{m.deliveries:,}",
        *percentiles(m.latency_ms),
        ms(summary(m.latency_open_ms)["p99"]),
        ms(summary(m.latency_list_ms)["p99"]),
        ms(summary(m.fanout_ms)["p50"]),
        ms(summary(m.echo_ms)["p50"]),
    ]


def _bytes_row(target: str, n: int, m: MessageStats) -> list[str]:
    return [
        target,
        str(n),
        str(m.body_bytes),
        mean_max(m.bytes_open),
        mean_max(m.bytes_list),
        mean_max(m.per_message_open),
        mean_max(m.per_message_list),
        f"{m.receipt_frames} ({m.receipt_bytes:,} B)",
        f"{m.extra_frames} ({m.extra_bytes:,} B)",
        "—" if target == "floor" else f"{m.held_rows[0]}–{m.held_rows[1]}",
        "—" if target == "floor" else f"{m.held_messages[0]}–{m.held_messages[1]}",
        f"{m.cpu_s / max(1, m.sent) * 1000:.1f}",
    ]


def _correct_row(target: str, n: int, m: MessageStats) -> list[str]:
    return [
        target,
        str(n),
        f"{m.sent}/{m.messages}",
        str(len(m.missing)),
        str(len(m.duplicates)),
        str(len(m.leaks)),
        str(m.entries_at_list_tabs),
        str(m.reloads),
        str(len(m.errors)),
    ]
