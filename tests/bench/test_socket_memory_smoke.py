"""Smoke test of the socket memory benchmark: a quick run completes, and every tab of both
waves connected, loaded its page signed in, and closed.

It runs `python -m bench.socket_memory` with 20 tabs and a tab-state TTL of 2 s, which
starts the app in production mode (on its own database, with the benchmark's probe on its
PYTHONPATH), opens and closes two waves of tabs from two client processes, samples the
worker's memory for a few seconds after each, and writes its page and JSON into a
temporary directory. No memory figure or timing is asserted: those are what the benchmark
reports (docs/socket-memory.md), never what a test checks.
"""

from __future__ import annotations

import json

import pytest

from bench.socket_memory import seed
from tests.support import run_benchmark

TABS = 20
QUICK = [
    *("--sessions", str(TABS), "--ttls", "2", "--reflex-expiry", "0"),
    *("--watch", "4", "--interval", "2", "--settle", "0.5", "--client-procs", "2"),
]


@pytest.mark.integration
def test_a_quick_run_opens_and_closes_every_tab_of_both_waves(tmp_path):
    page, raw = tmp_path / "socket-memory.md", tmp_path / "results.json"
    run_benchmark(["-m", "bench.socket_memory", *QUICK, "--out", str(page), "--json", str(raw)], timeout=170)
    results = json.loads(raw.read_text())["results"]
    assert [r["label"] for r in results] == ["TTL 2 s"]
    run = results[0]
    assert len(run["waves"]) == 2
    for wave in run["waves"]:
        # Every tab's socket opened, its page loaded and showed its user signed in; every
        # tab closed again.
        assert wave["failed"] == []
        assert wave["connected"] == wave["loaded"] == wave["signed_in"] == TABS
        assert wave["still_connected"] == 0 and wave["close_errors"] == []
    assert run["server_errors"] == [] and run["complete"] is True
    phases = [s["phase"] for s in run["samples"]]
    assert phases[:3] == ["before", "open", "closed"] and phases[-1] == "trimmed"
    assert {"open again", "closed again"} <= set(phases)
    # The probe inside the server answered every sample.
    assert all("states" in s["inside"] and "malloc" in s["inside"] for s in run["samples"])
    text = page.read_text()
    assert "# Socket memory benchmark" in text and "## Summary" in text


def test_each_user_has_their_tabs_one_login_and_their_nearest_contacts():
    who = seed.people(users=10, contacts=4)
    assert who.contacts[1] == [2, 3, 9, 10]  # a ring: two before, two after
    assert all(len(near) == 4 and uid not in near for uid, near in who.contacts.items())
    assert all(uid in who.contacts[other] for uid, near in who.contacts.items() for other in near)
    tabs = who.tabs(per_user=2, total=19)
    assert [index for index, *_ in tabs] == list(range(19))
    by_user = {}
    for _, uid, token, _ in tabs:
        by_user.setdefault(uid, set()).add(token)
    assert all(tokens == {who.tokens[uid]} for uid, tokens in by_user.items())  # one login each
    assert sum(1 for _, uid, _, _ in tabs if uid == 10) == 1  # the last user gets what is left
