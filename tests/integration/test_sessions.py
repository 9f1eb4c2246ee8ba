"""Logins over the wire: a fresh token at every login, and a login that ends (logged out,
logged out everywhere, revoked by a password change, deleted) ends in every open tab of
it at once and is refused at its next event."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import reflex as rx
import sqlalchemy as sa

from bench.reflex_client import ReflexClient
from chatapp.models import LoginSession, Message, utcnow
from chatapp.services import logins
from chatapp.wire import ACCOUNT_STATE, APP_STATE, AUTH_FORM_STATE, CHAT_STATE, SESSION_STATE
from tests.integration.support import open_tab
from tests.support import PASSWORD, auth_token_for, create_user, direct, run_async


def _messages(cid: int, body: str) -> int:
    with rx.session() as session:
        query = sa.select(sa.func.count()).where(Message.conversation_id == cid, Message.body == body)
        return session.exec(query).one()[0]


async def _log_in(client: ReflexClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form's handler, as the browser does; the token it was given."""
    before = len(client.updates)
    await client.emit(
        f"{AUTH_FORM_STATE}.log_in", {"form_data": {"username": username, "password": password}}, "/login"
    )
    await client.wait_for(lambda: client.latest(SESSION_STATE, "auth_token") and len(client.updates) > before)
    token = client.latest(SESSION_STATE, "auth_token")
    client.auth_token = token  # what the browser's localStorage now holds
    return token


def test_every_login_gets_a_fresh_token_and_a_logged_out_one_stays_dead(backend_url):
    _, a_name = create_user("fresh")

    async def scenario():
        tab = ReflexClient(backend_url)
        await tab.connect()
        await tab.load("/login")
        first = await _log_in(tab, a_name)
        await tab.load("/")
        await tab.emit(f"{APP_STATE}.logout")
        await tab.wait_for(lambda: tab.latest(SESSION_STATE, "auth_token") == "")
        tab.auth_token = ""
        await tab.load("/login")
        second = await _log_in(tab, a_name)  # the same tab, the same client token
        await tab.disconnect()

        replay = ReflexClient(backend_url, first)  # the old token, from a log or a copy
        await replay.connect()
        await replay.load("/")
        await replay.disconnect()
        return tab.token, first, second, replay.latest(SESSION_STATE, "user_id")

    client_token, first, second, replay_user = run_async(scenario())
    assert first and second and first != second
    assert client_token not in (first, second)  # never the token that travels in the socket's URL
    assert replay_user in (None, 0)
    with rx.session() as session:
        stored = set(session.exec(sa.select(LoginSession.session_id)).scalars())
    assert first not in stored and second not in stored  # digests only
    assert logins.digest(second) in stored and logins.digest(first) not in stored


def test_logout_ends_every_tab_of_the_login_and_the_others_are_refused_at_once(backend_url):
    a_id, _ = create_user("twotab")
    b_id, b_name = create_user("watch")
    c_id, _ = create_user("third")
    cid = direct(a_id, b_name)
    direct(c_id, b_name)
    path = f"/c/{cid}"
    token = auth_token_for(a_id)  # one login, shared by the browser's two tabs

    async def scenario():
        one, two = ReflexClient(backend_url, token), ReflexClient(backend_url, token)
        b = ReflexClient(backend_url, auth_token_for(b_id))
        for client in (one, two, b):
            await client.connect()
            await client.load(path)
        await b.wait_for(lambda: b.status_of(a_id) == "online")
        await one.emit(f"{APP_STATE}.logout", path=path)
        await two.wait_for(lambda: two.latest(SESSION_STATE, "signed_out") is True)  # pushed, not polled
        await b.wait_for(lambda: b.status_of(a_id) == "offline")
        # The second tab acts on: refused, nothing stored, no more changes reach it.
        await two.emit(f"{CHAT_STATE}.send_message", {"body": "after logout", "key": uuid.uuid4().hex}, path)
        seen = len(two.updates)
        await b.set_status("away", path)
        await b.emit(f"{CHAT_STATE}.send_message", {"body": "to nobody", "key": uuid.uuid4().hex}, path)
        await b.wait_for(lambda: "to nobody" in json.dumps(b.updates[-3:]))
        later = json.dumps(two.updates[seen:])
        for client in (one, two, b):
            await client.disconnect()
        return later

    later = run_async(scenario())
    assert _messages(cid, "after logout") == 0
    assert "to nobody" not in later and "away" not in later


