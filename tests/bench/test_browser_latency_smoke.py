"""Smoke test of the browser latency benchmark: a quick run completes and is well formed.

It runs `python -m bench.browser_latency` in quick mode, which starts its own production
app (on its own database) and Chromium, and checks the results' shape and the states the
peer's screen ended in. No timing is asserted: speed goals are shown by the benchmark
(docs/presence-latency.md), never asserted in tests.
"""

from __future__ import annotations

import json
import math

import pytest

from bench.browser_latency.stats import summary
from tests.support import run_benchmark

TRIALS = 3


def _positive(values: list[float]) -> bool:
    return all(isinstance(v, int | float) and math.isfinite(v) and v > 0 for v in values)


@pytest.mark.e2e
def test_a_quick_run_measures_every_scenario(tmp_path):
    out, raw = tmp_path / "latency.md", tmp_path / "latency.json"
    command = ["-m", "bench.browser_latency", "--trials", str(TRIALS), "--out", str(out), "--json", str(raw)]
    run_benchmark([*command], timeout=170)
    results = json.loads(raw.read_text())

    toggle = results["away_toggle"]
    assert len(toggle["samples_ms"]) == TRIALS
    assert len(toggle["own_status_ms"]) == TRIALS
    assert _positive(toggle["samples_ms"]) and _positive(toggle["own_status_ms"])
    assert [t["observed"] for t in toggle["per_trial"]] == [t["expected"] for t in toggle["per_trial"]]
    assert [t["expected"] for t in toggle["per_trial"]] == ["away", "online", "away"]
    assert toggle["final_status"] == toggle["expected_final_status"] == "away"

    close = results["tab_close"]
    assert len(close["samples_ms"]) == len(close["minus_grace_ms"]) == TRIALS
    assert _positive(close["samples_ms"])
    assert close["observed"] == ["offline"] * TRIALS
    assert close["final_status"] == "offline"

    default = results["reload_default_grace"]
    assert default["reloads"] == len(default["reload_ms"]) == TRIALS
    assert _positive(default["reload_ms"])
    assert default["offline_shown"] == 0, default["statuses_seen"]
    assert default["final_status"] == "online"

    zero = results["reload_zero_grace"]
    assert zero["grace_s"] == 0
    assert zero["reloads"] == len(zero["reload_ms"]) == TRIALS
    assert _positive(zero["reload_ms"]) and _positive(zero["blink_ms"])
    assert len(zero["blink_ms"]) >= zero["reloads_that_blinked"]
    assert zero["final_status"] == "online"

    text = out.read_text()
    assert "| Away toggle: A clicks → B's dot changes (DOM) | 3 |" in text
    assert results["machine"]["reflex"] in text and results["machine"]["chromium"] in text
    assert "linear interpolation between the two nearest ranks" in text


def test_percentiles_interpolate_between_the_nearest_ranks_as_on_the_other_pages():
    figures = summary([float(v) for v in range(1, 11)])
    assert figures["median"] == 5.5
    assert math.isclose(figures["p95"], 9.55) and math.isclose(figures["p99"], 9.91)
    assert (figures["n"], figures["min"], figures["max"]) == (10, 1.0, 10.0)
