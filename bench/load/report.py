"""The results page (`docs/benchmarks.md`).

The page is rewritten from the top down to a marker line; what follows the marker
(the analysis written by hand: profiles, changes made, plans) is kept as it is.
"""

from __future__ import annotations

import datetime
import math

from bench.common import app_version, machine
from bench.common import table as _table
from bench.load import message_report, receipt_report, typing_report
from bench.load.analysis import PhaseStats, summary
from bench.load.config import LoadConfig
from bench.load.receivers import ReceiversTiming
from bench.load.run import LATE_WAIT, RunResult
from bench.load.targets import targets


def _ratio(a: float, b: float) -> str:
    if a is None or b is None or math.isnan(a) or math.isnan(b) or b == 0:
        return "—"
    return f"{a / b:.1f}×"


def _mean(values: list[int]) -> float:
    return sum(values) / len(values) if values else math.nan


def _phase_row(target: str, r: RunResult, stats: PhaseStats) -> list[str]:
    lat, fan = summary(stats.latency_ms), summary(stats.fanout_ms)
    return [
        target,
        str(r.sessions),
        f"{stats.deliveries:,}",
        f"{lat['p50']:.1f}",
        f"{lat['p95']:.1f}",
        f"{lat['p99']:.1f}",
        f"{lat['max']:.1f}",
        f"{fan['p50']:.1f}",
        f"{_mean(stats.bytes_per_delivery):.0f}",
    ]


