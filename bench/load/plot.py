"""The plot of the results page: latency percentiles against tabs, app and floor."""

from __future__ import annotations

from pathlib import Path

from bench.load.analysis import summary
from bench.load.run import RunResult
from bench.load.targets import TARGET_P50_MS, TARGET_P99_MS


def plot(results: dict[tuple[str, int], RunResult], path: Path) -> None:
    """Latency percentiles against tabs, the app and the floor side by side (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, target in zip(axes, ("app", "floor"), strict=True):
        sizes = sorted(n for t, n in results if t == target)
        for q, style in (("p50", "o-"), ("p95", "s--"), ("p99", "^:")):
            values = [summary(results[(target, n)].main.latency_ms)[q] for n in sizes]
            ax.plot(sizes, values, style, label=q)
        ax.set_title("the app (Reflex, prod mode)" if target == "app" else "the floor (bare python-socketio)")
        ax.set_xlabel("connected tabs")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("change → arrival (ms, log scale)")
    for ax in axes:
        ax.axhline(TARGET_P50_MS, color="green", linewidth=0.8, alpha=0.6)
        ax.axhline(TARGET_P99_MS, color="red", linewidth=0.8, alpha=0.6)
    fig.suptitle("Presence latency, main phase (green: p50 target, red: p99 target)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
