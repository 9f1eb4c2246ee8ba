"""A (re)connecting tab's page loads in one Reflex event (`reflex_adapter.hydrate.
load_inline`): its hydrate's snapshot, then one frame with everything its on_load handler
loaded and `is_hydrated`, and whatever events the handler returned (a redirect, the
composer's resend). Reflex's own way took three more events after the hydrate
(`on_load_internal`, the handler, `set_is_hydrated`), each with a frame of its own.

A navigation inside the app sends Reflex's `on_load_internal` without a hydrate: it still
loads the page, Reflex's way.
"""

from __future__ import annotations

import pytest

from bench.reflex_client import ReflexClient
from chatapp import wire
from tests.integration.messaging import seed_history
from tests.integration.support import open_tab
from tests.support import auth_token_for, direct_pair, run_async

_HYDRATED = "is_hydrated_rx_state_"
_ROWS = wire.keyed_prefix(wire.CONVERSATION_ROWS)
_PRESENCE = wire.keyed_prefix(wire.PRESENCE_MAP)
_MESSAGES = wire.keyed_prefix(wire.MESSAGE_MAP)


def _frames(client: ReflexClient, since: int) -> list[dict]:
    """The updates (each a frame) the tab got since its `since`-th, those with a delta."""
    return [u for u in client.updates[since:] if u.get("delta")]


def _vars(update: dict) -> dict:
    merged: dict = {}
    for changes in update["delta"].values():
        merged.update(changes)
    return merged


def _messages(changes: dict) -> list[str]:
    return [k for k in changes if k.startswith(_MESSAGES)]


def _redirects(updates: list[dict]) -> list[str]:
    return [
        (e.get("payload") or {}).get("path")
        for u in updates
        for e in u.get("events") or []
        if e.get("name") == "_redirect"
    ]


def _resends(updates: list[dict]) -> int:
    return sum(
        "chatappComposer?.resend" in str(e.get("payload"))
        for u in updates
        for e in u.get("events") or []
        if e.get("name") == "_call_script"
    )


def _load_frames(frames: list[dict]) -> tuple[dict, dict]:
    """The snapshot and the frame that ends the page load (`is_hydrated` false, then
    true), checking that no other frame of the load says either."""
    flags = [v for v in (_vars(f) for f in frames) if _HYDRATED in v]
    assert [v[_HYDRATED] for v in flags] == [False, True], [sorted(v) for v in flags]
    return flags[0], flags[1]


def test_the_home_page_loads_in_its_hydrate_one_frame_after_the_snapshot(backend_url):
    a_id, b_id, cid = direct_pair("oea", "oeb")

    async def scenario():
        tab = ReflexClient(backend_url, auth_token_for(a_id))
        await tab.connect()
        try:
            await tab.load("/")  # a new tab's page load: the hydrate, as the frontend sends it
            return _frames(tab, 0)
        finally:
            await tab.disconnect()

    frames = run_async(scenario())
    snapshot, loaded = _load_frames(frames)
    assert f"{_ROWS}{cid}" not in snapshot  # a new tab's state: nothing loaded yet
    # The list and the presence of the other member come with the hydrated flag.
    assert loaded[f"{_ROWS}{cid}"]["id"] == cid
    assert loaded[f"{_PRESENCE}{b_id}"]["status"] == "offline"
    # Beyond the snapshot and that frame, only the browser's storage (the login token).
    assert [sorted(_vars(f)) for f in frames[1:-1]] == [["auth_token_rx_state_"]]


def test_a_conversation_page_loads_its_messages_and_resends_in_the_same_event(backend_url):
    a_id, b_id, cid = direct_pair("oec", "oed")
    seed_history(cid, [a_id, b_id], 2)

    async def scenario():
        tab = ReflexClient(backend_url, auth_token_for(a_id))
        await tab.connect()
        try:
            await tab.load(f"/c/{cid}")
            # After the delta, as Reflex routes a handler's events.
            await tab.wait_for(lambda: _resends(tab.updates))
            return _frames(tab, 0), tab.updates
        finally:
            await tab.disconnect()

    frames, updates = run_async(scenario())
    _, loaded = _load_frames(frames)
    # The newest page of messages (the two the pair wrote) comes with the hydrated flag.
    assert len(_messages(loaded)) == 2
    # The composer's resend (a frontend event the handler returns) reaches the tab, once.
    assert _resends(updates) == 1


def test_a_signed_out_tab_is_sent_to_the_login_page_by_its_hydrate(backend_url):
    async def scenario():
        tab = ReflexClient(backend_url, "not-a-login")
        await tab.connect()
        try:
            await tab.load("/")
            await tab.wait_for(lambda: _redirects(tab.updates))
            return tab.updates
        finally:
            await tab.disconnect()

    updates = run_async(scenario())
    assert _redirects(updates) == ["/login"]
    assert not [k for u in updates if u.get("delta") for k in _vars(u) if k.startswith((_ROWS, _PRESENCE))]


def test_a_navigation_without_a_hydrate_still_loads_the_page_reflexs_way(backend_url):
    a_id, b_id, cid = direct_pair("oee", "oef")
    seed_history(cid, [a_id, b_id], 2)

    async def scenario():
        tab = await open_tab(backend_url, a_id, "/", seeing=False)
        try:
            before = len(tab.updates)
            tab.hydrated = False
            await tab.emit(wire.ON_LOAD_INTERNAL, {}, path=f"/c/{cid}")
            await tab.wait_for(lambda: tab.hydrated)
            return _frames(tab, before)
        finally:
            await tab.disconnect()

    frames = run_async(scenario())
    assert any(_messages(_vars(f)) for f in frames)
    assert _vars(frames[-1]).get(_HYDRATED) is True
    # Reflex's way: the page's handler and the hydrated flag come in frames of their own.
    assert not _messages(_vars(frames[-1]))


@pytest.mark.app_error("the list could not be read")
def test_a_page_load_that_raises_still_hydrates_the_tab_and_tells_it(backend_url, monkeypatch):
    """As Reflex's own way, where the handler and `set_is_hydrated` were events of their
    own: the error goes to the backend exception handler (the tab gets its toast), what
    loaded before it reaches the tab, and the page is hydrated (a tab left unhydrated
    would never save its browser storage again)."""
    from chatapp.services import inbox

    a_id, b_id, cid = direct_pair("oeg", "oeh")
    real = inbox.inbox_of

    def failing(session, *, user_id, only=None):
        if user_id == a_id:
            raise RuntimeError("the list could not be read")
        return real(session, user_id=user_id, only=only)

    monkeypatch.setattr(inbox, "inbox_of", failing)

    async def scenario():
        tab = ReflexClient(backend_url, auth_token_for(a_id))
        await tab.connect()
        try:
            await tab.load("/")
            await tab.wait_for(lambda: "An error occurred" in str(tab.updates))
            return _frames(tab, 0), tab.updates
        finally:
            await tab.disconnect()

    frames, updates = run_async(scenario())
    _, loaded = _load_frames(frames)
    # The session opened before the list failed: the peer's presence came with the flag.
    assert loaded[f"{_PRESENCE}{b_id}"]["status"] == "offline"
    assert f"{_ROWS}{cid}" not in loaded
    told = [e for u in updates for e in u.get("events") or [] if "An error occurred" in str(e)]
    assert len(told) == 1, told
