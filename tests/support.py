"""Helpers for tests that drive the running app: users, conversations, logged-in pages."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import reflex as rx
import sqlalchemy as sa

from chatapp import runtime, wire
from chatapp.models import Participant, utcnow
from chatapp.services import accounts, conversations, logins
from tests.conftest import ROOT

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def unique_name(prefix: str) -> str:
    """A username no other test uses."""
    return f"{prefix}{next(_counter)}_{uuid.uuid4().hex[:6]}"


def create_user(prefix: str, display_name: str | None = None) -> tuple[int, str]:
    """A new account; returns (user id, username)."""
    name = unique_name(prefix)
    with rx.session() as session:
        user = accounts.sign_up(
            session, username=name, display_name=display_name or name.title(), password=PASSWORD
        )
        return user.id, name


def auth_token_for(user_id: int) -> str:
    """A fresh login session for the user (what logging in creates)."""
    with rx.session() as session:
        return logins.start(session, user_id=user_id, now=utcnow(), lifetime=timedelta(days=1))[1]


def all_wrote(session, conversation_id: int) -> int:
    """Every member of the conversation has written to the others (people who talk: each
    sees the others' presence under the default audience, see `services.audience`)."""
    session.exec(
        sa.update(Participant).where(Participant.conversation_id == conversation_id).values(wrote=True)
    )
    session.commit()
    return conversation_id


def direct(user_id: int, other_username: str, *, answered: bool = True) -> int:
    """The direct conversation of two users; `answered`: both have written in it (else
    it is the other user's message request)."""
    with rx.session() as session:
        cid, _ = conversations.open_direct(session, user_id=user_id, other_username=other_username)
        return all_wrote(session, cid) if answered else cid


def direct_pair(a_prefix: str, b_prefix: str) -> tuple[int, int, int]:
    """Two new users and their direct conversation: (a's id, b's id, conversation id)."""
    a_id, _ = create_user(a_prefix)
    b_id, b_name = create_user(b_prefix)
    return a_id, b_id, direct(a_id, b_name)


def group(user_id: int, title: str, usernames: list[str]) -> int:
    """A new group whose members have all written in it."""
    with rx.session() as session:
        cid = conversations.create_group(session, user_id=user_id, title=title, member_usernames=usernames)
        return all_wrote(session, cid)


def signed_in_context(browser, user_id: int):
    """A browser context (its own localStorage, like another browser) signed in as the user."""
    context = browser.new_context()
    token = auth_token_for(user_id)
    context.add_init_script(f"window.localStorage.setItem('_auth_token', {token!r});")
    return context


def run_async(coro):
    """asyncio.run in a thread of its own.

    pytest-playwright's sync API keeps an event loop running in the main thread for the
    whole session, and asyncio.run refuses to start inside it.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def on_backend(coro, timeout: float = 10):
    """Run a coroutine on the app's event loop (the backend runs in another thread)."""
    return asyncio.run_coroutine_threadsafe(coro, runtime.current().loop).result(timeout)


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    """Wait for predicate() to be truthy, else fail with `message`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


async def until(predicate, timeout: float = 10.0, interval: float = 0.05) -> None:
    """`wait_until` for a coroutine: poll predicate() without blocking the event loop
    (for what changes without an update to wait for, such as a socket's state)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(interval)


PRESENCE_PREFIX = wire.keyed_prefix(wire.PRESENCE_MAP)


def presence_key(user_id: int) -> str:
    """The wire key of a user's presence entry in a tab's state ("presence_map.42")."""
    return wire.keyed_entry(wire.PRESENCE_MAP, user_id)


def run_benchmark(args: list[str], *, timeout: float) -> None:
    """Run one of the project's benchmarks (`python` + `args`, e.g. `["-m", "bench.load",
    ...]`) from the repo root, as its README command does; fail with the tail of its output
    unless it exits 0."""
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"the benchmark failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
