"""Tabs that show the same thing hold one copy of it (`chatapp.copies.OneCopy`): the
presence entries snapshots give (`views.shared_entry`) and the list rows page loads give
(`ChatState._show_inbox`); never a value that differs from what the viewer may see."""

from __future__ import annotations

from types import SimpleNamespace

from chatapp.copies import OneCopy
from chatapp.presence.views import shared_entry
from chatapp.services import conversations, inbox, messages
from chatapp.states.chat_state import ChatState


def entry(uid: int = 17, *, status: str = "online", last_seen: int | None = 1_000, v: int = 1) -> dict:
    return {"type": "presence", "user_id": uid, "status": status, "last_seen_at": last_seen, "v": v}


def test_an_equal_value_is_given_as_the_copy_given_before():
    copies: OneCopy[dict] = OneCopy()
    first = copies.share("slot", {"a": 1})
    assert copies.share("slot", {"a": 1}) is first


def test_a_changed_value_is_given_as_itself_and_the_copy_given_before_is_left_alone():
    copies: OneCopy[dict] = OneCopy()
    before = copies.share("slot", {"a": 1})
    after = copies.share("slot", {"a": 2})
    assert after == {"a": 2}
    assert before == {"a": 1}  # a tab holding it still shows what it was given
    assert copies.share("slot", {"a": 2}) is after


def test_values_of_different_slots_are_never_mixed_up():
    copies: OneCopy[dict] = OneCopy()
    assert copies.share(1, {"user_id": 1}) == {"user_id": 1}
    assert copies.share(2, {"user_id": 2}) == {"user_id": 2}


def test_it_holds_at_most_its_limit():
    copies: OneCopy[dict] = OneCopy(limit=3)
    for slot in range(10):
        copies.share(slot, {"slot": slot})
    assert len(copies) <= 3
    assert copies.share(9, {"slot": 9}) == {"slot": 9}


def test_a_presence_entry_is_shared_with_its_key_and_never_across_hidden_last_seen():
    copies: OneCopy = OneCopy()
    key, seen = shared_entry(copies, entry(last_seen=1_000))
    assert key == "17"
    hidden_key, hidden = shared_entry(copies, entry(last_seen=None))
    assert hidden["last_seen_at"] is None
    again_key, again = shared_entry(copies, entry(last_seen=1_000))
    assert again is seen and again_key is key
    assert shared_entry(copies, entry(last_seen=None))[1] is hidden
    assert hidden_key == key


def _shown(box: inbox.Inbox) -> SimpleNamespace:
    """What a tab's `ChatState` shows of an inbox (its list's part)."""
    tab = SimpleNamespace()
    ChatState._show_inbox(tab, box)
    return tab


def test_tabs_whose_users_see_the_same_row_hold_one_copy_and_a_direct_chats_sides_their_own(session, people):
    team = conversations.create_group(
        session, user_id=people["alice"], title="Team", member_usernames=["bob", "carol"]
    )
    direct, _ = conversations.open_direct(session, user_id=people["alice"], other_username="bob")
    messages.send(session, author_id=people["alice"], conversation_id=direct, body="hi")
    alice, alice_again, bob = (
        _shown(inbox.inbox_of(session, user_id=people[name])) for name in ("alice", "alice", "bob")
    )
    assert bob.conversation_rows[str(team)] is alice.conversation_rows[str(team)]
    assert bob.row_members[str(team)] is alice.row_members[str(team)]
    # A direct chat's row differs by side (its title is the other person)...
    assert alice.conversation_rows[str(direct)]["title"] != bob.conversation_rows[str(direct)]["title"]
    # ...and a user's tabs share theirs.
    assert alice_again.conversation_rows[str(direct)] is alice.conversation_rows[str(direct)]

    messages.send(session, author_id=people["bob"], conversation_id=team, body="news")
    later = _shown(inbox.inbox_of(session, user_id=people["carol"]))
    assert later.conversation_rows[str(team)]["preview"] == "news"
    assert alice.conversation_rows[str(team)]["preview"] != "news"  # what alice's tab was given
