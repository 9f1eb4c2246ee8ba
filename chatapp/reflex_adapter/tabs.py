"""Changing the state of a set of tabs (on any instance) and sending each its delta.

`send(app, tokens, change)` is the one entry: a `TabChange` says which state class it
changes, how (`apply`, through Reflex's tracking), and optionally how to do it without
Reflex's tracking (`in_place`) together with the delta that results (`delta`), which
enables the fast path of `push`. Who the tabs are is the caller's business
(`chatapp.delivery` finds the tabs of users).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import reflex as rx

from chatapp import background
from chatapp.line import Line
from chatapp.redis_pool import patiently, pool_timed_out
from chatapp.reflex_adapter import internals

logger = logging.getLogger(__name__)

Apply = Callable[[Any], Awaitable[None] | None]
# Changes a state in place, outside Reflex's change tracking. Returns what the tab must
# be sent: a falsy value if nothing changed, `True` for the change's one delta, or any
# other hashable "variant" that its delta function maps to the delta for such tabs; or
# `LONG_WAY` to have this tab changed by `apply` instead (through Reflex's tracking).
ApplyInPlace = Callable[[Any], Any]
Delta = dict[str, dict[str, Any]]
LONG_WAY = object()


@dataclass(frozen=True)
class TabChange:
    """One change to the `state` substate of every tab it is sent to.

    Attributes:
        state: The state class it changes (its tab's substate of that class).
        apply: Makes the change through Reflex's tracking (may be a coroutine function).
        in_place: Makes the same change without Reflex's tracking and says what the tab
            must be sent (see `ApplyInPlace`); with `delta`, enables the fast path.
        delta: The delta a tab gets for it, as Reflex would compute it
            ({state full name: {var: value}}): one for every tab, or a function of the
            variant `in_place` returned (called once per variant per send).
        recipe: How another instance makes the same change (the name its factory is
            known by and the factory's arguments, as JSON); set by `delivery.portable`.
        after: What an instance does once it has made the change in its tabs (each
            instance that makes it, with what its own tabs collected: who read a new
            message there, say). `delivery.Push` runs it.
    """

    state: type
    apply: Apply
    in_place: ApplyInPlace | None = None
    delta: Delta | Callable[[Any], Delta] | None = None
    recipe: tuple[str, tuple] | None = None
    after: Callable[[], Awaitable[object]] | None = None


async def send(app: rx.App, tokens: Iterable[str], change: TabChange) -> int:
    """Make `change` in each tab's state and send each tab its delta.

    Returns:
        How many tabs were updated.
    """
    if change.in_place is not None and change.delta is not None:
        return await push(app, tokens, change.state, change.in_place, change.apply, change.delta)
    return await deliver(app, tokens, change.state, change.apply)


class _Batch:
    """The changes waiting for one tab's state, applied together once its turn comes.

    A tab's state is locked while it is changed, and every change costs Reflex a delta
    computed over the whole state and a message. When changes for a tab come faster
    than they are applied (a user with many contacts, everyone reconnecting at once),
    those still waiting for the tab are applied under one lock, in the order they came,
    and leave in one delta: the tab ends in the same state, for a fraction of the work.
    """

    __slots__ = ("applies", "ok", "task", "urgent")

    def __init__(self) -> None:
        self.applies: list[Apply] = []
        self.ok: list[bool] = []  # whether each change went out, once the batch is done
        self.task: asyncio.Task | None = None
        self.urgent = asyncio.Event()  # a lock holder awaits it: it skips the gate


# (event loop, tab token, state class) → the batch not yet started for it.
_Key = tuple[asyncio.AbstractEventLoop, str, type]
_waiting: dict[_Key, _Batch] = {}
# The batches being applied (a task needs a reference until it is done).
_running: set[asyncio.Task] = set()
# How many batches may take the long way at once (0: no bound; see `bound`), and the
# gate of each event loop that applies them.
_at_once = 0
_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Line] = weakref.WeakKeyDictionary()


# How long a batch that found the Redis pool busy before applying anything tries again
# (see `_run`).
POOL_PATIENCE = 60.0


def bound(at_once: int) -> None:
    """Let at most `at_once` batches (0: any number) be applied at a time, except those
    a lock holder awaits.

    With Redis, a batch's lock, load and write-back are a dozen round trips through
    Reflex's connection pool. In a reconnect storm of 10,000 tabs, presence changes sent
    thousands of batches at once; they queued for the pool's connections, and those that
    waited longer than its timeout failed ("No connection available": a tab left
    with a change missed, docs/instances.md). A batch waiting here has no timeout and
    leaves connections to the rest, and changes for its tab still join it meanwhile.

    A delivery that a handler holding a tab's lock awaits (`background.under_lock`: a
    logout ending its user's other tabs) is never held here: a batch let through may be
    waiting for that very lock, and with all of them so the two would wait for each
    other until the lock expired.
    """
    global _at_once
    _at_once = max(0, at_once)
    _gates.clear()


@contextlib.asynccontextmanager
async def _admitted(batch: _Batch) -> AsyncIterator[None]:
    """Hold a place at the gate while the batch is applied; or none if it is urgent
    (a lock holder awaits it: see `bound`), including once it became so while waiting."""
    if _at_once <= 0 or batch.urgent.is_set():
        yield
        return
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = Line(_at_once)
    if not gate.locked():  # a free place, and nobody waiting for one: no wait
        await gate.acquire()
    else:
        place = loop.create_task(gate.acquire())
        urgent = loop.create_task(batch.urgent.wait())
        got = False
        try:
            await asyncio.wait({place, urgent}, return_when=asyncio.FIRST_COMPLETED)
            got = place.done()
        finally:
            urgent.cancel()
            if not got:  # urgent first (or given up): a place given meanwhile goes back
                place.cancel()
                place.add_done_callback(functools.partial(_give_back, gate))
        if not got:
            yield
            return
    try:
        yield
    finally:
        gate.release()


def _give_back(gate: Line, place: asyncio.Task) -> None:
    if not place.cancelled() and place.exception() is None:
        gate.release()


async def deliver(app: rx.App, tokens: Iterable[str], state_cls: type, apply: Apply) -> int:
    """Run `apply` on the `state_cls` state of each tab, all tabs at once.

    Reflex sends each tab the delta its state ends with, through its own socket (or,
    with several workers, through Redis to the worker that holds the socket). A change
    for a tab that already has changes waiting joins them (see `_Batch`).

    Returns:
        How many tabs were updated.
    """
    loop = asyncio.get_running_loop()
    urgent = background.under_lock()
    mine: list[tuple[_Batch, int]] = []
    for token in dict.fromkeys(tokens):  # each tab once, however it was reached
        key = (loop, token, state_cls)
        batch = _waiting.get(key)
        if batch is None or batch.task is None or batch.task.done():
            batch = _waiting[key] = _Batch()
            batch.task = loop.create_task(_run(app, key, batch))
            _running.add(batch.task)
            batch.task.add_done_callback(lambda task, key=key, batch=batch: _finished(task, key, batch))
        batch.applies.append(apply)
        if urgent:
            batch.urgent.set()
        mine.append((batch, len(batch.applies) - 1))
    if mine:
        # wait, not gather: a caller that gives up must not cancel batches others share.
        await asyncio.wait({batch.task for batch, _ in mine if batch.task is not None})
    return sum(1 for batch, i in mine if i < len(batch.ok) and batch.ok[i])


async def _run(app: rx.App, key: _Key, batch: _Batch) -> None:
    """Apply a batch under the tab's lock, and record which of its changes went out.

    A batch that found no free connection of the Redis pool before it applied anything
    (taking the tab's lock or loading its state) tries again, for up to `POOL_PATIENCE`
    seconds: at 10,000 tabs on two instances 10 deliveries the long way failed so, each a
    change the tab never got, though the gate (`bound`) leaves half the pool to the rest.
    """
    _, token, state_cls = key
    applying = False

    async def attempt() -> list[bool]:
        nonlocal applying
        ok: list[bool] = []
        async with (
            _admitted(batch),
            app.modify_state(rx.BaseStateToken(ident=token, cls=state_cls)) as root,
        ):
            # From here on, new changes for this tab start a batch of their own (which
            # waits for this one to release the tab's lock).
            if _waiting.get(key) is batch:
                del _waiting[key]
            state = await root.get_state(state_cls)
            applying = True
            for apply in batch.applies:
                try:
                    result = apply(state)
                    if asyncio.iscoroutine(result):
                        await result
                    ok.append(True)
                except Exception:  # one broken change must not stop the others
                    logger.exception("delivery to tab %s failed", token)
                    ok.append(False)
        return ok

    try:
        batch.ok = await patiently(
            attempt,
            POOL_PATIENCE,
            may_try_again=lambda exc: not applying and pool_timed_out(exc),
            what=f"a delivery to tab {token}",
        )
    except Exception:  # one broken tab must not stop the others
        logger.exception("delivery to tab %s failed", token)
        batch.ok = []


def _finished(task: asyncio.Task, key: _Key, batch: _Batch) -> None:
    """Forget a finished batch (also one cancelled before it ever ran)."""
    _running.discard(task)
    if _waiting.get(key) is batch:
        del _waiting[key]


async def push(
    app: rx.App,
    tokens: Iterable[str],
    state_cls: type,
    apply_in_place: ApplyInPlace,
    apply: Apply,
    delta: Delta | Callable[[Any], Delta],
) -> int:
    """Send one change to many tabs as one message, and keep their states in step.

    `deliver` costs a tab a whole Reflex state modification (lock, delta computed over
    the state, its own message), which made a change to 1,000 tabs slow (figures in
    docs/benchmarks.md). Most of it is not needed when
    the change and its delta are known in advance and the states live in this process:
    `apply_in_place` changes each state that nothing is modifying right now (no event
    handler holds its lock), without Reflex's tracking, and every tab it changed gets
    `delta` in one emit, the message encoded once, as Reflex would have sent it (one
    emit per variant when `apply_in_place` sorts the tabs into variants).

    With Redis, the states this instance may change so are those it holds a lease on
    (Reflex's opportunistic locks, `REFLEX_OPLOCK_ENABLED`: the state stays here while
    the tab is in use and is written back when the lease ends); `apply_in_place` must
    change only the `state_cls` substate, which is then marked to be written back.

    A tab without a socket (dropped, not yet back) is changed in place and sent nothing:
    every (re)connect of the frontend hydrates the whole state. A tab whose state is
    being modified (it is running an event handler), or not held by this process (no
    lease on it), goes through `deliver` with `apply`, and waits for its turn as before.

    Without the internals this needs (`internals.fast_path`), every tab goes through
    `deliver`: slower, never unsafe.

    Returns:
        How many tabs were updated.
    """
    if not internals.fast_path(app):
        return await deliver(app, tokens, state_cls, apply)
    from reflex.state import StateUpdate
    from reflex_base.constants import SocketEvent

    state_of, kept_elsewhere = _local_states(app.state_manager)
    namespace = app.event_namespace
    sids: dict[Any, list[str]] = {}
    queued: list[str] = []
    unsent = 0
    path = state_cls.get_full_name().split(".")
    sid_of = _sid_lookup(namespace) if state_of is not _no_state else _no_sid
    for token in dict.fromkeys(tokens):
        root = state_of(token)
        sid = sid_of(token)
        if root is None or (sid is None and kept_elsewhere):
            # With Redis, a tab without a socket here may have one on another instance
            # (this one leased its state to change it): Reflex relays its delta there.
            queued.append(token)
            continue
        try:
            substate = root.get_substate(path)
        except ValueError:  # a leased tree without this branch: the long way loads it
            queued.append(token)
            continue
        # Nothing awaits between the check above and this change: no handler can start
        # on this tab in between.
        try:
            variant = apply_in_place(substate)
        except Exception:  # this tab takes the long way; the others go on
            logger.exception("changing tab %s in place failed", token)
            queued.append(token)
            continue
        if variant is LONG_WAY:
            queued.append(token)
            continue
        if variant and kept_elsewhere:
            # Written to Redis with the rest of the state when the lease ends.
            substate._was_touched = True
        if variant and sid is not None:
            sids.setdefault(variant, []).append(sid)
        elif variant:  # between a drop and its reconnect: that reconnect's hydrate sends it
            unsent += 1
    sent = unsent
    for variant, to in sids.items():
        try:
            update = StateUpdate(delta=delta(variant) if callable(delta) else delta)
            await namespace.emit(str(SocketEvent.EVENT), update, to=to)
            sent += len(to)
        except Exception:  # the states are right; the tabs catch up at their next load
            logger.exception("sending a change to %d tabs failed", len(to))
    if queued:
        sent += await deliver(app, queued, state_cls, apply)
    return sent


def _no_sid(_token: str) -> str | None:
    return None


def _no_state(_token: str) -> Any | None:
    return None


def _local_states(manager: Any) -> tuple[Callable[[str], Any | None], bool]:
    """Which tabs' states this process may change in place right now, and whether they
    are copies of states kept in Redis (then a change must be marked to be written back).

    Returns:
        A function from a tab's token to its root state, if it is in this process and no
        handler holds it (None: the tab takes the long way), and that flag.
    """
    from reflex.istate.manager.memory import StateManagerMemory
    from reflex.istate.manager.redis import StateManagerRedis

    if isinstance(manager, StateManagerMemory):
        states, locks = manager.states, manager._states_locks

        def in_memory(token: str) -> Any | None:
            lock = locks.get(token)
            return None if lock is not None and lock.locked() else states.get(token)

        return in_memory, False
    if isinstance(manager, StateManagerRedis) and manager._oplock_enabled:
        # Reflex's opportunistic locks: while this instance holds a tab's lease, the
        # tab's state lives here (`_cached_states`) and is written back to Redis when the
        # lease ends; a handler using it holds `_cached_states_locks[token]`.
        leases, cached, locks = manager._local_leases, manager._cached_states, manager._cached_states_locks

        def leased(token: str) -> Any | None:
            lease = leases.get(token)
            if lease is None or lease.done() or lease.cancelling():
                return None
            lock = locks.get(token)
            return None if lock is None or lock.locked() else cached.get(token)

        return leased, True
    return _no_state, False


def _sid_lookup(namespace: Any) -> Callable[[str], str | None]:
    """The socket of a tab connected to this process, by token.

    Reflex's public `token_to_sid` builds a new dict of every connected tab on each
    read (a measurable share of the server's time at 1,000 tabs: docs/benchmarks.md),
    so this reads its token manager's record directly, with the check `emit_update`
    makes (`internals.fast_path` has checked the record exists).
    """
    manager = namespace._token_manager
    records = manager.token_to_socket
    instance = manager.instance_id

    def sid_of(token: str) -> str | None:
        record = records.get(token)
        return record.sid if record is not None and record.instance_id == instance else None

    return sid_of
