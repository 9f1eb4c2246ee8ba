"""`python -m bench.browser_latency`: run the scenarios and write the page."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from bench import browser_latency, common
from bench.browser_latency.report import grace_section, interpretation, report, table
from bench.browser_latency.run import run

DEFAULT_OUT = "docs/presence-latency.md"
DEFAULT_TRIALS = 50
QUICK_TRIALS = 3


def main(argv: list[str] | None = None) -> int:
    """The command."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.browser_latency", description=browser_latency.__doc__.split("\n")[0]
    )
    parser.add_argument("--trials", type=int, default=None, help=f"trials per scenario ({DEFAULT_TRIALS})")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_TRIALS} trials each (a smoke run)")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"the Markdown report ({DEFAULT_OUT})")
    parser.add_argument("--json", default=None, help="also write the raw results as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, copy)")
    args = parser.parse_args(argv)
    trials = args.trials if args.trials is not None else QUICK_TRIALS if args.quick else DEFAULT_TRIALS
    if trials < 1:
        parser.error("--trials must be at least 1")
    cwd = Path.cwd()
    out = (cwd / args.out).resolve()
    json_out = (cwd / args.json).resolve() if args.json else None
    command = common.command_line("bench.browser_latency", argv)

    def on_term(signum, _frame):
        raise SystemExit(128 + signum)  # so that the app is stopped on the way out

    signal.signal(signal.SIGTERM, on_term)
    results = run(trials, keep=args.keep)
    results["command"] = command
    print()
    print(table(results))
    print()
    print("\n".join(interpretation(results)))
    print()
    print("\n".join(grace_section(results)))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report(results, command))
    print(f"\n[bench] wrote {out}")
    if json_out is not None:
        common.write_json(json_out, results, indent=1)
        print(f"[bench] wrote {json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
