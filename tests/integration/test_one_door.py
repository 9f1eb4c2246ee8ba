"""The only event handlers a browser can reach are the app's own, each guarded, and a
username or password passes one set of rules whichever way it comes in."""

from __future__ import annotations

import json

import pytest
import reflex as rx
import sqlalchemy as sa

from bench.reflex_client import ReflexClient
from chatapp.models import Profile, User
from chatapp.wire import AUTH_FORM_STATE, ROOT_STATE
from tests.support import create_user, run_async

# Every handler of the whole state tree, by state, that a socket may name. Reflex's own:
# the page's loading and hydration, its on_load dispatcher, and `setvar`, which every
# state has and which only calls the state's own `set_*` handlers (checked below).
ALLOWED = {
    "State": {"hydrate", "hydrate_and_load", "set_is_hydrated", "setvar"},
    "OnLoadInternalState": {"on_load_internal", "set_is_hydrated", "setvar"},
    "UpdateVarsInternalState": {"update_vars_internal", "setvar"},
    "FrontendEventExceptionState": {"handle_frontend_exception", "setvar"},
    "SharedStateBaseInternal": {"setvar"},
    "SessionState": {"setvar"},
    "AuthFormState": {"redirect_if_signed_in", "log_in", "sign_up", "setvar"},
    "AppState": {
        "logout",
        "logout_everywhere",
        "set_idle",
        "set_status",
        "set_hide_last_seen",
        "set_presence_audience",
        "set_share_typing",
        "set_custom_open",
        "set_custom_status",
        "clear_custom_status",
        "setvar",
    },
    "AccountState": {"set_password_open", "change_password", "setvar"},
    "ChatState": {
        "load_home",
        "load_conversation",
        "load_older",
        "send_message",
        "clear_error",
        "start_edit",
        "cancel_edit",
        "ask_delete",
        "cancel_delete",
        "save_edit",
        "delete_message",
        "set_seeing",
        "set_muted",
        "set_read_receipts",
        "accept_request",
        "block_peer",
        "unblock_peer",
        "setvar",
    },
    "GroupsState": {
        "set_direct_open",
        "set_group_open",
        "start_direct_with",
        "create_group",
        "add_members",
        "leave_group",
        "setvar",
    },
    "TypingState": {"set_typing", "set_rows_in_view", "setvar"},
    "PeopleState": {"search_people", "pick_person", "unpick_person", "reset_people", "setvar"},
}


def _tree() -> dict[str, type[rx.State]]:
    """Every state class registered in the app, by class name."""
    from chatapp.chatapp import app  # noqa: F401  (registers the app's states)

    found, stack = {}, [rx.State]
    while stack:
        state = stack.pop()
        found[state.__name__] = state
        stack.extend(state.get_substates())
    return found


def test_every_reachable_event_handler_is_on_the_allowlist():
    tree = _tree()
    reachable = {name: set(state.event_handlers) for name, state in tree.items()}
    assert reachable.keys() == ALLOWED.keys(), "a state a browser could call is not on the allowlist"
    extra = {
        name: sorted(found - ALLOWED[name]) for name, found in reachable.items() if found - ALLOWED[name]
    }
    missing = {
        name: sorted(ALLOWED[name] - found) for name, found in reachable.items() if ALLOWED[name] - found
    }
    # A public method of a state is an event handler to Reflex: a helper meant for other
    # states (not `_`-prefixed) is reachable from any browser, unguarded.
    assert extra == {}, "handlers a browser could call, not on the allowlist"
    assert missing == {}, "handlers on the allowlist that no longer exist"
    for name, state in tree.items():
        # `setvar` calls `set_<name>` on the state, its own or inherited from a parent.
        allowed = set().union(*(ALLOWED[c.__name__] for c in state.__mro__ if c.__name__ in ALLOWED))
        setters = {attr for attr in dir(state) if attr.startswith("set_")}
        assert setters <= allowed, f"setvar on {name} reaches {setters - allowed}"
    assert not any("local_auth" in state.get_full_name() for state in tree.values())


def _accounts() -> int:
    with rx.session() as session:
        return session.exec(sa.select(sa.func.count()).select_from(User)).one()[0]


@pytest.mark.hostile_client
def test_the_former_library_handlers_are_refused_and_create_nothing(backend_url):
    _, victim = create_user("victim")
    before = _accounts()
    gone = [
        (
            f"{ROOT_STATE}.reflex_local_auth___login____login_state.on_submit",
            {"form_data": {"username": victim, "password": "guess"}},
        ),
        (
            f"{ROOT_STATE}.reflex_local_auth___registration____registration_state.handle_registration",
            {"form_data": {"username": "Vic_x", "password": "1", "confirm_password": "1"}},
        ),
    ]

    async def scenario():
        tab = ReflexClient(backend_url)
        await tab.connect()
        await tab.load("/login")
        for name, payload in gone:
            await tab.emit(name, payload, "/login")
        await tab.load("/login")  # a round trip: the two were processed before it
        await tab.disconnect()
        return json.dumps(tab.updates)

    wire = run_async(scenario())
    assert _accounts() == before
    assert "auth_token" not in wire or '"auth_token_rx_state_": ""' in wire


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("v\u0456c_x", "long enough pw"),  # a Cyrillic i
        ("vic\u200b_x", "long enough pw"),  # zero-width space
        ("<img src=x onerror=alert(1)>", "long enough pw"),
        ("v" * 305, "long enough pw"),
        ("vic_ok_name", "1"),  # too short a password
        ("vic_ok_name", "p" * 129),
    ],
)
def test_sign_up_on_the_wire_follows_the_same_rules_as_the_form(backend_url, username, password):
    before = _accounts()

    async def scenario():
        tab = ReflexClient(backend_url)
        await tab.connect()
        await tab.load("/signup")
        form = {"username": username, "display_name": "Vic", "password": password, "confirm": password}
        await tab.emit(f"{AUTH_FORM_STATE}.sign_up", {"form_data": form}, "/signup")
        await tab.load("/signup")
        await tab.disconnect()
        return json.dumps(tab.updates)

    wire = run_async(scenario())
    assert "must be" in wire  # told why, in words
    assert _accounts() == before
    with rx.session() as session:  # and never an account without its profile
        orphans = session.exec(
            sa.select(sa.func.count())
            .select_from(User)
            .outerjoin(Profile, Profile.user_id == User.id)
            .where(Profile.user_id.is_(None))
        ).one()[0]
    assert orphans == 0
