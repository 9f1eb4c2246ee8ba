"""A mass drop of sockets stretches the grace of its closes; ordinary closes keep it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chatapp.presence.drops import MassDrops

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
GRACE = timedelta(seconds=1.5)
STRETCHED = timedelta(seconds=30)


def _drops() -> MassDrops:
    return MassDrops(window=timedelta(seconds=2), burst=5, stretched=STRETCHED)


def test_closes_spread_over_time_keep_the_grace():
    drops = _drops()
    graces = [drops.grace_for_close(NOW + timedelta(seconds=i), GRACE) for i in range(20)]
    assert graces == [GRACE] * 20


def test_a_burst_of_closes_stretches_the_grace_from_the_burst_on_and_ends_with_it():
    drops = _drops()
    burst = [drops.grace_for_close(NOW + timedelta(milliseconds=10 * i), GRACE) for i in range(8)]
    assert burst == [GRACE] * 4 + [STRETCHED] * 4
    later = drops.grace_for_close(NOW + timedelta(seconds=10), GRACE)
    assert later == GRACE  # the burst is over: a close on its own keeps the grace


def test_a_grace_longer_than_the_stretched_one_is_kept():
    drops = _drops()
    long = timedelta(seconds=60)
    assert [drops.grace_for_close(NOW, long) for _ in range(6)] == [long] * 6


def test_on_a_big_instance_a_burst_is_a_share_of_its_sockets():
    """2,000 sockets: 60 closes within the window are a busy second, not a mass drop
    (their users show offline after the ordinary grace); a quarter of them is one."""
    held = 2000
    drops = MassDrops(
        window=timedelta(seconds=2), burst=50, stretched=STRETCHED, share=0.25, still_open=lambda: held
    )
    graces = []
    for i in range(600):
        held -= 1  # the instance holds one socket fewer with each close
        graces.append(drops.grace_for_close(NOW + timedelta(milliseconds=i), GRACE))
    assert graces[:60] == [GRACE] * 60
    first = graces.index(STRETCHED)
    assert first + 1 == 500  # the 500th close of 2,000 sockets within 2 s
    assert graces[first:] == [STRETCHED] * (600 - first)


def test_on_a_small_instance_the_fewest_closes_still_make_the_burst():
    window = timedelta(seconds=2)
    drops = MassDrops(window=window, burst=5, stretched=STRETCHED, share=0.25, still_open=lambda: 4)
    assert [drops.grace_for_close(NOW, GRACE) for _ in range(6)] == [GRACE] * 4 + [STRETCHED] * 2


LONGEST = timedelta(seconds=120)
LULL = timedelta(seconds=5)


def _storm(tokens: int = 10) -> tuple[MassDrops, datetime]:
    """A mass drop of `tokens` tabs t0, t1, ... closing within 90 ms; returns the drops
    and the time of the last close."""
    drops = MassDrops(window=timedelta(seconds=2), burst=5, stretched=STRETCHED, longest=LONGEST, lull=LULL)
    closes = [NOW + timedelta(milliseconds=10 * i) for i in range(tokens)]
    for i, at in enumerate(closes):
        drops.grace_for_close(at, GRACE, f"t{i}")
    return drops, closes[-1]


def test_an_offline_of_the_drop_is_put_off_while_its_tabs_keep_coming_back():
    drops, last = _storm()
    at = last + STRETCHED  # the stretched grace is over
    drops.came_back("t1", at - timedelta(seconds=1))
    assert drops.put_off(last, at) == at + LULL
    # No tab of the drop back within the lull: the storm is over, the offline is due.
    assert drops.put_off(last, at + LULL + timedelta(seconds=1)) is None


def test_an_offline_is_never_put_off_past_the_longest():
    drops, last = _storm()
    limit = last + LONGEST
    drops.came_back("t1", limit - timedelta(seconds=1))
    assert drops.put_off(last, limit - timedelta(seconds=2)) == limit
    assert drops.put_off(last, limit) is None


def test_a_close_before_the_drop_was_recognized_gets_the_stretched_grace():
    drops, _ = _storm()
    first = NOW  # t0 closed with the ordinary grace: the burst was not yet a drop
    assert drops.put_off(first, first + GRACE) == first + STRETCHED


def test_returns_of_tabs_outside_the_drop_do_not_put_offlines_off():
    """A busy instance's ordinary reloads are no storm: only the drop's own tabs count."""
    drops, last = _storm()
    at = last + STRETCHED
    drops.came_back("reloaded-elsewhere", at - timedelta(seconds=1))
    assert drops.put_off(last, at) is None


def test_a_close_outside_the_drop_is_not_put_off():
    drops, last = _storm()
    drops.came_back("t1", last + timedelta(seconds=40))
    later = last + timedelta(seconds=10)  # an ordinary close after the drop
    assert drops.put_off(later, later + GRACE) is None
    assert drops.put_off(NOW - timedelta(seconds=1), last + timedelta(seconds=41)) is None


def test_without_a_longest_the_stretched_grace_is_the_end():
    drops = MassDrops(window=timedelta(seconds=2), burst=5, stretched=STRETCHED)
    for i in range(8):
        drops.grace_for_close(NOW, GRACE, f"t{i}")
    drops.came_back("t1", NOW + STRETCHED)
    assert drops.put_off(NOW, NOW + STRETCHED) is None


def test_a_tab_of_the_drop_is_taken_back_as_long_as_its_offline_may_be_put_off():
    """A shared registry keeps a closed tab's record for a time fixed at the close; the
    put-off is decided only when the grace ends, so a drop's tab is kept for the longest."""
    drops, _ = _storm()
    assert drops.taken_back_for("t7", STRETCHED) == LONGEST
    assert drops.taken_back_for("other", GRACE) == GRACE  # not in the drop
    drops.came_back("t7", NOW + timedelta(seconds=3))
    assert drops.taken_back_for("t7", GRACE) == GRACE  # back: a later close is an ordinary one


def test_the_tabs_closed_before_the_drop_was_recognized_are_told_once_to_be_kept_longer():
    """With burst 5, t0-t3 closed as ordinary closes (taken back for their grace only);
    t4's close made them a drop: they are to be kept as long as its other tabs."""
    drops, _ = _storm()
    assert drops.kept_short() == {"t0", "t1", "t2", "t3"}
    assert drops.kept_short() == set()  # told once
    assert drops.taken_back_for("t0", GRACE) == LONGEST
