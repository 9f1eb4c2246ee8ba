"""Smoke test of the presence and messages load benchmark: a quick run against the app and
the floor completes, with complete and correct results.

It runs `python -m bench.load` with 20 tabs, which starts the app in production mode (on
its own database) and the bare socket.io floor, drives a few changes of every kind
through simulated tabs in two client processes, then sends a few messages (with some
history and long conversation lists seeded), times a few reads to their receipts at
the other members' tabs and a few typers' starts and stops at the other members' tabs,
and writes its page and plot into a temporary directory. No timing is asserted: speed is
what the benchmark reports (docs/benchmarks.md), never what a test checks.
"""

from __future__ import annotations

import json

import pytest

from bench.load import graph, message_plan, plan, receipt_plan, typing_plan
from bench.load.config import LoadConfig
from tests.support import run_benchmark

QUICK = [
    *("--sessions", "20", "--hub-contacts", "50"),
    *("--changes", "12", "--rate", "3", "--seed", "2", "--grace", "0.5"),
    *("--wide-changes", "2", "--wide-gap", "0.5", "--settle", "1.5", "--idle", "1"),
    *("--client-procs", "2", "--receivers-reps", "50", "--max-load", "0"),
    *("--messages", "6", "--message-rate", "3", "--history", "20", "--list-size", "60"),
    *("--receipt-rounds", "3", "--typing-rounds", "3"),
]
# The messages phase of that run, as the benchmark plans it.
QUICK_CONFIG = LoadConfig(
    sessions=20,
    hub_contacts=50,
    seed=2,
    messages=6,
    message_rate=3,
    history=20,
    list_size=60,
    receipt_rounds=3,
    typing_rounds=3,
)


