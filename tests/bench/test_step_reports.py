"""The results page's messages, receipts and typing sections list every server that ran
the step: the app in one process, on each number of instances, and the floor."""

from __future__ import annotations

from types import SimpleNamespace

from bench.load.message_report import runs


def test_the_step_tables_list_every_instance_count_between_the_app_and_the_floor():
    results = {
        (t, n): SimpleNamespace(messages=f"{t} {n}", typing=None)
        for t in ("floor", "app@2", "app", "app@10", "app@1")
        for n in (2000, 1000)
    }
    results[("app@4", 1000)] = SimpleNamespace(messages=None, typing=None)  # no messages phase

    listed = [(t, n, m) for t, n, m in runs(results)]

    order = ["app", "app@1", "app@2", "app@10", "floor"]
    assert listed == [(t, n, f"{t} {n}") for n in (1000, 2000) for t in order]
    assert runs(results, "typing") == []
