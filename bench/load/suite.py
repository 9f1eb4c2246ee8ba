"""Every run of a benchmark: each size against each server, and the receivers timing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import wait_for_quiet
from bench.load import run as run_mod
from bench.load.config import LoadConfig
from bench.load.receivers import ReceiversTiming, time_receivers
from bench.load.run import RunResult


@dataclass
class Suite:
    """The results of a benchmark.

    Attributes:
        results: (server, tabs) → its run.
        receivers: The receivers timing (None when not measured).
    """

    results: dict[tuple[str, int], RunResult] = field(default_factory=dict)
    receivers: ReceiversTiming | None = None

    @property
    def correct(self) -> bool:
        """Every run was complete and correct."""
        return bool(self.results) and all(r.correct for r in self.results.values())


def run_suite(
    config: LoadConfig,
    sizes: Sequence[int],
    targets: Sequence[str] = ("app", "floor"),
    *,
    receivers_repetitions: int = 1000,
    max_load: float = 0.0,
    profile_dir: Path | None = None,
    profile_format: str = "flamegraph",
    log: Callable[[str], None] = print,
) -> Suite:
    """Run each size against each server, then time the receivers query.

    Args:
        config: The workload (its `sessions` is replaced by each size).
        sizes: Numbers of tabs.
        targets: "app" and/or "floor".
        receivers_repetitions: Calls of the receivers query to time (0: skip it).
        max_load: Before each run, wait until the load average is at most this (0: never wait).
        profile_dir: Where to write py-spy profiles of each server's phases (None: none).
        profile_format: py-spy's output format.
        log: Where progress goes.
    """
    suite = Suite()
    for size in sizes:
        templates = None  # the app's message JSON, which the floor forwards in its turn
        for target in targets:
            wait_for_quiet(max_load, timeout=900, log=log)
            log(f"{target}, {size} tabs")
            result = run_mod.run(
                target,
                config.with_sessions(size),
                profile_dir=profile_dir,
                profile_format=profile_format,
                templates=templates,
                log=log,
            )
            if result.messages is not None and result.messages.samples.get("entry"):
                templates = dict(result.messages.samples)
                templates["typing"] = result.typing.sample if result.typing else None
            suite.results[(target, size)] = result
            log(f"  {target}, {size} tabs: {'correct' if result.correct else 'NOT CORRECT'}")
    if receivers_repetitions > 0:
        log("timing the receivers query")
        suite.receivers = time_receivers(config.with_sessions(max(sizes)), receivers_repetitions)
    return suite