def page(
    results: dict[tuple[str, int], RunResult],
    receivers: ReceiversTiming | None,
    config: LoadConfig,
    command: str,
    plot_name: str,
    started: datetime.datetime,
) -> str:
    """The generated part of the page."""
    sizes = sorted({n for _, n in results})
    loads = [r.load_average for r in results.values()]
    procs = sorted({r.client_procs for r in results.values()})
    out = [
        "# Presence benchmark",
        "",
        "Presence changes driven through simulated tabs that speak Reflex's own websocket protocol",
        "(`bench/reflex_client.py`: they log in and load the page as a browser tab does), against the app",
        "in production mode (`reflex run --env prod`, one Granian worker) and against the floor: a bare",
        "python-socketio server (`bench/floor_server.py`, also on Granian) that forwards the same presence",
        "JSON to the same receivers. Every figure of the app is also given as a ratio to the floor.",
        "",
        f"- **Date:** {started:%Y-%m-%d %H:%M} UTC",
        f"- **Machine:** {machine()}. Server and clients on the same machine.",
        f"- **Command:** `{command}`",
        f"- **App under test:** {config.app_label or app_version(config.app_dir)}",
        f"- **Clients:** {', '.join(map(str, procs))} client process(es), separate from the server's; "
        f"{config.sessions_per_user:g} tabs per user on average (at most {config.max_tabs}). "
        "Their CPU during the main phase (all client processes together, % of one core): "
        + ", ".join(
            f"{t} {n}: {r.server.get('clients_main_cpu_pct', math.nan):.0f}%"
            for (t, n), r in sorted(results.items())
        )
        + ".",
        "- **Load average (1 min) before/after each run:** "
        + ", ".join(f"{a:.2f}/{b:.2f}" for a, b in loads),
        f"- **Workload:** {config.changes} changes at {config.rate:g}/s (mix "
        + ", ".join(f"{k} {v:g}" for k, v in config.mix.items())
        + f"); {config.wide_changes} changes of the hub; "
        f"about {config.convs_per_user:g} conversations per user, "
        f"{config.direct_share:.0%} of them direct, groups of {config.members}; the hub is in "
        f"{config.hub_contacts:,} direct conversations; offline after a grace of {config.grace:g} s.",
        "",
        "## Targets",
        "",
        _table(
            ["Target", "Goal", "Measured (app)", "Met"],
            [
                [t.name, t.goal, t.measured, "—" if t.met is None else ("yes" if t.met else "**no**")]
                for t in targets(results, receivers)
            ],
        ),
        "",
        "## Latency: change → arrival at each receiving tab",
        "",
        "Milliseconds. A change is stamped by the client that makes it just before it sends it; each",
        "receiving tab stamps the arrival (CLOCK_MONOTONIC, shared by every process). Offline is published",
        f"after the grace period, so disconnects count from the end of the grace ({config.grace:g} s).",
        "",
        f"![Latency percentiles against the number of tabs, app and floor]({plot_name})",
        "",
        "Main phase (random users at the configured rate):",
        "",
        _table(
            ["Server", "Tabs", "Deliveries", "p50", "p95", "p99", "max", "Fan-out p50", "Bytes/delivery"],
            [
                _phase_row(t, results[(t, n)], results[(t, n)].main)
                for n in sizes
                for t in ("app", "floor")
                if (t, n) in results
            ],
        ),
        "",
        "Wide phase (the hub changes; every connected tab receives it):",
        "",
        _table(
            ["Server", "Tabs", "Deliveries", "p50", "p95", "p99", "max", "Fan-out p50", "Bytes/delivery"],
            [
                _phase_row(t, results[(t, n)], results[(t, n)].wide)
                for n in sizes
                for t in ("app", "floor")
                if (t, n) in results
            ],
        ),
        "",
        "## The app as a ratio to the floor",
        "",
        _table(
            [
                "Tabs",
                "p50",
                "p99",
                "Fan-out p50 (main)",
                "Fan-out p50 (wide)",
                "Bytes/delivery",
                "CPU/delivery",
                "RSS/tab",
                "Storm",
            ],
            [_ratio_row(results, n) for n in sizes if ("app", n) in results and ("floor", n) in results],
        ),
        "",
        "## Server resources",
        "",
        "psutil on the server's processes. CPU per delivery: the server's CPU time during the main phase",
        "(wide: the wide phase) divided by the deliveries it made; CPU per change: the same per change.",
        "Open CPU/tab: the server's CPU time while every tab opened, divided by the tabs.",
        "RSS per tab: the worker's resident memory after opening every tab, minus before, divided by the",
        "tabs. Idle CPU: with every tab open and nothing changing (pings only).",
        "",
        _table(
            [
                "Server",
                "Tabs",
                "Open all (s)",
                "Open CPU/tab (ms)",
                "CPU/delivery (ms)",
                "CPU/delivery, wide (ms)",
                "CPU/change (ms)",
                "Idle CPU (%)",
                "RSS before (MB)",
                "RSS after (MB)",
                "RSS/tab (KB)",
            ],
            [_resource_row(t, results[(t, n)]) for n in sizes for t in ("app", "floor") if (t, n) in results],
        ),
        "",
        "## Reconnect storm",
        "",
        "Every tab's socket (every tab is open) is closed at the same instant, and every tab reconnects at",
        "once with the same tab token and loads the page again (as the frontend does after a drop: a",
        "connect that fails is tried again after 200 ms more per attempt, at most 2 s; retries: those",
        "attempts; failed reconnects: tabs not back by the end of the storm's wait (`--storm-timeout`); new",
        "tokens: tabs the server gave a new token, their state lost, because their old socket was still",
        "recorded as connected; peak RSS: the",
        "most memory the server's workers had held by the storm's end, summed, from Linux's VmHWM;",
        "refused: sockets the server refused while its event loop ran behind (`CHATAPP_MAX_LOOP_LAG`), each",
        "tried again by its tab; lost again: sockets that dropped after their tab had reopened, and were",
        "reconnected by it; client lag: the most a client process's loop ran behind, in seconds, which",
        "shows when the clients' share of the cores limits the figures).",
        "Converged: every tab's map shows every user's right status again, and stays so for "
        f"{config.grace + 1.5:g} s.",
        "",
        _table(
            [
                "Server",
                "Tabs",
                "All reloaded (s)",
                "Converged (s)",
                "Server CPU (s)",
                "Connect retries",
                "New tokens",
                "Failed reconnects",
                "Peak RSS (MB)",
                "Refused",
                "Lost again",
                "Client lag (s)",
            ],
            [_storm_row(t, results[(t, n)]) for n in sizes for t in ("app", "floor") if (t, n) in results],
        ),
        "",
        "## Correctness",
        "",
        "Checked in every run: each planned receiver got each change (missing = never arrived;",
        "late = a user's last change of a phase that arrived after the phase's window, waited for up",
        f"to {LATE_WAIT:g} s more and counted with its latency; superseded = the tab lagged and got the",
        "user's next change instead, its map right); no tab",
        "received the presence of a user it shares no conversation with (leaks, snapshots included); after",
        "the changes every tab's map shows the planned statuses, and again once every tab a change closed",
        "is open again; at the end every tab's map equals, entry for entry, the snapshot of a fresh tab of",
        "the same user. Wrong after storm: tabs whose map was still wrong when the storm's wait",
        "ended. Server errors: lines of the server's log reporting an error (tracebacks, ERROR lines,",
        "and the failures Reflex's token manager logs without a level; over 20: not counted further).",
        "",
        _table(
            [
                "Server",
                "Tabs",
                "Changes made",
                "Missing deliveries",
                "Late",
                "Superseded",
                "Leaks",
                "Wrong maps",
                "Tabs vs fresh snapshot",
                "Mismatches",
                "Wrong after storm",
                "Errors",
                "Server errors",
            ],
            [_correct_row(t, results[(t, n)]) for n in sizes for t in ("app", "floor") if (t, n) in results],
        ),
        "",
    ]
    out += _instances_section(results)
    out += message_report.section(results, config, command)
    out += receipt_report.section(results, config, command)
    out += typing_report.section(results, config, command)
    if receivers is not None:
        out += [
            "## Receivers of a change",
            "",
            f"`watchers_of` (one indexed query) for a user in {receivers.conversations:,} conversations with "
            f"{receivers.receivers:,} other members, on SQLite, {receivers.repetitions:,} calls: median "
            f"{receivers.median_ms:.2f} ms, p99 {receivers.p99_ms:.2f} ms.",
            "",
        ]
    return "\n".join(out)


