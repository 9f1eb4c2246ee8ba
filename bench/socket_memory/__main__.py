"""`python -m bench.socket_memory`: the server's memory before, during and after thousands of
open tabs, and with the same number opened again, for each tab-state TTL.

Each condition (a value of the app's CHATAPP_TAB_STATE_TTL, and the first one again with
Reflex's own state expiry set low) gets a fresh app in production mode. Writes
docs/socket-memory.md; exit status 1 if a condition was incomplete (a tab that did not
open, load or sign in, or did not close).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from bench import common
from bench.socket_memory import report
from bench.socket_memory.run import Condition, MemoryConfig, run_condition


def _numbers(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def parser() -> argparse.ArgumentParser:
    """The command line."""
    d = MemoryConfig()
    p = argparse.ArgumentParser(
        prog="python -m bench.socket_memory",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    w = p.add_argument_group("workload")
    w.add_argument("--sessions", type=int, default=d.sessions, help="tabs open at once, in each wave")
    w.add_argument("--tabs-per-user", type=int, default=d.tabs_per_user, help="tabs of each user (one login)")
    w.add_argument("--contacts", type=int, default=d.contacts, help="direct chats of each user")
    w.add_argument(
        "--ttls",
        type=_numbers,
        default=[10.0, 3600.0],
        help="CHATAPP_TAB_STATE_TTL of each condition, comma-separated (3600: Reflex's own expiry)",
    )
    w.add_argument(
        "--reflex-expiry",
        type=int,
        default=90,
        help="also run the first TTL with Reflex's own state expiry set this low "
        "(REFLEX_REDIS_TOKEN_EXPIRATION, seconds; it must outlast the opening of a wave; 0: don't)",
    )
    w.add_argument("--grace", type=float, default=d.grace, help="CHATAPP_PRESENCE_GRACE (seconds)")
    s = p.add_argument_group("samples")
    s.add_argument("--interval", type=float, default=d.interval, help="seconds between samples after closing")
    s.add_argument("--watch", type=float, default=d.watch, help="seconds of samples after closing, each wave")
    s.add_argument("--settle", type=float, default=d.settle, help="seconds to wait after opening the tabs")
    s.add_argument(
        "--no-probe",
        dest="probe",
        action="store_false",
        help="psutil only: no probe inside the server (no tab states or allocator figures)",
    )
    r = p.add_argument_group("running")
    r.add_argument("--client-procs", type=int, default=d.client_procs, help="client processes")
    r.add_argument("--concurrency", type=int, default=d.concurrency, help="tabs opening at once per process")
    common.add_app_env(r)
    common.add_app_label(r)
    common.add_max_load(r, 0.0, common.MAX_LOAD_EACH_CONDITION)
    common.add_output(p, "socket-memory.md")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run every condition; exit status 1 if any was incomplete."""
    args = parser().parse_args(argv)
    if args.sessions < 1 or args.tabs_per_user < 1 or args.contacts < 0 or not args.ttls:
        parser().error(
            "--sessions and --tabs-per-user must be at least 1, --contacts at least 0, --ttls given"
        )
    if args.interval <= 0 or args.watch < 0 or args.settle < 0:
        parser().error("--interval must be above 0, --watch and --settle at least 0")
    config = MemoryConfig(
        sessions=args.sessions,
        tabs_per_user=args.tabs_per_user,
        contacts=args.contacts,
        grace=args.grace,
        interval=args.interval,
        watch=args.watch,
        settle=args.settle,
        client_procs=max(1, args.client_procs),
        concurrency=max(1, args.concurrency),
        probe=args.probe,
        app_env=common.app_env(args.app_env),
    )
    started = common.now()
    # Read before the runs: others may commit to the checkout while they last.
    app_label = args.app_label or common.app_version(None)
    command = common.command_line("bench.socket_memory", argv)
    conditions = [Condition(ttl) for ttl in args.ttls]
    if args.reflex_expiry > 0:
        conditions.insert(1, Condition(args.ttls[0], args.reflex_expiry))
    results = []
    for condition in conditions:
        common.wait_for_quiet(args.max_load, timeout=300, log=print)
        print(condition.label)
        result = run_condition(config, condition)
        results.append(result)
        print(f"  {condition.label}: {'complete' if result.complete else 'NOT COMPLETE'}")
        print(report.samples_table(result))
    text = report.page(results, config, command, started, app_label)
    common.publish(text, args)
    common.write_json(
        args.json,
        {
            "config": asdict(config),
            "results": [{**asdict(r), "label": r.condition.label, "complete": r.complete} for r in results],
        },
    )
    return 0 if results and all(r.complete for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
