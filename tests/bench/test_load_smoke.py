"""Smoke test of the presence load benchmark: a quick run against the app and the floor
completes, with complete and correct results.

It runs `python -m bench.load` with 20 tabs, which starts the app in production mode (on
its own database) and the bare socket.io floor, drives a few changes of every kind
through simulated tabs in two client processes, and writes its page and plot into a
temporary directory. No timing is asserted: speed is what the benchmark reports
(docs/benchmarks.md), never what a test checks.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.load import graph, plan
from bench.load.config import LoadConfig
from tests.conftest import ROOT

QUICK = [
    *("--sessions", "20", "--hub-contacts", "50"),
    *("--changes", "12", "--rate", "3", "--seed", "2", "--grace", "0.5"),
    *("--wide-changes", "2", "--wide-gap", "0.5", "--settle", "1.5", "--idle", "1"),
    *("--client-procs", "2", "--receivers-reps", "50", "--max-load", "0"),
]


@pytest.mark.integration
def test_a_quick_run_against_the_app_and_the_floor_is_complete_and_correct(tmp_path):
    page, plot, raw = tmp_path / "benchmarks.md", tmp_path / "latency.png", tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.load",
            *QUICK,
            "--out",
            str(page),
            "--plot",
            str(plot),
            "--json",
            str(raw),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert done.returncode == 0, f"the benchmark failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    results = json.loads(raw.read_text())
    runs = {run["target"]: run for run in results["results"]}
    assert set(runs) == {"app", "floor"}

    for target, run in runs.items():
        main, wide = run["main"], run["wide"]
        # Every planned change was made, of every kind, and reached every receiver.
        assert main["made"] == main["changes"] == 12, target
        assert set(main["latency_by_kind"]) == {"away", "back", "disconnect", "connect"}, target
        assert main["missing"] == [] and wide["missing"] == [], target
        assert main["deliveries"] == len(main["latency_ms"]) > 0, target
        assert wide["made"] == 2 and wide["deliveries"] > 0, target
        assert main["errors"] == [] and wide["errors"] == [] and run["open_failures"] == [], target
        assert run["tabs_opened"] == run["tabs_reopened"] == run["sessions"] == 20, target
        # No tab ever heard of a user it shares no conversation with.
        assert main["leaks"] == [] and wide["leaks"] == [], target
        # Every map showed the planned statuses (after the changes, and after every closed
        # tab was opened again), converged again after the storm, and equals a fresh tab's
        # snapshot at the end.
        assert run["final_wrong"] == {}, target
        assert run["storm_seconds"] is not None and run["storm_errors"] == [], target
        assert run["truth_checked"] > 0 and run["truth_mismatches"] == [], target
        assert run["correct"] is True, target
        # The same workload on both servers.
        assert main["deliveries"] == runs["app"]["main"]["deliveries"], target

    assert results["receivers"]["conversations"] == 50
    assert results["receivers"]["receivers"] == 50
    text = page.read_text()
    assert "# Presence benchmark" in text and "## Targets" in text
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_workload_has_the_configured_tabs_users_and_contacts():
    config = LoadConfig(sessions=1000, hub_contacts=1000)
    world = graph.build(config)
    indexes = [index for index, _ in world.tabs]
    assert sorted(indexes) == list(range(1000))  # every tab its own
    assert len(world.users) == 500
    assert max(len(world.tabs_of(uid)) for uid in world.users) == config.max_tabs
    assert len(world.contacts[world.hub]) == 1000
    assert sum(1 for _, members in world.conversations if world.hub in members) == 1000
    changes = plan.make(world, config)
    for change in changes.main:
        watchers = world.watchers(change.user)
        assert all(world.tabs[tab][1] in watchers for tab in changes.receivers[change.id])
    assert graph.build(config).conversations == world.conversations  # the same seed, the same world
