"""What the sections of the messages phase's steps (read receipts, typing) share: the
rows of their targets."""

from __future__ import annotations

from typing import Any

from bench.load.analysis import summary
from bench.load.cells import mean_max, met, ms


def step_targets(
    done: list[tuple[str, int, Any]],
    *,
    latency: str,
    goal_ms: float,
    frame: str,
    frame_bytes: int,
    correct: str,
) -> list[list[str]]:
    """A step's targets against the largest run of the app: its latency's p99, the bytes
    of its frames, and whether every run was complete.

    Args:
        done: (server, tabs, the step's figures) of each run that has the step, by size
            (`message_report.runs`); the figures have `latency_ms`, `bytes`, `complete`.
        latency: What the latency measures (the size is added).
        goal_ms: The most its p99 may be.
        frame: What the bytes measure.
        frame_bytes: The size every frame stays under.
        correct: What a complete run is.
    """
    apps = [(n, r) for t, n, r in done if t == "app"]
    if not apps:
        return []
    size, r = apps[-1]
    lat = summary(r.latency_ms)
    return [
        [
            f"{latency}, {size} tabs",
            f"p99 ≤ {goal_ms:g} ms",
            f"p50 {ms(lat['p50'])} ms, p95 {ms(lat['p95'])} ms, p99 {ms(lat['p99'])} ms",
            met(lat["p99"] <= goal_ms if lat["n"] else None),
        ],
        [
            frame,
            f"< {frame_bytes} B",
            f"mean / max {mean_max(r.bytes)} B",
            met(max(r.bytes) < frame_bytes if r.bytes else None),
        ],
        [
            correct,
            "all runs",
            ", ".join(f"{t} {n}: {'yes' if s.complete else 'NO'}" for t, n, s in done),
            met(all(s.complete for _, _, s in done)),
        ],
    ]
