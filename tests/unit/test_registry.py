"""The in-process registry of open tabs."""

from __future__ import annotations

from chatapp.presence.logic import Tab
from chatapp.presence.registry import LocalRegistry


def _tab(reg: LocalRegistry, token: str, user_id: int = 1) -> Tab | None:
    """The registered tab of the user with this token (None if none)."""
    return next((t for t in reg.tabs_of(user_id) if t.token == token), None)


def test_register_records_the_tab_under_its_token_and_user():
    reg = LocalRegistry()
    tab = Tab(token="t1", sid="s1", user_id=1)
    assert reg.register(tab) is None
    assert _tab(reg, "t1") == tab
    assert reg.tabs_of(1) == [tab]
    assert reg.connected_users() == {1}


def test_register_same_token_again_replaces_the_tab_and_returns_the_old_one():
    reg = LocalRegistry()
    old = Tab(token="t1", sid="s1", user_id=1)
    new = Tab(token="t1", sid="s2", user_id=1)
    reg.register(old)
    assert reg.register(new) == old
    assert _tab(reg, "t1") == new
    assert reg.tabs_of(1) == [new]


def test_unregister_forgets_the_tab():
    reg = LocalRegistry()
    tab = Tab(token="t1", sid="s1", user_id=1)
    reg.register(tab)
    assert reg.unregister("t1", "s1") == tab
    assert _tab(reg, "t1") is None
    assert reg.tabs_of(1) == []
    assert reg.connected_users() == set()


def test_unregister_without_sid_forgets_the_tab_whatever_its_socket():
    reg = LocalRegistry()
    reg.register(Tab(token="t1", sid="s1", user_id=1))
    assert reg.unregister("t1") is not None
    assert _tab(reg, "t1") is None


def test_unregister_unknown_token_returns_none():
    reg = LocalRegistry()
    reg.register(Tab(token="t1", sid="s1", user_id=1))
    assert reg.unregister("nope", "s1") is None
    assert _tab(reg, "t1") is not None


def test_stale_socket_close_does_not_remove_the_reconnected_tab():
    reg = LocalRegistry()
    reg.register(Tab(token="t1", sid="old-sid", user_id=1))
    reconnected = Tab(token="t1", sid="new-sid", user_id=1)
    reg.register(reconnected)
    # The old socket's disconnect arrives after the reconnect.
    assert reg.unregister("t1", "old-sid") is None
    assert _tab(reg, "t1") == reconnected
    assert reg.tabs_of(1) == [reconnected]
    assert reg.connected_users() == {1}


def test_unregister_one_of_two_tabs_keeps_the_user_connected():
    reg = LocalRegistry()
    reg.register(Tab(token="t1", sid="s1", user_id=1))
    t2 = Tab(token="t2", sid="s2", user_id=1)
    reg.register(t2)
    reg.unregister("t1", "s1")
    assert reg.tabs_of(1) == [t2]
    assert reg.connected_users() == {1}


def test_tokens_of_lists_every_tab_of_the_given_users_only():
    reg = LocalRegistry()
    reg.register(Tab(token="a1", sid="s", user_id=1))
    reg.register(Tab(token="a2", sid="s", user_id=1))
    reg.register(Tab(token="b1", sid="s", user_id=2))
    reg.register(Tab(token="c1", sid="s", user_id=3))
    assert sorted(reg.tokens_of([1, 2])) == ["a1", "a2", "b1"]
    assert reg.tokens_of([3]) == ["c1"]


def test_tokens_of_users_without_tabs_is_empty():
    reg = LocalRegistry()
    reg.register(Tab(token="a1", sid="s", user_id=1))
    assert reg.tokens_of([2, 99]) == []
    assert reg.tokens_of([]) == []


def test_set_idle_marks_the_tab_idle_and_back():
    reg = LocalRegistry()
    reg.register(Tab(token="t1", sid="s1", user_id=1))
    updated = reg.set_idle("t1", True)
    assert updated is not None
    assert updated.idle is True
    assert _tab(reg, "t1").idle is True
    assert reg.tabs_of(1)[0].idle is True
    reg.set_idle("t1", False)
    assert _tab(reg, "t1").idle is False
    assert reg.tabs_of(1)[0].idle is False


def test_set_idle_on_unknown_token_returns_none_and_registers_nothing():
    reg = LocalRegistry()
    assert reg.set_idle("ghost", True) is None
    assert reg.connected_users() == set()


def test_set_idle_keeps_the_tab_socket_and_user():
    reg = LocalRegistry()
    reg.register(Tab(token="t1", sid="s1", user_id=7))
    updated = reg.set_idle("t1", True)
    assert (updated.token, updated.sid, updated.user_id) == ("t1", "s1", 7)


def test_connected_users_are_the_users_with_at_least_one_tab():
    reg = LocalRegistry()
    reg.register(Tab(token="a1", sid="s", user_id=1))
    reg.register(Tab(token="b1", sid="s", user_id=2))
    reg.register(Tab(token="b2", sid="s", user_id=2))
    assert reg.connected_users() == {1, 2}
    reg.unregister("b1")
    assert reg.connected_users() == {1, 2}
    reg.unregister("b2")
    assert reg.connected_users() == {1}


def test_same_token_switching_user_moves_the_tab_to_the_new_user():
    reg = LocalRegistry()
    as_alice = Tab(token="t1", sid="s1", user_id=1)
    reg.register(as_alice)
    as_bob = Tab(token="t1", sid="s2", user_id=2)
    assert reg.register(as_bob) == as_alice
    assert reg.tabs_of(1) == []
    assert reg.tabs_of(2) == [as_bob]
    assert reg.connected_users() == {2}
    assert reg.tokens_of([1]) == []


def test_same_token_switching_user_keeps_the_old_users_other_tabs():
    reg = LocalRegistry()
    reg.register(Tab(token="t1", sid="s1", user_id=1))
    other = Tab(token="t2", sid="s2", user_id=1)
    reg.register(other)
    reg.register(Tab(token="t1", sid="s3", user_id=2))
    assert reg.tabs_of(1) == [other]
    assert reg.connected_users() == {1, 2}
