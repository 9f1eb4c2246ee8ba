"""Figures from the samples: the summary of each measurement and the recommended grace.

Percentiles are `bench.load.analysis.percentile` (linear interpolation between the two
nearest ranks), as on every other benchmark page.
"""

from __future__ import annotations

import math
from typing import Any

from bench.load import analysis


def summary(samples: list[float]) -> dict[str, float]:
    """Count, min, median, p95, p99 and max of the samples (ms): `bench.load.analysis.summary`
    (its p50 as the median) with the minimum."""
    figures = analysis.summary(samples)
    return {
        "n": figures["n"],
        "min": min(samples) if samples else math.nan,
        "median": figures["p50"],
        "p95": figures["p95"],
        "p99": figures["p99"],
        "max": figures["max"],
    }


def recommend_grace(blink: dict[str, float], default_s: float) -> dict[str, Any]:
    """A grace of at least 3x the p99 blink, rounded up to the next 0.25 s."""
    if not blink["n"]:
        return {"recommended_s": None, "default_s": default_s, "basis_ms": None}
    floor_ms = 3 * blink["p99"]
    recommended = max(0.25, math.ceil(floor_ms / 250) * 0.25)
    return {
        "recommended_s": recommended,
        "default_s": default_s,
        "basis_ms": floor_ms,
        "default_over_p99": default_s * 1000 / blink["p99"] if blink["p99"] else math.inf,
    }
