"""`python -m bench.gc_pauses DIR`: the collections the probe (`probe_site`) logged in DIR,
one line per process that collected at least 100 times or stopped 100 ms at once: how
many collections of each generation, their time in all and at the median and most, and
how many stopped the process 10, 20, 40 and 80 ms or longer (and for how long in all)."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path


def summary(path: Path) -> str | None:
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    took = [float(r[2]) for r in rows]
    if len(rows) < 100 and max(took, default=0) < 100:
        return None
    span = float(rows[-1][0]) - float(rows[0][0])
    parts = [f"{path.name}: {span:.0f} s, {len(rows)} collections, {sum(took):.0f} ms"]
    for gen in ("0", "1", "2"):
        times = [float(r[2]) for r in rows if r[1] == gen]
        if times:
            parts.append(
                f"gen {gen}: {len(times)}, {sum(times):.0f} ms, median {statistics.median(times):.1f}, "
                f"most {max(times):.1f}"
            )
    for at_least in (10, 20, 40, 80):
        long = [t for t in took if t >= at_least]
        parts.append(f">= {at_least} ms: {len(long)} ({sum(long):.0f} ms)")
    return "; ".join(parts)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for path in sorted(Path(sys.argv[1]).glob("gc-*.txt")):
        line = summary(path)
        if line:
            print(line)


if __name__ == "__main__":
    main()