def _ratio_row(results: dict, n: int) -> list[str]:
    a, f = results[("app", n)], results[("floor", n)]
    la, lf = summary(a.main.latency_ms), summary(f.main.latency_ms)
    return [
        str(n),
        _ratio(la["p50"], lf["p50"]),
        _ratio(la["p99"], lf["p99"]),
        _ratio(summary(a.main.fanout_ms)["p50"], summary(f.main.fanout_ms)["p50"]),
        _ratio(summary(a.wide.fanout_ms)["p50"], summary(f.wide.fanout_ms)["p50"]),
        _ratio(_mean(a.main.bytes_per_delivery), _mean(f.main.bytes_per_delivery)),
        _ratio(a.server.get("cpu_per_delivery_ms", math.nan), f.server.get("cpu_per_delivery_ms", math.nan)),
        _ratio(a.server.get("rss_per_session_kb", math.nan), f.server.get("rss_per_session_kb", math.nan)),
        _ratio(a.storm_seconds or math.nan, f.storm_seconds or math.nan),
    ]


def _resource_row(target: str, r: RunResult) -> list[str]:
    s = r.server
    return [
        target,
        str(r.sessions),
        f"{r.connect_seconds:.1f}",
        f"{s.get('open_cpu_s', math.nan) / max(1, r.sessions) * 1000:.2f}",
        f"{s.get('cpu_per_delivery_ms', math.nan):.3f}",
        f"{s.get('wide_cpu_per_delivery_ms', math.nan):.3f}",
        f"{s.get('cpu_per_change_ms', math.nan):.1f}",
        f"{s.get('idle_cpu_pct', math.nan):.1f}",
        f"{s.get('rss_before_mb', math.nan):.0f}",
        f"{s.get('rss_connected_mb', math.nan):.0f}",
        f"{s.get('rss_per_session_kb', math.nan):.0f}",
    ]


def _storm_row(target: str, r: RunResult) -> list[str]:
    return [
        target,
        str(r.sessions),
        "—" if r.storm_reopen_seconds is None else f"{r.storm_reopen_seconds:.2f}",
        "not converged" if r.storm_seconds is None else f"{r.storm_seconds:.2f}",
        f"{r.server.get('storm_cpu_s', math.nan):.1f}",
        str(r.server.get("storm_retries", 0)),
        str(r.server.get("storm_new_tokens", 0)),
        str(len(r.storm_errors)),
        f"{r.server.get('storm_peak_rss_mb', math.nan):.0f}",
        str(r.server.get("storm_refused", 0)),
        str(r.server.get("storm_dropped_again", 0)),
        f"{r.server.get('storm_client_lag_s', math.nan):.1f}",
    ]


def _correct_row(target: str, r: RunResult) -> list[str]:
    made = r.main.made + r.wide.made
    planned = r.main.changes + r.wide.changes
    errors = len(r.main.errors) + len(r.wide.errors) + len(r.open_failures) + len(r.storm_errors)
    errors += len(r.truth_failures)  # fresh tabs that never loaded
    return [
        target,
        str(r.sessions),
        f"{made}/{planned}",
        str(len(r.main.missing) + len(r.wide.missing)),
        str(len(r.main.late) + len(r.wide.late)),
        str(len(r.main.superseded) + len(r.wide.superseded)),
        str(len(r.main.leaks) + len(r.wide.leaks)),
        str(len(r.final_wrong)),
        str(r.truth_checked),
        str(len(r.truth_mismatches)),
        str(len(r.storm_wrong)),
        str(errors),
        str(len(r.server_errors)) if len(r.server_errors) <= 20 else "over 20",
    ]


