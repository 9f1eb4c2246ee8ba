"""How the results page writes a figure in a table cell."""

from __future__ import annotations

import math
from collections.abc import Sequence

from bench.load.analysis import summary


def ms(value: float) -> str:
    """Milliseconds, one decimal ("—": none measured)."""
    return "—" if math.isnan(value) else f"{value:.1f}"


def percentiles(values: Sequence[float]) -> list[str]:
    """The p50, p95, p99 and max of some milliseconds, a cell each."""
    figures = summary(values)
    return [ms(figures[q]) for q in ("p50", "p95", "p99", "max")]


def mean_max(values: list) -> str:
    """The mean and the max of some sizes ("—": none)."""
    return "—" if not values else f"{sum(values) / len(values):.0f} / {max(values):.0f}"


def met(ok: bool | None) -> str:
    """Whether a target was met ("—": not measured)."""
    return "—" if ok is None else ("yes" if ok else "**no**")
