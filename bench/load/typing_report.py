"""The "Typing" section of the results page: typing → shown at the others, and gone."""

from __future__ import annotations

from bench.common import table
from bench.load.analysis import summary
from bench.load.cells import mean_max, ms, percentiles
from bench.load.config import LoadConfig
from bench.load.message_report import runs
from bench.load.run import RunResult
from bench.load.step_report import step_targets
from bench.load.typing_analysis import TypingStats

TARGET_P99_MS = 200.0  # the issue: typing shows at the peers within 200 ms
TARGET_FRAME_BYTES = 300  # bytes of the message that brings a typing entry to a tab (less than)

_HEADER = ["Server", "Tabs", "Arrivals", "p50", "p95", "p99", "max", "p99 at list tabs", "Fan-out p50"]
_HEADER += ["Stop → gone p50", "p95", "p99", "max", "Bytes/typing frame", "CPU/report (ms)"]
_CORRECT_HEADER = ["Server", "Tabs", "Starts made", "Stops made", "Missing", "Duplicates", "Leaks"]
_CORRECT_HEADER += ["Other typing frames", "Errors"]


def targets(results: dict[tuple[str, int], RunResult]) -> list[list[str]]:
    """The typing targets against the largest run of the app."""
    return step_targets(
        runs(results, "typing"),
        latency="Keystroke → typing at every other member's tab (showing the conversation or the list)",
        goal_ms=TARGET_P99_MS,
        frame="Bytes per typing frame at a receiving tab (start or stop)",
        frame_bytes=TARGET_FRAME_BYTES,
        correct="Every start and stop reached each other member's tab once; no non-member's tab or the "
        "typer's own got one",
    )


def section(results: dict[tuple[str, int], RunResult], config: LoadConfig, command: str) -> list[str]:
    """The section's lines (none when no run had the typing step)."""
    done = runs(results, "typing")
    if not done:
        return []
    first = done[0][2]
    return [
        "## Typing",
        "",
        "After the read receipts, on the same tabs, each messaged conversation has one typer a round, its",
        "members in turn. The typer's tab showing the conversation reports that its user started typing",
        "(the composer's report, stamped just before it is sent: the keystroke); each tab of every other",
        "member, showing the conversation or on the home page with it in the list, stamps the arrival of",
        "the typer's entry (`typing_map.<conversation id>-<user id>` in the app's delta, CLOCK_MONOTONIC",
        "shared by every process). Once every such tab has it, the typer's tab reports that its user",
        "stopped, and the tabs stamp the entry's removal (None). Reports are paced at the messages' rate;",
        "a round waits for every arrival, and lasts at least 2.5 s so that no typer comes near the app's",
        "limit of 60 reports a minute. The app checks who may see the typer and sends the entry itself;",
        "the floor forwards the entry (the app's JSON) that the typer's tab sends with its report to every",
        "socket of the other members: the lower bound of the same fan-out.",
        "",
        f"- **Command:** `{command}`",
        f"- **Typers:** {first.typings} per size ({first.rounds} rounds, one typer per messaged",
        f"  conversation a round), each a start and a stop, {config.message_rate:g}/s.",
        "",
        table(["Target", "Goal", "Measured (app)", "Met"], targets(results)),
        "",
        "Start → arrival of the entry at each receiving tab, and stop → arrival of its removal",
        "(milliseconds); at list tabs: the receiving tabs on the home page; fan-out: per start, its last",
        "receiving tab. Bytes: the socket.io message that brought each start or stop (mean / max).",
        "CPU/report: the server's CPU time in the step (its waits included) divided by the reports.",
        "",
        table(_HEADER, [_row(t, n, r) for t, n, r in done]),
        "",
        "Correctness: missing (start or stop, receiving tab) pairs, starts or stops a tab received more",
        "than once, leaks (a typing entry at a non-member's tab or at one of the typer's own), other",
        "typing frames (at a member's tab, explained by no start or stop of their round), errors (a",
        "report that failed).",
        "",
        table(_CORRECT_HEADER, [_correct_row(t, n, r) for t, n, r in done]),
        "",
    ]


def _row(target: str, n: int, r: TypingStats) -> list[str]:
    return [
        target,
        str(n),
        f"{r.shown + r.gone:,}/{2 * r.expected:,}",
        *percentiles(r.latency_ms),
        ms(summary(r.latency_list_ms)["p99"]),
        ms(summary(r.fanout_ms)["p50"]),
        *percentiles(r.gone_ms),
        mean_max(r.bytes),
        f"{r.cpu_s / max(1, r.started + r.stopped) * 1000:.1f}",
    ]


def _correct_row(target: str, n: int, r: TypingStats) -> list[str]:
    return [
        target,
        str(n),
        f"{r.started}/{r.typings}",
        f"{r.stopped}/{r.typings}",
        str(len(r.missing)),
        str(len(r.duplicates)),
        str(len(r.leaks)),
        str(r.other_frames),
        str(len(r.errors)),
    ]