def _instances_section(results: dict[tuple[str, int], RunResult]) -> list[str]:
    """Every target side by side, when instances on Redis ("app@N") were run."""
    if not any("@" in t for t, _ in results):
        return []
    order = {"floor": (0, 0), "app": (1, 0)}

    def key(item):
        (t, n), _ = item
        return n, order.get(t, (2, int(t.partition("@")[2] or 0)))

    def num(value: float, fmt: str) -> str:
        return "—" if value is None or math.isnan(value) else format(value, fmt)

    rows = []
    for (t, n), r in sorted(results.items(), key=key):
        lat, wide = summary(r.main.latency_ms), summary(r.wide.fanout_ms)
        s = r.server
        rows.append(
            [
                t,
                str(n),
                f"{lat['p50']:.1f}",
                f"{lat['p99']:.1f}",
                f"{wide['p50']:.0f}",
                f"{r.connect_seconds:.1f}",
                "not converged" if r.storm_seconds is None else f"{r.storm_seconds:.2f}",
                f"{s.get('cpu_per_change_ms', math.nan):.1f}",
                num(s.get("redis_commands_per_change", math.nan), ".0f"),
                num(s.get("redis_bytes_per_change", math.nan) / 1024, ".1f"),
                num(s.get("redis_cpu_per_change_ms", math.nan), ".2f"),
                f"{s.get('rss_per_session_kb', math.nan):.0f}",
                "yes" if r.correct else "**no**",
            ]
        )
    return [
        "## Several instances",
        "",
        '"app@N": N production instances of the app (one Granian worker each) on one Redis (the',
        "run's own redis-server) and one PostgreSQL database; a user's tabs spread over the",
        'instances (tab index modulo N). "app" is one instance without Redis, on SQLite. Server',
        "CPU per change counts every instance and Redis; Redis figures are from its INFO over",
        "the main phase. RSS per tab is the instances' workers together.",
        "",
        _table(
            [
                "Target",
                "Tabs",
                "p50 ms",
                "p99 ms",
                "Hub fan-out p50 ms",
                "Open all s",
                "Storm s",
                "CPU/change ms",
                "Redis cmds/change",
                "Redis KB/change",
                "Redis CPU/change ms",
                "RSS/tab KB",
                "Correct",
            ],
            rows,
        ),
        "",
        *_redis_calls(results),
        *_lost_changes(results),
    ]


def _lost_changes(results: dict[tuple[str, int], RunResult]) -> list[str]:
    """Of the changes that missed a receiver on Redis, which were published on the push
    channel (an instance lost the delivery) and which never were (never decided)."""
    lines = []
    for (t, n), r in sorted(results.items()):
        phases = [p for p in (r.main, r.wide) if p.unpublished is not None]
        lost = sorted({cid for p in phases for cid, _ in p.missing})
        if not lost:
            continue
        never = sorted({cid for p in phases for cid in p.unpublished or []})
        tabs = sum(len(p.missing) for p in phases)
        lines.append(
            f"- {t}, {n} tabs: {len(lost)} changes missed {tabs} receiving tabs; "
            f"{len(lost) - len(never)} of them were published on the push channel "
            f"(an instance did not deliver them), {len(never)} never were"
            + (f" (changes {', '.join(map(str, never[:10]))})" if never else "")
        )
    if not lines:
        return []
    return ["Changes that missed a receiver, against what the push channel carried:", "", *lines, ""]


def _redis_calls(results: dict[tuple[str, int], RunResult]) -> list[str]:
    """The busiest Redis commands per change of each target on Redis (the profile of the
    Redis cost)."""
    lines = []
    for (t, n), r in sorted(results.items()):
        calls = r.server.get("redis_calls_per_change")
        if calls:
            listed = ", ".join(f"{name} {count:g}" for name, count in calls.items())
            lines.append(f"- {t}, {n} tabs: {listed}")
    if not lines:
        return []
    return ["Redis commands per change (main phase), the busiest first:", "", *lines, ""]
