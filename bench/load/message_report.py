"""The "Messages" section of the results page: the messages phase, app and floor."""

from __future__ import annotations

import math

from bench.common import table
from bench.load.analysis import summary
from bench.load.config import LoadConfig
from bench.load.message_analysis import MessageStats
from bench.load.run import RunResult

TARGET_P99_MS = 50.0
TARGET_ENVELOPE = 1024  # bytes per message per tab beyond the message's own size

_LATENCY_HEADER = ["Server", "Tabs", "Deliveries", "p50", "p95", "p99", "max"]
_LATENCY_HEADER += ["p99 showing", "p99 list", "Fan-out p50", "Echo p50"]
_BYTES_HEADER = ["Server", "Tabs", "Body", "Frame, showing", "Frame, list", "All, showing", "All, list"]
_BYTES_HEADER += ["Extra frames", "Rows held", "Messages held", "CPU/message (ms)"]
_CORRECT_HEADER = ["Server", "Tabs", "Sent", "Missing", "Duplicates", "Leaks", "Entries at list tabs"]
_CORRECT_HEADER += ["Reloads", "Errors"]


def _ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.1f}"


def _bytes(values: list) -> str:
    return "—" if not values else f"{sum(values) / len(values):.0f} / {max(values):.0f}"


def _runs(results: dict[tuple[str, int], RunResult]) -> list[tuple[str, int, MessageStats]]:
    return [
        (t, n, results[(t, n)].messages)
        for n in sorted({n for _, n in results})
        for t in ("app", "floor")
        if (t, n) in results and results[(t, n)].messages is not None
    ]


def targets(results: dict[tuple[str, int], RunResult], config: LoadConfig) -> list[list[str]]:
    """The issue's message targets against the largest run of the app."""
    apps = [(n, m) for t, n, m in _runs(results) if t == "app"]
    if not apps:
        return []
    size, m = apps[-1]
    lat = summary(m.latency_ms)
    limit = m.body_bytes + TARGET_ENVELOPE
    rows = [
        [
            f"Message → every member's tab, {size} tabs",
            f"p99 ≤ {TARGET_P99_MS:g} ms",
            f"p50 {_ms(lat['p50'])} ms, p95 {_ms(lat['p95'])} ms, p99 {_ms(lat['p99'])} ms",
            _met(lat["p99"] <= TARGET_P99_MS if lat["n"] else None),
        ]
    ]
    for label, frame, every in (
        ("showing the conversation", m.bytes_open, m.per_message_open),
        ("with it as a list row", m.bytes_list, m.per_message_list),
    ):
        worst = max(frame + every) if frame else math.nan
        rows.append(
            [
                f"Bytes per message per tab {label} ({config.history} messages of history, "
                f"{config.list_size:,}-conversation list)",
                f"≤ {m.body_bytes} + {TARGET_ENVELOPE} = {limit} B",
                f"frame max {max(frame, default=math.nan):.0f} B; all chat bytes max "
                f"{max(every, default=math.nan):.0f} B",
                _met(None if math.isnan(worst) else worst <= limit),
            ]
        )
    rows.append(
        [
            "Every member's tab got each message once; no other tab got anything",
            "all runs",
            ", ".join(f"{t} {n}: {'yes' if s.complete else 'NO'}" for t, n, s in _runs(results)),
            _met(all(s.complete for _, _, s in _runs(results))),
        ]
    )
    return rows


def _targets_table(results: dict[tuple[str, int], RunResult], config: LoadConfig) -> list[str]:
    rows = targets(results, config)
    return [table(["Target", "Goal", "Measured (app)", "Met"], rows), ""] if rows else []


def _met(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**no**")


def section(results: dict[tuple[str, int], RunResult], config: LoadConfig, command: str) -> list[str]:
    """The section's lines (none when no run had a messages phase)."""
    runs = _runs(results)
    if not runs:
        return []
    first = runs[0][2]
    kinds = list(first.conversations.values())
    return [
        "## Messages",
        "",
        "After the presence phases, on the same server and the same tabs: messages sent one at a time,",
        "each from a member's tab showing its conversation, the members in turn. Each member's first tab",
        "shows the conversation (`/c/<id>`, loaded as a tab loads it: hydrate and on_load); their other",
        "tabs stay on the home page, where it is one row of the list. Before that, the app's database gets",
        f"{config.history} messages of history in each conversation and enough one-member groups to make",
        f"each member's list {config.list_size:,} conversations long (they add no contact: presence is",
        "unchanged). A message arrives at a tab showing the conversation with its entry (matched by its",
        "idempotency key), at a list tab with the conversation's row whose `seq` is the message's. The floor",
        "forwards the same JSON (the app's entry and row, as a tab of the app received them) to every",
        "socket of every member: entry and row to those showing the conversation, the row to the others.",
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
            [_latency_row(t, n, m) for t, n, m in runs],
        ),
        "",
        "Bytes per message per receiving tab: the socket.io message that brought it (mean / max), and",
        "every chat byte the tab received in the phase divided by the messages of its conversation",
        "(mean / max; it includes read marks and anything sent again). Held: rows in a list tab's list and",
        "messages in a showing tab's view once loaded (min–max). CPU/message: the server's CPU time in the",
        "phase (its wait for the last arrivals included) divided by the messages.",
        "",
        table(
            _BYTES_HEADER,
            [_bytes_row(t, n, m) for t, n, m in runs],
        ),
        "",
        "Correctness: missing (message, tab) pairs, messages a tab received more than once, chat entries of",
        "a conversation at a tab of a non-member, message entries at list tabs (which need only the row),",
        "pages tabs loaded again by themselves (a dropped socket reconnecting; what that brought is not",
        "counted above), errors (a send from a tab whose socket was down, a refusal shown).",
        "",
        table(
            _CORRECT_HEADER,
            [_correct_row(t, n, m) for t, n, m in runs],
        ),
        "",
    ]


def _latency_row(target: str, n: int, m: MessageStats) -> list[str]:
    lat = summary(m.latency_ms)
    return [
        target,
        str(n),
        f"{m.deliveries:,}",
        *(_ms(lat[q]) for q in ("p50", "p95", "p99", "max")),
        _ms(summary(m.latency_open_ms)["p99"]),
        _ms(summary(m.latency_list_ms)["p99"]),
        _ms(summary(m.fanout_ms)["p50"]),
        _ms(summary(m.echo_ms)["p50"]),
    ]


def _bytes_row(target: str, n: int, m: MessageStats) -> list[str]:
    return [
        target,
        str(n),
        str(m.body_bytes),
        _bytes(m.bytes_open),
        _bytes(m.bytes_list),
        _bytes(m.per_message_open),
        _bytes(m.per_message_list),
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
