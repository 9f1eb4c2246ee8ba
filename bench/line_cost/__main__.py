"""`python -m bench.line_cost [--waiters 2000,10000,20000]`: for each size, N waiters
queue behind a held place and every other one is cancelled (as Reflex cancels a closed
socket's hydrate and page load); prints the CPU time the cancellations took with
`asyncio.Semaphore` and with `Line`, as a Markdown table, and with `--json FILE` writes
the figures there too."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from chatapp.line import Line

KINDS: dict[str, Callable[[int], Any]] = {"asyncio.Semaphore": asyncio.Semaphore, "Line": Line}


async def _leaving(make: Callable[[int], Any], waiters: int) -> float:
    """CPU seconds for every other one of `waiters` queued waiters to leave."""
    gate = make(1)
    await gate.acquire()

    async def wait() -> None:
        async with gate:
            pass

    tasks = [asyncio.create_task(wait()) for _ in range(waiters)]
    await asyncio.sleep(0)  # all in the line
    began = time.process_time()
    for task in tasks[::2]:
        task.cancel()
    await asyncio.gather(*tasks[::2], return_exceptions=True)
    spent = time.process_time() - began
    gate.release()
    await asyncio.gather(*tasks[1::2])  # the rest are served: nobody was left waiting
    return spent


def measure(sizes: list[int]) -> list[dict[str, Any]]:
    """One row per size: the milliseconds of each kind."""
    rows = []
    for n in sizes:
        spent = {kind: round(asyncio.run(_leaving(make, n)) * 1000, 1) for kind, make in KINDS.items()}
        rows.append({"waiters": n, **spent})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.line_cost", description=__doc__)
    parser.add_argument("--waiters", default="2000,10000,20000", help="sizes, comma separated")
    parser.add_argument("--json", help="write the rows to this file too")
    args = parser.parse_args(argv)
    rows = measure([int(n) for n in args.waiters.split(",")])
    print("| waiters | " + " | ".join(f"`{k}`" for k in KINDS) + " |")
    print("|---:|" + "---:|" * len(KINDS))
    for row in rows:
        print(f"| {row['waiters']:,} | " + " | ".join(f"{row[k]} ms" for k in KINDS) + " |")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"python": sys.version.split()[0], "rows": rows}, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