@pytest.mark.integration
def test_a_quick_run_against_the_app_and_the_floor_is_complete_and_correct(tmp_path):
    page, plot, raw = tmp_path / "benchmarks.md", tmp_path / "latency.png", tmp_path / "results.json"
    run_benchmark(
        [
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
        timeout=240,
    )
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
        # The storm's peak memory is reported, and is at least what the open tabs held.
        assert run["server"]["storm_peak_rss_mb"] >= run["server"]["rss_connected_mb"] > 0, target
        # ... and so are the clients' own lag, the sockets lost again and those refused.
        assert 0 <= run["server"]["storm_client_lag_s"] < 60, target
        assert run["server"]["storm_dropped_again"] >= 0 and run["server"]["storm_refused"] >= 0, target
        assert run["truth_checked"] > 0 and run["truth_mismatches"] == [], target
        assert run["correct"] is True, target
        # The same workload on both servers.
        assert main["deliveries"] == runs["app"]["main"]["deliveries"], target
        _check_messages(target, run["messages"])
        _check_receipts(target, run["receipts"])
        _check_typing(target, run["typing"])

    assert results["receivers"]["conversations"] == 50
    assert results["receivers"]["receivers"] == 50
    text = page.read_text()
    assert "# Presence benchmark" in text and "## Targets" in text
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "## Messages" in text
    assert "## Read receipts" in text and "| Read → receipt at every other member's tab" in text
    assert "## Typing" in text and "| Keystroke → typing at every other member's tab" in text
    # The app's entry is what the floor forwards.
    assert runs["app"]["typing"]["sample"] and len(runs["app"]["typing"]["sample"]) == 3


def _check_messages(target: str, messages: dict) -> None:
    """Every member's tab got each message exactly once, nobody else anything, bytes recorded."""
    phase = message_plan.make(graph.build(QUICK_CONFIG), QUICK_CONFIG)
    receivers = sum(len(phase.member_tabs(m.conversation)) - 1 for m in phase.messages)
    assert messages["messages"] == messages["sent"] == len(phase.messages) == 6, target
    assert messages["missing"] == [] and messages["duplicates"] == [], target
    assert messages["leaks"] == [] and messages["errors"] == [], target
    assert messages["reloads"] == 0, target  # no socket dropped: nothing was sent twice for that
    assert messages["deliveries"] == len(messages["latency_ms"]) == receivers > 0, target
    assert len(messages["echo_ms"]) == 6, target  # each back at its sender's tab, once
    assert messages["body_bytes"] == QUICK_CONFIG.message_bytes, target
    # The size of what brought each message, at the tabs showing the conversation and at
    # the tabs where it is a row of the list.
    for kind in ("bytes_open", "bytes_list", "per_message_open", "per_message_list"):
        assert messages[kind] and all(size > 0 for size in messages[kind]), (target, kind)
    assert len(messages["bytes_open"]) + len(messages["bytes_list"]) == receivers, target
    # The tabs showing a conversation report that their user sees them: the members read
    # each message as it arrives, and the others' tabs showing it get their receipts.
    assert messages["receipt_frames"] > 0 and messages["receipt_bytes"] > 0, target
    if target == "app":
        # The list tabs loaded the long lists, the other tabs the history.
        assert messages["held_rows"][0] >= QUICK_CONFIG.list_size, messages["held_rows"]
        assert messages["held_messages"][0] >= QUICK_CONFIG.history, messages["held_messages"]
        assert messages["entries_at_list_tabs"] == 0


def _check_receipts(target: str, receipts: dict) -> None:
    """Every read's receipt reached every other member's tab showing the conversation once,
    and no other tab got a receipt."""
    world = graph.build(QUICK_CONFIG)
    reads = receipt_plan.make(world, message_plan.make(world, QUICK_CONFIG), QUICK_CONFIG)
    expected = sum(len(read.receivers) for read in reads)
    assert receipts["reads"] == receipts["made"] == len(reads) > 0, target
    assert receipts["rounds"] == QUICK_CONFIG.receipt_rounds, target
    assert receipts["expected"] == receipts["receipts"] == expected, target
    assert len(receipts["latency_ms"]) == len(receipts["bytes"]) == expected, target
    assert len(receipts["latency_sender_ms"]) == len(receipts["fanout_ms"]) == len(reads), target
    assert receipts["missing"] == [] and receipts["duplicates"] == [], target
    assert receipts["leaks"] == [] and receipts["errors"] == [], target
    assert all(size > 0 for size in receipts["bytes"]), target


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


def test_the_messages_phase_messages_members_of_disjoint_conversations_with_long_lists():
    config = LoadConfig(sessions=1000, hub_contacts=1000)
    world = graph.build(config)
    phase = message_plan.make(world, config)
    kinds = list(phase.kinds.values())
    assert kinds.count("direct") == kinds.count("group") == config.message_convs // 2
    members = [uid for ids in phase.conversations.values() for uid in ids]
    assert len(members) == len(set(members))  # no user in two
    for cid, ids in phase.conversations.items():
        tabs = {tab for uid in ids for tab in world.tabs_of(uid)}
        assert set(phase.member_tabs(cid)) == tabs
        assert sum(phase.open_tabs.get(tab) == cid for tab in tabs) == len(ids)  # one each
        for uid in ids:  # a list of list_size conversations
            mine = sum(uid in m for _, m in world.conversations) + sum(u == uid for u in phase.solo.values())
            assert mine >= config.list_size
    # The one-member groups add no contact: the presence workload is unchanged.
    assert all(phase.members(cid) == {uid} for cid, uid in phase.solo.items())
    assert len(phase.messages) == config.messages
    for message in phase.messages:
        assert phase.open_tabs[message.sender_tab] == message.conversation
        assert len(message.body) == config.message_bytes and 8 <= len(message.key) <= 64
    assert len({m.key for m in phase.messages}) == config.messages


def _check_typing(target: str, typing: dict) -> None:
    """Every typer's start and stop reached every tab of every other member once (showing
    the conversation or on the list), and no other tab (a non-member's, the typer's own)
    got a typing entry."""
    world = graph.build(QUICK_CONFIG)
    phase = message_plan.make(world, QUICK_CONFIG)
    typings = typing_plan.make(world, phase, QUICK_CONFIG)
    expected = sum(len(t.receivers) for t in typings)
    assert typing["typings"] == typing["started"] == typing["stopped"] == len(typings) > 0, target
    assert typing["rounds"] == QUICK_CONFIG.typing_rounds, target
    assert typing["expected"] == typing["shown"] == typing["gone"] == expected, target
    assert len(typing["latency_ms"]) == len(typing["gone_ms"]) == expected, target
    assert len(typing["bytes"]) == 2 * expected and all(size > 0 for size in typing["bytes"]), target
    assert len(typing["fanout_ms"]) == len(typings), target
    # The list tabs are told too.
    assert 0 < len(typing["latency_list_ms"]) < expected, target
    assert typing["missing"] == [] and typing["duplicates"] == [], target
    assert typing["leaks"] == [] and typing["other_frames"] == 0 and typing["errors"] == [], target
    for t in typings:
        assert t.typer_tab not in t.receivers and phase.open_tabs[t.typer_tab] == t.conversation
        assert set(t.receivers) == set(phase.member_tabs(t.conversation)) - set(world.tabs_of(t.typer))


@pytest.mark.integration
@pytest.mark.services
def test_a_quick_run_against_two_instances_on_redis_and_postgres_is_correct_and_counts_redis(tmp_path):
    """`--instances 2`: two production instances on a Redis of the run's own and a fresh
    PostgreSQL database, a user's tabs spread over both; the same workload as one
    instance, every change delivered and every map right, and Redis's share measured."""
    raw = tmp_path / "results.json"
    quick = [*QUICK[: QUICK.index("--messages")], "--no-messages", "--targets", "floor", "--instances", "2"]
    out = ["--out", str(tmp_path / "page.md"), "--plot", str(tmp_path / "p.png"), "--json", str(raw)]
    run_benchmark(["-m", "bench.load", *quick, *out], timeout=300)
    runs = {run["target"]: run for run in json.loads(raw.read_text())["results"]}
    assert set(runs) == {"floor", "app@2"}
    two = runs["app@2"]
    assert two["correct"] is True
    assert two["main"]["made"] == 12 and two["main"]["missing"] == [] and two["main"]["leaks"] == []
    assert two["main"]["deliveries"] == runs["floor"]["main"]["deliveries"]
    # The push channel was tapped on Redis (nothing lost, so nothing unpublished to name).
    assert two["main"]["unpublished"] == [] and runs["floor"]["main"]["unpublished"] is None
    assert two["server"]["redis_commands_per_change"] > 0
    assert two["server"]["redis_bytes_per_change"] > 0
    assert "## Several instances" in (tmp_path / "page.md").read_text()
