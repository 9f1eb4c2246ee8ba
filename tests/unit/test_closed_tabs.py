"""Closed tabs (`chatapp/presence/closed_tabs.py`), the part both registries share: by
token and by user, oldest first, forgotten when their time is over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chatapp.presence.closed_tabs import ClosedTabs

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_closed_tabs_are_found_by_token_and_by_user():
    closed = ClosedTabs()
    closed.add("a1", 1, _s(5))
    closed.add("b1", 2, _s(5))
    closed.add("a2", 1, _s(6))
    assert closed.get("a2") == (1, _s(6))
    assert closed.tokens_of([1, 2, 1, 3]) == ["a1", "a2", "b1"]
    assert closed.drop("a1") == 1
    assert closed.drop("a1") is None
    closed.drop_user(1)
    assert ("a2" in closed, closed.tokens_of([1]), len(closed)) == (False, [], 1)


def test_forgetting_stops_at_the_oldest_that_still_counts():
    closed = ClosedTabs()
    closed.add("a", 1, _s(1))
    closed.add("b", 2, _s(10))  # a mass drop's: kept longer
    closed.add("c", 3, _s(2))
    closed.forget(lambda _user, until: until > _s(3))
    # "a" is over; "b" still counts, so "c" (closed after it) waits for it
    assert ("a" in closed, "b" in closed, "c" in closed) == (False, True, True)
    closed.forget(lambda _user, until: until > _s(11))
    assert len(closed) == 0


def test_a_tab_kept_longer_keeps_its_place_and_never_shortens():
    closed = ClosedTabs()
    closed.add("a", 1, _s(1))
    closed.add("b", 2, _s(2))
    closed.keep("a", _s(10))
    closed.keep("b", _s(0))  # earlier than it had: unchanged
    assert (closed.get("a"), closed.get("b")) == ((1, _s(10)), (2, _s(2)))
    closed.forget(lambda _user, until: until > _s(5))
    assert ("a" in closed, "b" in closed) == (True, True)  # "b" waits behind "a"


def test_a_tab_closed_again_goes_to_the_end_with_its_new_user():
    closed = ClosedTabs()
    closed.add("a", 1, _s(1))
    closed.add("b", 2, _s(2))
    closed.add("a", 3, _s(3))  # the token's tab logged in as someone else, closed again
    assert (closed.tokens_of([1]), closed.tokens_of([3])) == ([], ["a"])
    closed.forget(lambda _user, until: until > _s(2.5))
    assert ("a" in closed, "b" in closed) == (True, False)
