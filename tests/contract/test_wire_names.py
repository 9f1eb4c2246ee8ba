"""The names raw clients send (chatapp.wire) are the names Reflex gives the app's states
and handlers: a renamed state or handler fails here, not in a silent benchmark."""

from __future__ import annotations

from reflex.state import OnLoadInternalState

from chatapp import wire
from chatapp.chatapp import app  # noqa: F401  (every state registered, as in the app)
from chatapp.states.account import AccountState
from chatapp.states.app_state import PRESENCE, AppState
from chatapp.states.auth import AuthFormState
from chatapp.states.chat_state import ChatState
from chatapp.states.groups import GroupsState
from chatapp.states.people import PeopleState
from chatapp.states.session import SessionState
from chatapp.states.typing import TypingState


def test_state_names_are_reflexs():
    assert SessionState.get_full_name() == wire.SESSION_STATE
    assert AppState.get_full_name() == wire.APP_STATE
    assert AuthFormState.get_full_name() == wire.AUTH_FORM_STATE
    assert ChatState.get_full_name() == wire.CHAT_STATE
    assert AccountState.get_full_name() == wire.ACCOUNT_STATE
    assert GroupsState.get_full_name() == wire.GROUPS_STATE
    assert PeopleState.get_full_name() == wire.PEOPLE_STATE
    assert TypingState.get_full_name() == wire.TYPING_STATE
    assert SessionState.get_parent_state().get_full_name() == wire.ROOT_STATE


def test_event_names_name_real_handlers():
    for event, (state, handler) in {
        wire.LOG_IN: (AuthFormState, "log_in"),
        wire.SET_STATUS: (AppState, "set_status"),
        wire.SET_IDLE: (AppState, "set_idle"),
        wire.SEND_MESSAGE: (ChatState, "send_message"),
        wire.LOAD_OLDER: (ChatState, "load_older"),
        wire.SET_SEEING: (ChatState, "set_seeing"),
        wire.SET_TYPING: (TypingState, "set_typing"),
        wire.SET_ROWS_IN_VIEW: (TypingState, "set_rows_in_view"),
        wire.SET_READ_RECEIPTS: (ChatState, "set_read_receipts"),
        wire.SET_PRESENCE_AUDIENCE: (AppState, "set_presence_audience"),
        wire.SET_SHARE_TYPING: (AppState, "set_share_typing"),
        wire.SET_HIDE_LAST_SEEN: (AppState, "set_hide_last_seen"),
        wire.SET_CUSTOM_STATUS: (AppState, "set_custom_status"),
        wire.SEARCH_PEOPLE: (PeopleState, "search_people"),
    }.items():
        assert event == f"{state.get_full_name()}.{handler}"
        assert handler in state.event_handlers, event
    assert f"{SessionState.get_full_name()}.auth_token" == wire.AUTH_TOKEN
    assert f"{OnLoadInternalState.get_full_name()}.on_load_internal" == wire.ON_LOAD_INTERNAL
    assert "on_load_internal" in OnLoadInternalState.event_handlers


def test_presence_entries_travel_under_the_wire_key():
    delta = PRESENCE.delta("42", {"user_id": 42, "status": "online"})
    assert delta == {AppState.get_full_name(): {"presence_map.42": {"user_id": 42, "status": "online"}}}
    assert wire.keyed_entry(wire.PRESENCE_MAP, 42) == "presence_map.42"
