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
