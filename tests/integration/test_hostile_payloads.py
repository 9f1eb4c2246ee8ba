"""Malformed websocket payloads from a raw client: the server stays up, nothing leaks,
and other users are not affected. Payloads are generated with hypothesis."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.reflex_client import ReflexClient
from chatapp.wire import APP_STATE, CHAT_STATE, ROOT_STATE
from tests.integration.support import watching
from tests.support import auth_token_for, create_user, direct, run_async

HANDLERS = [
    f"{APP_STATE}.set_status",
    f"{APP_STATE}.set_idle",
    f"{APP_STATE}.handle_presence_changed",
    f"{APP_STATE}._presence_changed",
    f"{APP_STATE}._presence_changed_in_place",
    f"{APP_STATE}.load_session",
    f"{CHAT_STATE}.send_message",
    f"{CHAT_STATE}.set_draft",
    f"{CHAT_STATE}.start_direct",
    f"{CHAT_STATE}.create_group",
    f"{CHAT_STATE}.add_members",
    f"{CHAT_STATE}.leave_group",
    f"{ROOT_STATE}.no_such_handler",
    "not.a.state.at_all",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True),
    st.text(max_size=50),
    st.sampled_from([100_000]).map(lambda n: "x" * n),  # a huge value
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
payloads = st.one_of(
    st.dictionaries(
        st.sampled_from(["choice", "idle", "data", "form_data", "value", "x"]), values, max_size=3
    ),
    values,
)


@pytest.mark.hostile_client
def test_malformed_events_do_not_crash_the_server_or_disturb_other_users(backend_url):
    a_id, _ = create_user("fuzz")
    b_id, b_name = create_user("bystand")
    c_id, _ = create_user("peer")
    direct(c_id, b_name)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(events=st.lists(st.tuples(st.sampled_from(HANDLERS), payloads), min_size=1, max_size=5))
    def fuzz(events):
        async def scenario():
            attacker = ReflexClient(backend_url, auth_token_for(a_id))
            await attacker.connect()
            await attacker.load("/")
            for name, payload in events:
                await attacker.sio.emit(
                    "event",
                    {"name": name, "payload": payload, "router_data": {"pathname": "/"}},
                    namespace="/_event",
                )
            await asyncio.sleep(0.05)
            await attacker.disconnect()

        run_async(scenario())

    fuzz()

    async def still_works():
        b, c = await watching(backend_url, b_id, c_id)
        await c.set_status("away")
        await b.wait_for(lambda: b.status_of(c_id) == "away")
        leaked = b.status_of(a_id)
        for x in (b, c):
            await x.disconnect()
        return leaked

    assert run_async(still_works()) is None  # and the attacker, a stranger, never appears
