"""The "Read receipts" section of the results page: read → receipt, app and floor."""

from __future__ import annotations

from bench.common import table
from bench.load.analysis import summary
from bench.load.cells import mean_max, ms, percentiles
from bench.load.config import LoadConfig
from bench.load.message_report import runs
from bench.load.receipt_analysis import ReceiptStats
from bench.load.run import RunResult
from bench.load.step_report import step_targets

TARGET_P99_MS = 50.0
TARGET_FRAME_BYTES = 300  # bytes of the message that brings a receipt to a tab (less than)

_HEADER = ["Server", "Tabs", "Receipts", "p50", "p95", "p99", "max", "p99 at the sender", "Fan-out p50"]
_HEADER += ["Bytes/receipt frame", "Other receipt frames", "CPU/read (ms)"]
_CORRECT_HEADER = ["Server", "Tabs", "Reads made", "Missing", "Duplicates", "Leaks", "Errors"]


def targets(results: dict[tuple[str, int], RunResult]) -> list[list[str]]:
    """The read receipt targets against the largest run of the app."""
    return step_targets(
        runs(results, "receipts"),
        latency="Read → receipt at every other member's tab showing the conversation",
        goal_ms=TARGET_P99_MS,
        frame="Bytes per receipt frame at a receiving tab",
        frame_bytes=TARGET_FRAME_BYTES,
        correct="Every receipt reached each other member's tab showing the conversation once; no list "
        "tab, non-member or reader got one",
    )


def section(results: dict[tuple[str, int], RunResult], config: LoadConfig, command: str) -> list[str]:
    """The section's lines (none when no run had the read receipts step)."""
    done = runs(results, "receipts")
    if not done:
        return []
    first = done[0][2]
    return [
        "## Read receipts",
        "",
        "At the end of the messages phase, on the same tabs, each messaged conversation is read once a",
        "round, its members reading in turn. The reader's tab showing the conversation reports that its user",
        "no longer sees it; the next member sends a message from their tab showing it; once the reader's tab",
        "has it, the reader's tab reports that its user sees it again (a browser's page does so when it",
        "becomes visible, or its user active): that is the read, stamped just before the report is sent.",
        "Each other member's tab showing the conversation, the sender's among them, stamps the arrival of",
        "the reader's receipt up to that message (`seen_map.<reader id>` in the app's delta, CLOCK_MONOTONIC",
        "shared by every process). Reads are paced at the messages' rate; a round waits for every receipt",
        "before the next. The app reads and sends the receipts itself (a database write, then the",
        "receipt to the members' tabs showing the conversation); the floor keeps no reads: the reader's tab",
        "sends the receipt (the app's JSON) with its report, and the floor forwards it to the other members'",
        "sockets showing the conversation: the lower bound of the same fan-out.",
        "",
        f"- **Command:** `{command}`",
        f"- **Reads:** {first.reads} per size ({first.rounds} rounds, each messaged conversation read once a",
        f"  round), {config.message_rate:g}/s.",
        "",
        table(["Target", "Goal", "Measured (app)", "Met"], targets(results)),
        "",
        "Read → arrival of its receipt at each receiving tab (milliseconds); at the sender: the tab the",
        "message read was sent from; fan-out: per read, its last receiving tab. Bytes: the socket.io message",
        "that brought each receipt (mean / max). Other receipt frames: receipts no measured read explains",
        "(the other members read each round's message as it arrives). CPU/read: the server's CPU time in",
        "the step (its sends and waits included) divided by the reads.",
        "",
        table(_HEADER, [_row(t, n, r) for t, n, r in done]),
        "",
        "Correctness: missing (read, receiving tab) pairs, receipts a tab received more than once, leaks",
        "(a receipt, of any read of the step, at a tab that does not show its conversation, a non-member's,",
        "or the reader's own), errors (a report or a send that failed, a reader's tab that never got the",
        "message to read).",
        "",
        table(_CORRECT_HEADER, [_correct_row(t, n, r) for t, n, r in done]),
        "",
    ]


def _row(target: str, n: int, r: ReceiptStats) -> list[str]:
    return [
        target,
        str(n),
        f"{r.receipts:,}/{r.expected:,}",
        *percentiles(r.latency_ms),
        ms(summary(r.latency_sender_ms)["p99"]),
        ms(summary(r.fanout_ms)["p50"]),
        mean_max(r.bytes),
        str(r.other_receipts),
        f"{r.cpu_s / max(1, r.made) * 1000:.1f}",
    ]


def _correct_row(target: str, n: int, r: ReceiptStats) -> list[str]:
    return [
        target,
        str(n),
        f"{r.made}/{r.reads}",
        str(len(r.missing)),
        str(len(r.duplicates)),
        str(len(r.leaks)),
        str(len(r.errors)),
    ]
