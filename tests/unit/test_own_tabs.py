"""The tabs an instance holds, found by user: the index stays right through a tab
taken over by another account, an idle flag changed, a close and a release."""

from __future__ import annotations

from dataclasses import replace

from chatapp.presence.logic import Tab
from chatapp.presence.redis_registry import OwnTabs


def test_tabs_are_found_by_their_users_only():
    own = OwnTabs()
    for token, uid in [("t1", 1), ("t2", 1), ("t3", 2), ("t4", 3)]:
        own.put(Tab(token=token, sid=f"s-{token}", user_id=uid))
    assert sorted(own.tokens_of([1, 3, 9])) == ["t1", "t2", "t4"]
    assert own.tokens_of([1, 1]) == own.tokens_of([1])  # a user named twice: tabs once
    assert own.users() == {1, 2, 3}


def test_a_token_taken_over_by_another_account_leaves_the_first_users_tabs():
    own = OwnTabs()
    own.put(Tab(token="t1", sid="s1", user_id=1))
    own.put(Tab(token="t1", sid="s2", user_id=2))
    assert own.tokens_of([1]) == [] and own.tokens_of([2]) == ["t1"]
    assert own.users() == {2} and len(own) == 1


def test_a_changed_tab_a_closed_one_and_a_release_keep_the_index_right():
    own = OwnTabs()
    tab = Tab(token="t1", sid="s1", user_id=1)
    own.put(tab)
    own.put(Tab(token="t2", sid="s2", user_id=1))
    own.put(replace(tab, idle=True))
    assert own.get("t1").idle and sorted(own.tokens_of([1])) == ["t1", "t2"]
    assert own.drop("t1") is not None and own.drop("t1") is None
    assert own.tokens_of([1]) == ["t2"]
    own.drop("t2")
    assert own.users() == set() and own.values() == []
    own.put(tab)
    own.clear()
    assert own.tokens_of([1]) == [] and len(own) == 0
