"""Custom status on the raw frames: one small entry to whoever may see the user, nothing
to anyone else, and gone when it ends."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import reflex as rx
import sqlalchemy as sa

from chatapp import wire
from chatapp.models import Profile, utcnow
from chatapp.services import custom_status
from chatapp.states.app_state import clear_when_ended, custom_status_end, expire_custom_statuses
from tests.integration.messaging import chat_delta, frames_since
from tests.integration.support import open_tab
from tests.support import create_user, direct, on_backend, run_async

CUSTOM_PREFIX = wire.keyed_prefix(wire.CUSTOM_STATUS_MAP)


def _custom(tab, user_id: int) -> list[tuple[int, object]]:
    """(frame size, entry) of every frame carrying the user's custom status entry."""
    key = CUSTOM_PREFIX + str(user_id)
    out = []
    for size, update in frames_since(tab, 0):
        sub = chat_delta(update, wire.APP_STATE)
        if key in sub:
            out.append((size, sub[key]))
    return out


async def _set(tab, emoji: str, text: str, clear_after: str = "never") -> None:
    form = {"emoji": emoji, "text": text, "clear_after": clear_after, "utc_offset": "0"}
    await tab.emit(wire.SET_CUSTOM_STATUS, {"form_data": form}, "/")


def test_a_custom_status_reaches_who_may_see_the_user_in_one_small_entry_and_ends(backend_url):
    user_id, user_name = create_user("cstat")
    friend_id, _ = create_user("cfriend")
    stranger_id, _ = create_user("cstrange")
    direct(friend_id, user_name)  # they talked
    direct(stranger_id, user_name, answered=False)  # a request the user never answered
    # The longest status there is: 100 characters, markup and quotes among them.
    hostile = '<img src=x onerror=alert(1)> "quoted"'
    hostile = (hostile + " and more words" * 5)[: custom_status.TEXT_MAX]

    async def scenario():
        friend = await open_tab(backend_url, friend_id, "/")
        stranger = await open_tab(backend_url, stranger_id, "/")
        user = await open_tab(backend_url, user_id, "/")
        await _set(user, "🌴", hostile, "1h")
        await friend.wait_for(lambda: _custom(friend, user_id))
        await user.wait_for(lambda: _custom(user, user_id))
        await asyncio.sleep(0.3)
        got = {"friend": _custom(friend, user_id), "stranger": _custom(stranger, user_id)}
        # An hour later (the database says so): the server's sweep clears it for everyone.
        with rx.session() as session:
            past = utcnow() - timedelta(seconds=1)
            session.exec(sa.update(Profile).where(Profile.user_id == user_id).values(custom_until=past))
            session.commit()
        cleared = on_backend(expire_custom_statuses(utcnow()))
        await friend.wait_for(lambda: _custom(friend, user_id)[-1][1] is None)
        await user.wait_for(lambda: _custom(user, user_id)[-1][1] is None)
        reloaded = await open_tab(backend_url, friend_id, "/")
        got["after_reload"] = _custom(reloaded, user_id)
        for t in (friend, stranger, user, reloaded):
            await t.disconnect()
        return got, cleared

    got, cleared = run_async(scenario())
    ((size, entry),) = got["friend"][:1]
    assert entry[0] == "🌴" and entry[1] == hostile and entry[2] > 0
    assert len(entry[1]) == custom_status.TEXT_MAX
    assert size < 300, size
    assert got["stranger"] == []  # nothing about the user before they answer
    assert user_id in cleared
    assert got["after_reload"] == []


def test_a_custom_status_is_cleared_by_the_server_when_it_ends_to_the_second(backend_url):
    user_id, user_name = create_user("cend")
    friend_id, _ = create_user("cendf")
    direct(friend_id, user_name)

    async def end_soon(until) -> None:
        clear_when_ended(user_id, until)

    async def scenario():
        friend = await open_tab(backend_url, friend_id, "/")
        user = await open_tab(backend_url, user_id, "/")
        await _set(user, "⏰", "back in half an hour", "30m")
        await friend.wait_for(lambda: _custom(friend, user_id))
        planned = (on_backend(_end_of(user_id)) - utcnow()).total_seconds()
        # The status ends in half a second instead (the database and the timer agree).
        until = utcnow() + timedelta(seconds=0.5)
        with rx.session() as session:
            session.exec(sa.update(Profile).where(Profile.user_id == user_id).values(custom_until=until))
            session.commit()
        on_backend(end_soon(until))
        await friend.wait_for(lambda: _custom(friend, user_id)[-1][1] is None, timeout=5)
        late = (utcnow() - until).total_seconds()
        for t in (friend, user):
            await t.disconnect()
        return planned, late

    planned, late = run_async(scenario())
    assert 1790 < planned <= 1800  # set for 30 minutes: the timer is at its end
    # Cleared at its end, not at the next sweep (every 15 s; it could coincide).
    assert late < 3.0, late


async def _end_of(user_id: int):
    return custom_status_end(user_id)
