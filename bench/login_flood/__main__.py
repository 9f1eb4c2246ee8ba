"""`python -m bench.login_flood`: message delivery between two users, with no flood and
under floods of wrong-password log-in attempts, and its results page.

Each condition starts the app (`reflex run --env prod`, fresh SQLite database), opens A's
and B's tabs on their direct conversation, sends the messages at a steady pace while the
attacker floods the log-in form (if the condition has a flood), and checks that every
message arrived. Meanwhile C (not attacked) and the attacked account's owner log in with
their right passwords every few seconds, each time from a fresh tab and from their usual
address (returning users: each logged in from it once before the flood), and D (not
attacked) as often from a new address each time (a first log-in); the answers are
recorded. Writes docs/login-flood.md; exit status 1 if any condition was incomplete.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from bench import common
from bench.login_flood import report
from bench.login_flood.run import Condition, FloodConfig, run_condition


def _rates(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def parser() -> argparse.ArgumentParser:
    """The command line."""
    d = FloodConfig()
    p = argparse.ArgumentParser(
        prog="python -m bench.login_flood",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    w = p.add_argument_group("workload")
    w.add_argument("--messages", type=int, default=d.messages, help="measured messages per condition")
    w.add_argument("--message-rate", type=float, default=d.message_rate, help="messages per second")
    w.add_argument("--warmup-messages", type=int, default=d.warmup_messages, help="unmeasured messages first")
    w.add_argument(
        "--floods",
        type=_rates,
        default=[10.0, 50.0],
        help="attempts per second of the many-address floods, comma-separated (after a baseline)",
    )
    w.add_argument(
        "--one-address-floods",
        type=_rates,
        default=[10.0],
        help="attempts per second of the floods from 127.0.0.1 alone, comma-separated (empty: none)",
    )
    w.add_argument("--no-baseline", dest="baseline", action="store_false", help="skip the no-flood condition")
    w.add_argument("--settle", type=float, default=d.settle, help="seconds of flood before the messages")
    w.add_argument("--per-address", type=int, default=d.per_address, help="attempts per attacking address")
    w.add_argument(
        "--target-share", type=float, default=d.target_share, help="share of attempts at the existing account"
    )
    w.add_argument(
        "--drain", type=float, default=d.drain, help="seconds to wait for the flood's last answers"
    )
    w.add_argument("--timeout", type=float, default=d.timeout, help="seconds to wait for the last messages")
    w.add_argument(
        "--owner-logins",
        type=int,
        default=d.owner_logins,
        help="log-ins with the right password per condition by C, by the attacked account's owner "
        "(both returning users) and by D (a new address each time), each",
    )
    w.add_argument(
        "--login-timeout", type=float, default=d.login_timeout, help="seconds a log-in waits for its answer"
    )
    r = p.add_argument_group("running")
    r.add_argument(
        "--instances",
        type=int,
        default=d.instances,
        help="run N instances of the app on one Redis and one PostgreSQL database (a fresh one per "
        "condition), the attacker's connections, the log-ins and A's and B's tabs spread over them "
        "(0: one instance on SQLite, without Redis)",
    )
    common.add_app_env(r)
    common.add_app_label(r)
    common.add_max_load(r, 1.5, common.MAX_LOAD_EACH_CONDITION)
    common.add_profile(r, "write a py-spy profile of the app's worker during each condition's messages here")
    common.add_output(p, "login-flood.md")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run every condition; exit status 1 if any was incomplete or incorrect."""
    args = parser().parse_args(argv)
    if args.messages < 1 or args.message_rate <= 0 or not 0 <= args.target_share <= 1:
        parser().error("--messages must be at least 1, --message-rate above 0, --target-share in 0..1")
    config = FloodConfig(
        messages=args.messages,
        message_rate=args.message_rate,
        warmup_messages=args.warmup_messages,
        settle=args.settle,
        per_address=max(1, args.per_address),
        target_share=args.target_share,
        drain=args.drain,
        timeout=args.timeout,
        owner_logins=max(0, args.owner_logins),
        login_timeout=args.login_timeout,
        app_env=common.app_env(args.app_env),
        instances=max(0, args.instances),
    )
    conditions = [Condition(0)] if args.baseline else []
    conditions += [Condition(rate) for rate in args.floods if rate > 0]
    conditions += [Condition(rate, one_address=True) for rate in args.one_address_floods if rate > 0]
    started = common.now()
    # Read before the runs: the checkout may change while they last (a shared one does).
    app_label = args.app_label or common.app_version(None)
    command = common.command_line("bench.login_flood", argv)
    results = []
    for condition in conditions:
        common.wait_for_quiet(args.max_load, timeout=300, log=print)
        result = run_condition(
            condition, config, profile_dir=args.profile, profile_format=args.profile_format
        )
        results.append(result)
        print(f"  {condition.label}: {'correct' if result.correct else 'NOT CORRECT'}")
    text = report.page(results, config, command, started, app_label)
    common.publish(text, args)
    if args.json is not None:
        common.write_json(
            args.json,
            {
                "config": asdict(config),
                "logins_goals": {
                    key: {"measured": measured, "met": met}
                    for key, (measured, met) in report.logins_goals(results, config).items()
                },
                "results": [
                    {
                        **asdict(r),
                        "label": r.condition.label,
                        "correct": r.correct,
                        "login_figures": report.login_figures(r, config),
                    }
                    for r in results
                ],
            },
        )
    return 0 if results and all(r.correct for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
