"""The rate-limit windows, with a fixed clock."""

from __future__ import annotations

import pytest

from chatapp.services.limits import RateLimited, SlidingWindow


def test_a_window_allows_up_to_the_limit_then_refuses_with_when_to_retry():
    window = SlidingWindow(limit=3, window=10.0)
    for t in (0.0, 1.0, 2.0):
        window.take("tab", t, "messages")
    with pytest.raises(RateLimited, match=r"Too many messages\. Try again in 8 s\."):
        window.take("tab", 2.5, "messages")
    assert window.retry_after("tab", 2.5) == pytest.approx(7.5)


def test_a_window_frees_a_slot_as_the_oldest_event_ages_out():
    window = SlidingWindow(limit=2, window=10.0)
    window.take("tab", 0.0, "x")
    window.take("tab", 5.0, "x")
    assert window.retry_after("tab", 9.9) > 0
    assert window.retry_after("tab", 10.0) == 0
    window.take("tab", 10.0, "x")
    with pytest.raises(RateLimited):
        window.take("tab", 10.1, "x")


def test_keys_are_limited_separately():
    window = SlidingWindow(limit=1, window=60.0)
    window.take("a", 0.0, "x")
    window.take("b", 0.0, "x")
    with pytest.raises(RateLimited):
        window.take("a", 1.0, "x")


def test_forget_clears_a_keys_history():
    window = SlidingWindow(limit=1, window=60.0)
    window.hit("user", 0.0)
    assert window.retry_after("user", 1.0) > 0
    window.forget("user")
    assert window.retry_after("user", 1.0) == 0