def test_a_deleted_login_is_refused_at_its_next_event(backend_url):
    a_id, _ = create_user("revoked")
    _, b_name = create_user("peerr")
    cid = direct(a_id, b_name)
    path = f"/c/{cid}"
    token = auth_token_for(a_id)

    async def scenario():
        tab = ReflexClient(backend_url, token)
        await tab.connect()
        await tab.load(path)
        with rx.session() as session:  # revoked by an administrator, or expired
            session.exec(sa.delete(LoginSession).where(LoginSession.session_id == logins.digest(token)))
            session.commit()
        await tab.emit(f"{CHAT_STATE}.send_message", {"body": "too late", "key": uuid.uuid4().hex}, path)
        await tab.wait_for(lambda: tab.latest(SESSION_STATE, "signed_out") is True)
        await tab.disconnect()

    run_async(scenario())
    assert _messages(cid, "too late") == 0


def test_log_out_everywhere_ends_every_login_and_a_password_change_ends_the_others(backend_url):
    a_id, _ = create_user("everyw")

    async def scenario():
        laptop, phone, tablet = (ReflexClient(backend_url, auth_token_for(a_id)) for _ in range(3))
        for client in (laptop, phone, tablet):
            await client.connect()
            await client.load("/")
        await phone.emit(
            f"{ACCOUNT_STATE}.change_password",
            {"form_data": {"current": PASSWORD, "new": "a brand new secret", "repeat": "a brand new secret"}},
        )
        for other in (laptop, tablet):
            await other.wait_for(lambda other=other: other.latest(SESSION_STATE, "signed_out") is True)
        still = phone.latest(SESSION_STATE, "signed_out")
        await phone.emit(f"{APP_STATE}.logout_everywhere")
        await phone.wait_for(lambda: phone.latest(SESSION_STATE, "auth_token") == "")
        for client in (laptop, phone, tablet):
            await client.disconnect()
        return still

    still = run_async(scenario())
    assert still is not True  # the login that changed the password stays
    with rx.session() as session:
        left = session.exec(sa.select(sa.func.count()).where(LoginSession.user_id == a_id)).one()[0]
    assert left == 0


def test_a_login_that_expires_signs_its_open_tabs_out_when_it_ends(backend_url):
    a_id, _ = create_user("expiring")
    b_id, b_name = create_user("expwatch")
    direct(a_id, b_name)
    token = auth_token_for(a_id)
    with rx.session() as session:  # this login ends in two seconds
        ends = utcnow() + timedelta(seconds=2)
        mine = LoginSession.session_id == logins.digest(token)
        session.exec(sa.update(LoginSession).where(mine).values(expiration=ends))
        session.commit()

    async def scenario():
        watcher = await open_tab(backend_url, b_id)
        tabs = [ReflexClient(backend_url, token) for _ in range(2)]
        for tab in tabs:
            await tab.connect()
            await tab.load("/")
        await watcher.wait_for(lambda: watcher.status_of(a_id) == "online")
        for tab in tabs:  # no event of theirs: the server ends them when the login ends
            await tab.wait_for(lambda tab=tab: tab.latest(SESSION_STATE, "signed_out") is True, timeout=6)
        late = (utcnow() - ends).total_seconds()
        await watcher.wait_for(lambda: watcher.status_of(a_id) == "offline")
        for tab in [*tabs, watcher]:
            await tab.disconnect()
        return late

    late = run_async(scenario())
    assert late < 4, late  # at its end (nothing else would ever sign these tabs out)
