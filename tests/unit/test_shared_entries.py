"""Snapshots give tabs one copy of each presence entry (`views.SharedEntries`), and
never one that differs from what the viewer may see."""

from __future__ import annotations

from chatapp.presence.views import SharedEntries


def entry(uid: int = 7, *, status: str = "online", last_seen: int | None = 1_000, v: int = 1) -> dict:
    return {"type": "presence", "user_id": uid, "status": status, "last_seen_at": last_seen, "v": v}


def test_an_equal_entry_is_given_as_the_copy_given_before_with_its_key():
    shared = SharedEntries()
    key, first = shared.share(entry())
    again_key, again = shared.share(entry())
    assert again is first
    assert again_key is key == "7"


def test_a_changed_entry_is_given_as_itself_and_the_copy_given_before_is_left_alone():
    shared = SharedEntries()
    _, online = shared.share(entry())
    _, away = shared.share(entry(status="away", v=2))
    assert away["status"] == "away"
    assert online == entry()  # a tab holding it still shows what it was given
    assert shared.share(entry(status="away", v=2))[1] is away


def test_an_entry_without_last_seen_is_never_given_one_nor_the_other_way_round():
    shared = SharedEntries()
    _, seen = shared.share(entry(last_seen=1_000))
    _, hidden = shared.share(entry(last_seen=None))
    assert hidden["last_seen_at"] is None
    assert shared.share(entry(last_seen=1_000))[1] is seen
    assert shared.share(entry(last_seen=None))[1] is hidden


def test_entries_of_different_users_are_never_shared():
    shared = SharedEntries()
    assert shared.share(entry(uid=1))[1]["user_id"] == 1
    assert shared.share(entry(uid=2))[1]["user_id"] == 2


def test_it_holds_at_most_its_limit():
    shared = SharedEntries(limit=3)
    for uid in range(10):
        shared.share(entry(uid=uid))
    assert len(shared._held) <= 3
    assert shared.share(entry(uid=9))[1] == entry(uid=9)
