"""`python -m bench.load`: the presence and messages benchmark, app and floor, and its page.

Starts the app (`reflex run --env prod`, fresh SQLite database) and the floor for each
size in turn, drives presence changes, then messages, through simulated tabs in separate
client processes, checks every result, and writes docs/benchmarks.md and its plot.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from bench import common
from bench.load import plot, report
from bench.load.config import KINDS, LoadConfig
from bench.load.suite import run_suite


def _mix(text: str) -> dict[str, float]:
    mix = dict.fromkeys(KINDS, 0.0)
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        if kind.strip() not in mix:
            msg = f"unknown change kind {kind!r} (one of {', '.join(KINDS)})"
            raise argparse.ArgumentTypeError(msg)
        mix[kind.strip()] = float(weight or 1)
    return mix


def _sizes(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except for flags and options without one."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or isinstance(action.default, bool) or action.default == []:
            return action.help
        return super()._get_help_string(action)


def parser() -> argparse.ArgumentParser:
    """The command line."""
    d = LoadConfig()
    p = argparse.ArgumentParser(
        prog="python -m bench.load",
        description=__doc__,
        formatter_class=_Formatter,
    )
    size = p.add_argument_group("size and contact graph")
    size.add_argument(
        "--sessions", type=_sizes, default=[100, 250, 500, 1000], help="tabs per run, comma-separated"
    )
    size.add_argument(
        "--sessions-per-user", type=float, default=d.sessions_per_user, help="users = tabs / this"
    )
    size.add_argument("--max-tabs", type=int, default=d.max_tabs, help="the most tabs one user has")
    size.add_argument("--convs-per-user", type=float, default=d.convs_per_user, help="conversations per user")
    size.add_argument("--members", type=int, default=d.members, help="members of a group conversation")
    size.add_argument(
        "--direct-share", type=float, default=d.direct_share, help="share of direct conversations"
    )
    size.add_argument(
        "--hub-contacts",
        type=int,
        default=d.hub_contacts,
        help="conversations (and contacts) of the hub user",
    )
    load = p.add_argument_group("workload")
    load.add_argument("--changes", type=int, default=d.changes, help="presence changes in the main phase")
    load.add_argument("--rate", type=float, default=d.rate, help="changes per second in the main phase")
    load.add_argument(
        "--mix",
        type=_mix,
        default=d.mix,
        help="weights of the kinds of change, e.g. away=1,back=1,disconnect=1,connect=1",
    )
    load.add_argument("--wide-changes", type=int, default=d.wide_changes, help="changes of the hub")
    load.add_argument("--wide-gap", type=float, default=d.wide_gap, help="seconds between changes of the hub")
    load.add_argument(
        "--grace", type=float, default=d.grace, help="seconds before offline (the app's and the floor's)"
    )
    load.add_argument(
        "--settle", type=float, default=d.settle, help="seconds to wait for a phase's last deliveries"
    )
    load.add_argument("--idle", type=float, default=d.idle, help="seconds of idle CPU measurement")
    load.add_argument("--seed", type=int, default=d.seed, help="seed of the graph and the plan")
    load.add_argument("--no-storm", dest="storm", action="store_false", help="skip the reconnect storm")
    load.add_argument(
        "--storm-timeout",
        type=float,
        default=d.storm_timeout,
        help="seconds the storm may take before it counts as not converged (more tabs, more time)",
    )
    load.add_argument(
        "--no-truth", dest="truth_check", action="store_false", help="skip the fresh-snapshot check"
    )
    chat = p.add_argument_group("messages phase (after the presence phases)")
    chat.add_argument("--messages", type=int, default=d.messages, help="messages sent at each size")
    chat.add_argument(
        "--no-messages", dest="messages", action="store_const", const=0, help="skip the messages phase"
    )
    chat.add_argument("--message-rate", type=float, default=d.message_rate, help="messages per second")
    chat.add_argument("--message-bytes", type=int, default=d.message_bytes, help="length of a message's body")
    chat.add_argument(
        "--message-convs", type=int, default=d.message_convs, help="conversations messaged (half groups)"
    )
    chat.add_argument(
        "--history", type=int, default=d.history, help="messages of history in each conversation messaged"
    )
    chat.add_argument(
        "--list-size", type=int, default=d.list_size, help="conversations in the list of each member"
    )
    chat.add_argument(
        "--receipt-rounds",
        type=int,
        default=d.receipt_rounds,
        help="rounds of read → receipt, each conversation read once a round (0: none)",
    )
    chat.add_argument(
        "--typing-rounds",
        type=int,
        default=d.typing_rounds,
        help="rounds of typing → shown at the others, a typer per conversation a round (0: none)",
    )
    run = p.add_argument_group("running")
    run.add_argument(
        "--targets",
        default="app,floor",
        help='servers to run against: app, floor, and "app@N" (N instances on Redis and PostgreSQL)',
    )
    run.add_argument(
        "--instances",
        default="",
        help='also run the app as N instances on Redis and PostgreSQL, for each N of this list ("1,2,4")',
    )
    run.add_argument("--client-procs", type=int, default=d.client_procs, help="client processes")
    run.add_argument(
        "--connect-concurrency",
        type=int,
        default=d.connect_concurrency,
        help="tabs opening at once per process",
    )
    common.add_app_env(run, "extra environment of the app (repeatable)")
    run.add_argument("--app-dir", default=None, help="run the app from this checkout (to compare versions)")
    common.add_app_label(run)
    run.add_argument(
        "--receivers-reps", type=int, default=1000, help="calls of the receivers query to time (0: skip)"
    )
    common.add_max_load(run, 1.5, "wait before each run until the load average is at most this (0: never)")
    common.add_profile(
        run, "write py-spy profiles of each server's main, wide and storm phases here (needs py-spy)"
    )
    common.add_output(p, "benchmarks.md", plot="benchmarks-latency.png")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 if any run was incomplete or incorrect."""
    args = parser().parse_args(argv)
    config = LoadConfig(
        sessions_per_user=args.sessions_per_user,
        max_tabs=args.max_tabs,
        convs_per_user=args.convs_per_user,
        members=args.members,
        direct_share=args.direct_share,
        hub_contacts=args.hub_contacts,
        changes=args.changes,
        rate=args.rate,
        mix=args.mix,
        wide_changes=args.wide_changes,
        wide_gap=args.wide_gap,
        grace=args.grace,
        storm=args.storm,
        storm_timeout=args.storm_timeout,
        settle=args.settle,
        idle=args.idle,
        client_procs=args.client_procs,
        connect_concurrency=args.connect_concurrency,
        seed=args.seed,
        app_env=common.app_env(args.app_env),
        app_dir=args.app_dir,
        app_label=args.app_label,
        truth_check=args.truth_check,
        messages=args.messages,
        message_rate=args.message_rate,
        message_bytes=args.message_bytes,
        message_convs=args.message_convs,
        history=args.history,
        list_size=args.list_size,
        receipt_rounds=args.receipt_rounds,
        typing_rounds=args.typing_rounds,
    )
    started = common.now()
    command = common.command_line("bench.load", argv)
    suite = run_suite(
        config,
        args.sessions,
        [t.strip() for t in args.targets.split(",") if t.strip()]
        + [f"app@{int(n)}" for n in args.instances.split(",") if n.strip()],
        receivers_repetitions=args.receivers_reps,
        max_load=args.max_load,
        profile_dir=args.profile,
        profile_format=args.profile_format,
    )
    text = report.page(suite.results, suite.receivers, config, command, args.plot.name, started)
    common.publish(text, args, plot=lambda path: plot.plot(suite.results, path))
    common.write_json(
        args.json,
        {
            "results": [
                {**asdict(r), "target": t, "sessions": n, "correct": r.correct}
                for (t, n), r in suite.results.items()
            ],
            "receivers": asdict(suite.receivers) if suite.receivers else None,
        },
    )
    return 0 if suite.correct else 1


if __name__ == "__main__":
    sys.exit(main())
