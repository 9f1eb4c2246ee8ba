"""Smoke test of `python -m bench.line_cost`: a small run measures both kinds of line at
each size asked for, and every waiter not cancelled was served (the run ends). No time is
asserted: the figures are what the benchmark reports (docs/instances.md)."""

from __future__ import annotations

import json

from tests.support import run_benchmark


def test_a_small_run_measures_both_lines_at_each_size(tmp_path):
    raw = tmp_path / "line.json"
    run_benchmark(["-m", "bench.line_cost", "--waiters", "10,200", "--json", str(raw)], timeout=60)
    rows = json.loads(raw.read_text())["rows"]
    assert [row["waiters"] for row in rows] == [10, 200]
    for row in rows:
        assert set(row) == {"waiters", "asyncio.Semaphore", "Line"}
        assert all(row[kind] >= 0 for kind in ("asyncio.Semaphore", "Line"))
