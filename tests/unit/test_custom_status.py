"""Custom status (`chatapp/services/custom_status.py`): checking, "clear after" with the
time as a parameter, expiry by the server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chatapp.services import custom_status as cs
from chatapp.services.errors import InvalidInput

# A Wednesday, 22:30 UTC.
NOW = datetime(2026, 12, 2, 22, 30, tzinfo=UTC)


def test_clear_after_durations_and_never():
    assert cs.until_for("30m", NOW) == NOW + timedelta(minutes=30)
    assert cs.until_for("1h", NOW) == NOW + timedelta(hours=1)
    assert cs.until_for("4h", NOW) == NOW + timedelta(hours=4)
    assert cs.until_for("never", NOW) is None


def test_today_and_this_week_end_at_the_users_local_midnight():
    assert cs.until_for("today", NOW) == datetime(2026, 12, 3, 0, 0, tzinfo=UTC)
    # In UTC+2 it is already Thursday 00:30: today ends Thursday midnight local (22:00 UTC).
    assert cs.until_for("today", NOW, 120) == datetime(2026, 12, 3, 22, 0, tzinfo=UTC)
    # In UTC-5 it is Wednesday 17:30: midnight local is 05:00 UTC on Thursday.
    assert cs.until_for("today", NOW, -300) == datetime(2026, 12, 3, 5, 0, tzinfo=UTC)
    # The week ends at the start of Monday, local.
    assert cs.until_for("week", NOW) == datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
    sunday_night = datetime(2026, 12, 6, 23, 0, tzinfo=UTC)
    assert cs.until_for("week", sunday_night) == datetime(2026, 12, 7, 0, 0, tzinfo=UTC)


def test_bad_choices_and_zones_are_refused():
    with pytest.raises(InvalidInput):
        cs.until_for("forever", NOW)
    with pytest.raises(InvalidInput):
        cs.until_for("today", NOW, 15 * 60)
    with pytest.raises(InvalidInput):
        cs.until_for("today", NOW, None)  # type: ignore[arg-type]


def test_text_over_the_limit_is_refused_whole_never_cut():
    assert cs.clean(" 🌴 ", "  On   holiday ") == ("🌴", "On holiday")
    assert cs.clean("", "x" * cs.TEXT_MAX) == ("", "x" * cs.TEXT_MAX)
    with pytest.raises(InvalidInput, match="at most 100 characters"):
        cs.clean("", "x" * (cs.TEXT_MAX + 1))
    with pytest.raises(InvalidInput):
        cs.clean("a b", "spaces in the emoji")
    with pytest.raises(InvalidInput):
        cs.clean(None, "not text")  # type: ignore[arg-type]


def test_a_status_ends_at_its_time(session, people):
    alice = people["alice"]
    cs.save(session, alice, cs.CustomStatus("🌴", "On holiday", NOW + timedelta(hours=1)))
    assert cs.of_users(session, [alice], NOW)[alice].text == "On holiday"
    assert cs.of_users(session, [alice], NOW + timedelta(hours=1)) == {}  # ended, not yet cleared
    assert cs.expire_due(session, NOW) == []
    assert cs.expire_due(session, NOW + timedelta(hours=2)) == [alice]
    assert cs.expire_due(session, NOW + timedelta(hours=2)) == []  # cleared once
    assert cs.of_users(session, [alice], NOW) == {}


def test_an_empty_status_clears_and_never_stays(session, people):
    bob = people["bob"]
    cs.save(session, bob, cs.CustomStatus("🎧", "Focusing"))
    assert cs.of_users(session, [bob], NOW + timedelta(days=400))[bob].to_wire() == ["🎧", "Focusing", 0]
    cs.save(session, bob, cs.CustomStatus("", ""))
    assert cs.of_users(session, [bob], NOW) == {}
