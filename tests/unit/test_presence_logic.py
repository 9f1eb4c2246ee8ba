"""The pure presence rules, with fixed timezone-aware UTC times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from chatapp.presence.logic import (
    PresenceData,
    Status,
    Tab,
    aggregate,
    epoch_ms,
    newer,
)

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def _tab(token: str, *, idle: bool = False, user_id: int = 1) -> Tab:
    return Tab(token=token, sid=f"sid-{token}", user_id=user_id, idle=idle)


# aggregate ----------------------------------------------------------------------------


def test_aggregate_no_tabs_is_offline():
    assert aggregate([], chosen=None) == Status.OFFLINE


def test_aggregate_no_tabs_is_offline_even_when_chosen_away():
    assert aggregate([], chosen="away") == Status.OFFLINE


def test_aggregate_single_active_tab_is_online():
    assert aggregate([_tab("a")], chosen=None) == Status.ONLINE


def test_aggregate_online_when_any_of_several_tabs_is_active():
    tabs = [_tab("a", idle=True), _tab("b", idle=False), _tab("c", idle=True)]
    assert aggregate(tabs, chosen=None) == Status.ONLINE


def test_aggregate_away_when_every_tab_is_idle():
    tabs = [_tab("a", idle=True), _tab("b", idle=True), _tab("c", idle=True)]
    assert aggregate(tabs, chosen=None) == Status.AWAY


def test_aggregate_chosen_away_beats_active_tabs():
    tabs = [_tab("a", idle=False), _tab("b", idle=False)]
    assert aggregate(tabs, chosen="away") == Status.AWAY


# epoch_ms -----------------------------------------------------------------------------


def test_epoch_ms_of_none_is_none():
    assert epoch_ms(None) is None


def test_epoch_ms_of_utc_datetime():
    assert epoch_ms(T0) == 1_714_564_800_000


def test_epoch_ms_truncates_microseconds_to_milliseconds():
    assert epoch_ms(T0.replace(microsecond=123_999)) == 1_714_564_800_123


def test_epoch_ms_is_the_same_instant_in_any_timezone():
    paris = T0.astimezone(timezone(timedelta(hours=2)))
    assert epoch_ms(paris) == epoch_ms(T0)


def test_epoch_ms_of_unix_epoch_is_zero():
    assert epoch_ms(datetime(1970, 1, 1, tzinfo=UTC)) == 0


# PresenceData -------------------------------------------------------------------------


def _data(status: Status, *, version: int = 7, last_seen_at: int | None = 1_700_000_000_000) -> PresenceData:
    return PresenceData(
        user_id=42,
        username="alice",
        display_name="Alice Liddell",
        status=status,
        last_seen_at=last_seen_at,
        version=version,
    )


def test_presence_data_to_wire_has_every_field():
    assert _data(Status.AWAY).to_wire() == {
        "type": "presence",
        "user_id": 42,
        "username": "alice",
        "name": "Alice Liddell",
        "status": "away",
        "is_online": True,
        "last_seen_at": 1_700_000_000_000,
        "v": 7,
    }


def test_presence_data_to_wire_status_is_a_plain_string():
    wire = _data(Status.ONLINE).to_wire()
    assert type(wire["status"]) is str
    assert wire["status"] == "online"


def test_presence_data_to_wire_offline_never_seen():
    wire = _data(Status.OFFLINE, last_seen_at=None).to_wire()
    assert wire["status"] == "offline"
    assert wire["is_online"] is False
    assert wire["last_seen_at"] is None


def test_presence_data_is_online_when_online():
    assert _data(Status.ONLINE).is_online is True


def test_presence_data_is_online_when_away():
    assert _data(Status.AWAY).is_online is True


def test_presence_data_is_not_online_when_offline():
    assert _data(Status.OFFLINE).is_online is False


# newer --------------------------------------------------------------------------------


def test_newer_replaces_when_nothing_is_held():
    assert newer({"v": 1}, None)


def test_newer_replaces_an_older_version():
    assert newer({"v": 5}, {"v": 4})


def test_newer_keeps_the_held_entry_when_incoming_is_older():
    assert not newer({"v": 4}, {"v": 5})


def test_newer_accepts_the_same_version_again():
    assert newer({"v": 5}, {"v": 5})


def test_newer_with_real_wire_entries_keeps_the_latest_change():
    first = _data(Status.ONLINE, version=100).to_wire()
    second = _data(Status.OFFLINE, version=101).to_wire()
    assert newer(second, first)
    assert not newer(first, second)
