"""Changes another instance can make (`delivery.portable`): the recipe a change carries
makes, after the round trip through JSON that the push channel gives it, a change with
the same effect; a name is one factory's; only the instances that did not make a change
make it from the channel."""

from __future__ import annotations

import json

import pytest

from chatapp import delivery
from chatapp.delivery import Push, from_recipe, portable
from chatapp.reflex_adapter.tabs import TabChange
from chatapp.states.app_state import AppState, custom_status_change, presence_change
from chatapp.states.chat_state import message_posted, read_up_to, receipt_seen
from chatapp.states.typing import typing_change

CHANGES = [
    presence_change({"user_id": 4, "status": "away", "v": 2, "last_seen": None}),
    custom_status_change(4, ["🌴", "On leave", None]),
    custom_status_change(4, None),
    typing_change(9, "9-4", [9, 4, 1_700_000_000_000]),
    typing_change(9, "9-4", None),
    read_up_to(9, 31),
    receipt_seen(9, {"user_id": 4, "seq": 31, "at_ms": 1_700_000_000_000}),
]


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: c.recipe[0])
def test_a_recipe_through_json_makes_a_change_with_the_same_delta(change):
    wired = json.loads(json.dumps(change.recipe))
    again = from_recipe(wired)
    assert again.state is change.state
    assert again.delta == change.delta
    assert again.recipe == (change.recipe[0], tuple(wired[1]))


def test_a_new_message_through_json_gives_every_kind_of_tab_the_same_delta():
    view = {"id": 70, "conversation_id": 9, "author_id": 4, "author_name": "Ann", "body": "hi"}
    row = {"id": 9, "kind": "direct", "title": "Ann", "peer_id": 4, "seq": 3, "preview": "hi"}
    change = message_posted({**view, "created_ms": 5, "seq": 3}, {"5": row})
    again = from_recipe(json.loads(json.dumps(change.recipe)))
    assert again.recipe == change.recipe
    for variant in [("open", 5, True), ("open", 5, False), ("row", 5, False)]:
        assert again.delta(variant) == change.delta(variant)
    assert "hi" in json.dumps(change.delta(("open", 5, True)))


def test_presence_from_a_recipe_changes_a_state_as_the_original_does():
    data = {"user_id": 4, "status": "away", "v": 2}
    made = AppState(_reflex_internal_init=True)
    from_recipe(json.loads(json.dumps(presence_change(data).recipe))).apply(made)
    assert made.presence_map["4"] == data


def test_two_factories_cannot_share_a_name():
    with pytest.raises(ValueError, match="presence"):
        portable("presence")(lambda data: TabChange(AppState, apply=lambda s: None))


def test_a_portable_change_takes_positional_arguments_only():
    with pytest.raises(TypeError, match="positional"):
        read_up_to(conversation_id=1, seq=2)


def test_an_instance_makes_only_what_other_instances_published(monkeypatch):
    push = Push(app=None, directory=None, instance_id="me")  # type: ignore[arg-type]
    made: list = []
    monkeypatch.setattr(push, "soon", made.append)
    change = read_up_to(9, 31)
    push.received(json.dumps({"from": "me", "users": [1], "recipe": change.recipe, "skip": None}))
    assert made == []
    push.received(json.dumps({"from": "other", "users": [1], "recipe": change.recipe, "skip": None}))
    assert len(made) == 1
    made[0].close()  # the delivery coroutine, not run here


def test_a_message_no_factory_knows_is_logged_and_makes_nothing(monkeypatch, caplog):
    push = Push(app=None, directory=None, instance_id="me")  # type: ignore[arg-type]
    made: list = []
    monkeypatch.setattr(push, "soon", made.append)
    push.received(json.dumps({"from": "other", "users": [1], "recipe": ["no such change", []], "skip": None}))
    assert made == []
    assert any("could not be read" in r.getMessage() for r in caplog.records)
    assert "no such change" not in delivery._RECIPES
