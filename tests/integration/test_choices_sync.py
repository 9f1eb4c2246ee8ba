"""A choice made in one tab (status, hide last seen, who sees my presence, typing shown)
is shown in the user's other open tabs at once, and in nobody else's: checked on the
frames each tab receives."""

from __future__ import annotations

import asyncio
import contextlib

from chatapp import wire
from tests.integration.messaging import chat_delta, latest
from tests.integration.support import open_tab, two_contacts
from tests.support import run_async

CHOICES = {
    "chosen_status": (wire.SET_STATUS, {"choice": "away"}, "away"),
    "hide_last_seen": (wire.SET_HIDE_LAST_SEEN, {"hide": True}, True),
    "presence_audience": (wire.SET_PRESENCE_AUDIENCE, {"choice": "written"}, "written"),
    "share_typing": (wire.SET_SHARE_TYPING, {"on": False}, False),
}


def test_a_choice_made_in_one_tab_shows_in_the_users_other_tabs_and_nobody_elses(backend_url):
    user_id, contact_id = two_contacts("cha", "chb")

    async def scenario():
        here, there = await open_tab(backend_url, user_id), await open_tab(backend_url, user_id)
        contact = await open_tab(backend_url, contact_id)
        mark = len(contact.updates)
        shown = {}
        for var, (event, payload, value) in CHOICES.items():
            await here.emit(event, payload, "/")
            with contextlib.suppress(TimeoutError):  # what it shows is asserted below
                await there.wait_for(lambda var=var, value=value: latest(there, var, wire.APP_STATE) == value)
            shown[var] = latest(there, var, wire.APP_STATE)
        await asyncio.sleep(0.3)
        to_contact = {
            key
            for update in contact.updates[mark:]
            for key in chat_delta(update, wire.APP_STATE)
            if key.removesuffix("_rx_state_") in CHOICES
        }
        for tab in (here, there, contact):
            await tab.disconnect()
        return shown, to_contact

    shown, to_contact = run_async(scenario())
    assert shown == {var: value for var, (_, _, value) in CHOICES.items()}
    assert to_contact == set()
