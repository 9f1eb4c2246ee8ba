"""The long way's gate (chatapp.reflex_adapter.tabs.bound) against the real app: at most
so many batches are applied at a time and the others wait, with later changes for their
tabs joining them; a delivery that a holder of a tab's lock awaits never waits there, even
behind a gate kept full by a tab whose lock is held (a logout ends the login's other tabs
at once).

The gate is set for one test at a time and given back (`tabs.bound(0)`): the app runs
without one in one process."""

from __future__ import annotations

import asyncio

import reflex as rx

from bench.reflex_client import ReflexClient
from chatapp import background, runtime
from chatapp.reflex_adapter import tabs, turns
from chatapp.states.app_state import AppState
from chatapp.wire import APP_STATE, SESSION_STATE
from tests.integration.support import open_tab
from tests.support import auth_token_for, create_user, run_async

# How long a test keeps a tab's lock (a handler that takes its time), with the gate's one
# place taken by a batch waiting for that lock.
HOLD = 4.0


async def _hold(app: rx.App, token: str, seconds: float) -> None:
    async with app.modify_state(rx.BaseStateToken(ident=token, cls=AppState)):
        await asyncio.sleep(seconds)


async def _gate_kept_full(app: rx.App, token: str, applied: list[str]) -> asyncio.Task:
    """The gate's one place taken, for `HOLD` seconds, by a batch for `token` waiting for
    its lock; returns the task that ends once that batch is applied."""
    holder = asyncio.create_task(_hold(app, token, HOLD))
    await asyncio.sleep(0.1)
    first = asyncio.create_task(tabs.deliver(app, [token], AppState, lambda _s: applied.append("held")))
    await asyncio.sleep(0.1)
    return asyncio.create_task(asyncio.wait_for(asyncio.gather(holder, first), HOLD + 5))


def _in_app(coro) -> asyncio.Future:
    """Run a coroutine on the app's event loop (awaitable from the test's own loop)."""
    return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, runtime.current().loop))


def _with_gate_full(backend_url: str, prefix: str, then) -> tuple[list[str], list[str], list[int]]:
    """Two tabs X and Y of new users; the gate bounded to one place and kept full by a
    batch for X (see `_gate_kept_full`); `then(app, y, applied)` (on the app's loop) starts
    the deliveries under test and returns them as tasks.

    Returns:
        What was applied one second after they started (the gate still full), what was
        applied in the end, and what each delivery returned.
    """
    x_id, _ = create_user(f"{prefix}x")
    y_id, _ = create_user(f"{prefix}y")
    app = runtime.push().app

    async def in_app(x: str, y: str) -> tuple[list[str], list[str], list[int]]:
        applied: list[str] = []
        tabs.bound(1)
        try:
            full = await _gate_kept_full(app, x, applied)
            started = await then(app, y, applied)
            await asyncio.sleep(1.0)
            while_full = list(applied)
            await full
            made = [await asyncio.wait_for(task, 5) for task in started]
        finally:
            tabs.bound(0)
        return while_full, applied, made

    async def scenario():
        x, y = await open_tab(backend_url, x_id), await open_tab(backend_url, y_id)
        result = await _in_app(in_app(x.token, y.token))
        for tab in (x, y):
            await tab.disconnect()
        return result

    return run_async(scenario())


def test_at_most_so_many_batches_go_the_long_way_at_once_and_the_others_wait(backend_url):
    async def then(app: rx.App, y: str, applied: list[str]) -> list[asyncio.Task]:
        return [asyncio.create_task(tabs.deliver(app, [y], AppState, lambda _s: applied.append("y")))]

    while_full, applied, made = _with_gate_full(backend_url, "gate", then)
    assert while_full == []  # Y's batch waited at the gate, though Y's lock was free
    assert applied == ["held", "y"]
    assert made == [1]


def test_a_lock_holders_delivery_skips_the_gate_and_takes_the_batch_it_joins_with_it(backend_url):
    async def awaited_by_a_handler(app: rx.App, y: str, applied: list[str]) -> int:
        with background.holding_lock():  # as in an event handler (`turns` marks each)
            return await tabs.deliver(app, [y], AppState, lambda _s: applied.append("urgent"))

    async def then(app: rx.App, y: str, applied: list[str]) -> list[asyncio.Task]:
        waiting = asyncio.create_task(tabs.deliver(app, [y], AppState, lambda _s: applied.append("y")))
        await asyncio.sleep(0.2)
        return [waiting, asyncio.create_task(awaited_by_a_handler(app, y, applied))]

    while_full, applied, made = _with_gate_full(backend_url, "urg", then)
    # The urgent change joined Y's waiting batch (in order after it) and took it past the
    # gate while the gate was full.
    assert while_full == ["y", "urgent"]
    assert applied == ["y", "urgent", "held"]
    assert made == [1, 1]


def test_a_logout_ends_the_logins_other_tab_at_once_while_the_gate_is_full(backend_url):
    a_id, _ = create_user("gatelogout")
    x_id, _ = create_user("gatebusy")
    token = auth_token_for(a_id)  # one login, two tabs
    app = runtime.push().app
    applied: list[str] = []

    async def scenario():
        one, two = ReflexClient(backend_url, token), ReflexClient(backend_url, token)
        for client in (one, two):
            await client.connect()
            await client.load("/")
        x = await open_tab(backend_url, x_id)

        async def fill() -> asyncio.Task:
            tabs.bound(1)
            return await _gate_kept_full(app, x.token, applied)

        async def emptied(full: asyncio.Task) -> None:
            try:
                await full
            finally:
                tabs.bound(0)

        full = await _in_app(fill())
        try:
            await one.emit(f"{APP_STATE}.logout")
            # Well before the held lock is let go: the logout awaits this delivery while
            # it holds its own tab's lock, so it must not wait behind the gate.
            await two.wait_for(lambda: two.latest(SESSION_STATE, "signed_out") is True, timeout=HOLD - 1.5)
            while_full = list(applied)
        finally:
            await _in_app(emptied(full))
        for client in (one, two, x):
            await client.disconnect()
        return while_full

    assert run_async(scenario()) == []  # the gate was still full when it arrived
    assert turns.installed()  # so the wiring sets the gate with Redis (`tabs.bound`)
