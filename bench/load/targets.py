"""The targets of the issue, and whether a benchmark met them."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.load.analysis import summary
from bench.load.receivers import ReceiversTiming
from bench.load.run import RunResult

TARGET_P50_MS = 15.0
TARGET_P99_MS = 50.0
TARGET_FANOUT_RATIO = 3.0
TARGET_BYTES = 2048
TARGET_RECEIVERS_MS = 5.0
TARGET_STORM_S = 10.0


@dataclass
class Target:
    """One target of the issue, and how it went."""

    name: str
    goal: str
    measured: str
    met: bool | None  # None: not measured in this run


def targets(results: dict[tuple[str, int], RunResult], receivers: ReceiversTiming | None) -> list[Target]:
    """Each target of the issue against the largest run of the app (and its floor)."""
    sizes = sorted(n for t, n in results if t == "app")
    out: list[Target] = []
    if not sizes:
        return out
    size = sizes[-1]
    app, floor = results[("app", size)], results.get(("floor", size))
    main = summary(app.main.latency_ms)
    out.append(
        Target(
            f"Change → every receiver, {size} tabs ({app.users} users)",
            f"p50 ≤ {TARGET_P50_MS:g} ms, p99 ≤ {TARGET_P99_MS:g} ms",
            f"p50 {ms(main['p50'])}, p99 {ms(main['p99'])}",
            main["p50"] <= TARGET_P50_MS and main["p99"] <= TARGET_P99_MS,
        )
    )
    for phase, label in (("main", "random users"), ("wide", "the hub, every tab receives")):
        a, f = (
            summary(getattr(app, phase).fanout_ms),
            summary(getattr(floor, phase).fanout_ms) if floor else None,
        )
        ratio = a["p50"] / f["p50"] if f and f["p50"] > 0 else math.nan
        out.append(
            Target(
                f"Fan-out time (change → last receiver, median) vs the floor: {label}",
                f"≤ {TARGET_FANOUT_RATIO:g}× the floor",
                f"{ms(a['p50'])} vs {ms(f['p50']) if f else '—'}: {ratio:.1f}×",
                None if math.isnan(ratio) else ratio <= TARGET_FANOUT_RATIO,
            )
        )
    hub_bytes = app.main.hub_bytes + app.wide.bytes_per_delivery
    worst = max(hub_bytes) if hub_bytes else math.nan
    out.append(
        Target(
            "Bytes per change per receiving tab, user with 1,000 contacts",
            f"≤ {TARGET_BYTES} B",
            f"max {worst:.0f} B (the hub's tab receiving; every tab receiving the hub)",
            None if math.isnan(worst) else worst <= TARGET_BYTES,
        )
    )
    if receivers is not None:
        out.append(
            Target(
                f"Receivers of a user in {receivers.conversations:,} conversations",
                f"≤ {TARGET_RECEIVERS_MS:g} ms",
                f"median {receivers.median_ms:.2f} ms, p99 {receivers.p99_ms:.2f} ms "
                f"({receivers.receivers:,} users)",
                receivers.median_ms <= TARGET_RECEIVERS_MS,
            )
        )
    storm = app.storm_seconds
    out.append(
        Target(
            f"Reconnect storm of {size} tabs converged",
            f"≤ {TARGET_STORM_S:g} s",
            "not converged" if storm is None else f"{storm:.2f} s",
            None if app.storm_reopen_seconds is None else storm is not None and storm <= TARGET_STORM_S,
        )
    )
    out.append(
        Target(
            "Correct: every change reached every receiver, maps equal the truth, no leak",
            "all runs",
            ", ".join(f"{t} {n}: {'yes' if r.correct else 'NO'}" for (t, n), r in sorted(results.items())),
            all(r.correct for r in results.values()),
        )
    )
    return out


def ms(value: float) -> str:
    """Milliseconds for the page ("—" for none)."""
    return "—" if value is None or math.isnan(value) else f"{value:.1f} ms"
