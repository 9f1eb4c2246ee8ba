"""The people picker's search over the websocket, against the running app: what reaches
the browser, the rate limit, and what a signed-out or forging client gets."""

from __future__ import annotations

import json

from bench.reflex_client import ReflexClient
from chatapp import wire
from chatapp.services import limits
from chatapp.states.people import PeopleState
from tests.integration.support import open_tab
from tests.support import create_user, run_async

PICK_PERSON = f"{wire.PEOPLE_STATE}.pick_person"


def _usernames(client: ReflexClient, var: str = "people_results") -> list[str] | None:
    people = client.latest(wire.PEOPLE_STATE, var)
    return None if people is None else [p["username"] for p in people]


def _error(client: ReflexClient) -> str | None:
    return client.latest(wire.PEOPLE_STATE, "people_error")


async def _search(client: ReflexClient, query: str) -> None:
    await client.emit(wire.SEARCH_PEOPLE, {"query": query})


def test_the_wire_names_of_the_picker_are_reflexs():
    assert PeopleState.get_full_name() == wire.PEOPLE_STATE
    assert f"{PeopleState.get_full_name()}.search_people" == wire.SEARCH_PEOPLE
    for handler in ("search_people", "pick_person", "unpick_person", "reset_people"):
        assert handler in PeopleState.event_handlers


def test_a_search_sends_each_person_as_id_username_and_display_name_only(backend_url):
    viewer_id, _ = create_user("seeker")
    found_id, found_name = create_user("foundling", "Fiona Foundling")

    async def scenario():
        tab = await open_tab(backend_url, viewer_id)
        mark = len(tab.raw_frames)
        await _search(tab, f"  {found_name.upper()} ")
        await tab.wait_for(lambda: _usernames(tab) == [found_name])
        await tab.disconnect()
        return tab.raw_frames[mark:]

    frames = [f for f in run_async(scenario()) if isinstance(f, str) and "people_results" in f]
    assert len(frames) == 1
    frame = frames[0]
    _, update = json.loads(frame[frame.index("[") :])
    results = update["delta"][wire.PEOPLE_STATE]["people_results_rx_state_"]
    assert results == [{"user_id": found_id, "username": found_name, "display_name": "Fiona Foundling"}]
    for secret in ("password", "$2b$", "enabled", "last_seen", "created_at"):
        assert secret not in frame


def test_the_search_after_the_limit_is_refused_with_a_visible_error_and_the_results_stay(backend_url):
    viewer_id, _ = create_user("flooder")
    _, first = create_user("first")
    _, second = create_user("second")
    allowed = limits.PEOPLE_SEARCH.amount  # 30 a minute

    async def scenario():
        tab = await open_tab(backend_url, viewer_id)
        mark = len(tab.updates)
        # The last search allowed is for `first`, the one refused for `second`.
        queries = [second if (allowed - i) % 2 else first for i in range(1, allowed + 1)] + [second]
        for query in queries:
            await _search(tab, query)
        # A tab's events are handled in order: the refusal comes last.
        await tab.wait_for(lambda: (_error(tab) or "").startswith("Too many"))
        answers = tab.updates[mark:]
        await tab.load()  # the whole state again, as a reload shows it
        await tab.disconnect()
        return tab, answers

    tab, answers = run_async(scenario())
    assert sum(_results_sent(update) for update in answers) == allowed
    assert _error(tab).startswith("Too many searches. Try again in")
    assert _usernames(tab) == [first]  # what the last search allowed found, still shown


def _results_sent(update: dict) -> int:
    sub = (update.get("delta") or {}).get(wire.PEOPLE_STATE) or {}
    return int("people_results_rx_state_" in sub)


def test_a_signed_out_client_searches_nothing(backend_url):
    _, hidden_name = create_user("hidden", "Hidden Person")

    async def scenario():
        tab = ReflexClient(backend_url)  # no login token
        await tab.connect()
        await tab.load("/")
        await _search(tab, hidden_name)
        await tab.emit(PICK_PERSON, {"user_id": 1})
        await tab.load("/")  # a round trip: the search was handled before it
        await tab.disconnect()
        return tab

    tab = run_async(scenario())
    wire_text = json.dumps(tab.updates)
    assert hidden_name not in wire_text
    assert "Hidden Person" not in wire_text
    assert tab.latest(wire.PEOPLE_STATE, "people_results") in (None, [])
    assert tab.latest(wire.PEOPLE_STATE, "people_picked") in (None, [])
    assert '"/login"' in wire_text  # it was sent to the log-in form instead


def test_only_a_person_from_the_results_can_be_picked_and_only_once(backend_url):
    viewer_id, _ = create_user("picker")
    shown_id, shown_name = create_user("shown", "Shown Person")
    other_id, other_name = create_user("notshown", "Secret Name")

    async def scenario():
        tab = await open_tab(backend_url, viewer_id)
        await _search(tab, shown_name)
        await tab.wait_for(lambda: _usernames(tab) == [shown_name])
        await tab.emit(PICK_PERSON, {"user_id": other_id})  # a real user, never shown
        await tab.emit(PICK_PERSON, {"user_id": viewer_id})
        await tab.load()  # a round trip
        refused = tab.latest(wire.PEOPLE_STATE, "people_picked")
        await tab.emit(PICK_PERSON, {"user_id": shown_id})
        await tab.wait_for(lambda: _usernames(tab, "people_picked") == [shown_name])
        await tab.emit(PICK_PERSON, {"user_id": shown_id})  # again
        await tab.load()
        await tab.disconnect()
        return tab, refused

    tab, refused = run_async(scenario())
    assert refused in (None, [])
    assert _usernames(tab, "people_picked") == [shown_name]  # once
    assert _usernames(tab) == []  # a picked person leaves the results
    wire_text = json.dumps(tab.updates)
    assert other_name not in wire_text
    assert "Secret Name" not in wire_text
