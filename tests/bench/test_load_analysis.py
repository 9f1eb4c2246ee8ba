"""How the load benchmark matches a change with its arrival at each receiving tab: in
time, late (a user's last change, after the window), superseded, or missing."""

from __future__ import annotations

from bench.load import analysis
from bench.load.plan import Change

HUB = 1


def _records(arrivals_by_tab: dict[int, list[tuple[float, int, str]]]) -> dict:
    return {
        tab: {
            "arrivals": [(at, uid, status, 100) for at, uid, status in arrivals],
            "leaks": [],
            "other_frames": 0,
            "other_bytes": 0,
        }
        for tab, arrivals in arrivals_by_tab.items()
    }


def _analyse(changes: list[Change], receivers: dict[int, list[int]], records: dict) -> analysis.PhaseStats:
    t0 = {c.id: 10.0 + c.at for c in changes}
    return analysis.analyse(changes, receivers, t0, records, grace=1.5, hub_tab=0, window=2.0)


def test_the_last_change_arriving_after_the_window_is_a_late_delivery_with_its_latency():
    change = Change(1, "wide", 0.0, HUB, "away", "away")
    records = _records({5: [(10.5, HUB, "away")], 6: [(16.0, HUB, "away")], 7: []})

    stats = _analyse([change], {1: [5, 6, 7]}, records)

    assert stats.deliveries == 2
    assert stats.late == [(1, 6)]
    assert stats.missing == [(1, 7)]  # nothing arrived at all
    assert sorted(round(ms) for ms in stats.latency_ms) == [500, 6000]
    assert stats.fanout_ms == [6000.0]
    assert not stats.complete


def test_a_change_followed_by_another_is_never_matched_past_its_window():
    """Its status may come again with a later change of the same user: an arrival after
    the window is not taken as its delivery (missing, or superseded if the next came)."""
    first = Change(1, "wide", 0.0, HUB, "away", "away")
    second = Change(2, "wide", 1.0, HUB, "back", "online")
    third = Change(3, "wide", 2.0, HUB, "away", "away")
    records = _records({5: [(11.2, HUB, "online"), (12.5, HUB, "away")], 6: [(16.0, HUB, "away")]})

    stats = _analyse([first, second, third], {1: [5, 6], 2: [5, 6], 3: [5, 6]}, records)

    assert (1, 5) in stats.superseded  # went straight to the next change
    assert (1, 6) in stats.missing  # its status came only after the window: the third's
    assert (2, 6) in stats.superseded
    assert stats.late == [(3, 6)]  # the last change, after its window


def test_records_taken_later_extend_the_ones_held():
    held = _records({5: [(10.5, HUB, "away")]})
    analysis.extend(held, _records({5: [(16.0, HUB, "online")], 6: [(17.0, HUB, "away")]}))

    assert [a[:3] for a in held[5]["arrivals"]] == [(10.5, HUB, "away"), (16.0, HUB, "online")]
    assert [a[:3] for a in held[6]["arrivals"]] == [(17.0, HUB, "away")]
