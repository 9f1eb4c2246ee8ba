"""Noticing that a tab's socket opened or closed.

Reflex 0.10.1 has no public hooks for these, and registering socket.io `connect` or
`disconnect` handlers would replace Reflex's own. So we wrap the `on_connect` and
`on_disconnect` methods of the app's event namespace, forwarding whatever arguments
Reflex passes (0.10.1 passes `(sid, environ, auth)`, newer sources `(sid, environ)`):
- after Reflex's `on_connect` has linked the new socket to its tab token, `on_open(token,
  sid)` runs;
- before Reflex's `on_disconnect` forgets the socket's token, we read it, and
  `on_close(token, sid)` runs (whether Reflex's handler is a plain function or a
  coroutine function).
Both run as tasks, outside Reflex's handlers. The internals are listed in `internals`;
tests/contract/ and tests/integration/test_presence_sync.py fail if a hook stops firing.

Reflex's own links and unlinks of sockets to tab tokens take turns too, in lines of
their own, and a tab's reconnect takes over the unlink of its closed socket if it is still
waiting (`take_turns_linking`): with Redis, Reflex deletes a closed socket's record in a
task of its own, and a reconnect that looked the record up before it was gone was taken
for the same tab open elsewhere and given a new token, its state lost.

The same wrapper caps the sockets one client address may hold open on this instance
(each costs a tab state: docs/socket-memory.md): one more is refused at its handshake;
and it refuses every socket while the app says so (`refuse`: Redis is down).

`drop_all` closes every socket of this instance at its transport (a Redis outage): the
frontend takes that for a lost connection and reconnects by itself, where a socket.io
disconnect would be taken as final.

`install` also indexes python-socketio's rooms by socket (`index_rooms`): its manager
finds the rooms of a closing socket by scanning every room there is (every socket has a
room of its own), so a restart that closes N sockets cost N² steps (the storm's profile
at 2,000 tabs, docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import reflex as rx
from reflex_base import constants
from socketio.exceptions import ConnectionRefusedError as SocketRefused

from chatapp.line import Line
from chatapp.reflex_adapter import internals

logger = logging.getLogger(__name__)

OnSocket = Callable[[str, str], Awaitable[object]]

_HOOKED = "_chatapp_socket_hooked"
_ORDER = "_chatapp_socket_order"  # the namespace's `TokenOrder`


def install(
    app: rx.App,
    *,
    on_open: OnSocket,
    on_close: OnSocket,
    max_per_address: int = 0,
    refuse: Callable[[], str | None] | None = None,
    at_once: int = 0,
) -> None:
    """Call `on_open(token, sid)` when a tab's socket connects and `on_close(token, sid)`
    when it disconnects (idempotent), in that order for each token and at most
    `at_once` at a time (0: no limit; see `TokenOrder`), refuse a socket from an address
    that already holds `max_per_address` open ones on this instance (0: no cap), and
    refuse every socket while `refuse()` gives a reason."""
    namespace = app.event_namespace
    if namespace is None:
        msg = "the app's event namespace does not exist yet"
        raise RuntimeError(msg)
    if getattr(namespace, _HOOKED, False):
        return
    order = TokenOrder(at_once)
    spawn = order.spawn

    original_connect = takes_what_it_can(namespace.on_connect)
    original_disconnect = takes_what_it_can(namespace.on_disconnect)
    open_by_address: Counter[str] = Counter()
    address_of: dict[str, str] = {}

    async def on_connect(sid: str, environ: dict, *args: Any, **kwargs: Any):
        reason = refuse() if refuse is not None else None
        if reason:
            raise SocketRefused(reason)
        address = namespace._build_static_router_data(sid, environ)[constants.RouteVar.CLIENT_IP]
        if max_per_address and open_by_address[address] >= max_per_address:
            raise SocketRefused("too many connections from this address")
        open_by_address[address] += 1
        address_of[sid] = address
        try:
            result = await original_connect(sid, environ, *args, **kwargs)
        except BaseException:
            _release(sid)
            raise
        token = namespace.sid_to_token.get(sid)
        if token:
            spawn(on_open, token, sid)
        return result

    def _release(sid: str) -> None:
        address = address_of.pop(sid, None)
        if address is not None:
            open_by_address[address] -= 1
            if open_by_address[address] <= 0:
                del open_by_address[address]

    async def on_disconnect(sid: str, *args: Any, **kwargs: Any):
        _release(sid)
        token = namespace.sid_to_token.get(sid)
        result = original_disconnect(sid, *args, **kwargs)
        if inspect.iscoroutine(result):  # a coroutine function in some Reflex; 0.10.1 returns a Task
            result = await result
        if token:
            spawn(on_close, token, sid)
        return result

    namespace.on_connect = on_connect
    namespace.on_disconnect = on_disconnect
    records = getattr(namespace, "_token_manager", None)
    if at_once > 0 and records is not None and internals.token_links_fit(records):
        # A quarter of the pool in all: an eighth for links, an eighth for unlinks.
        take_turns_linking(records, links=Line(max(1, at_once // 4)), unlinks=Line(max(1, at_once // 4)))
    setattr(namespace, _HOOKED, True)
    setattr(namespace, _ORDER, order)
    manager = getattr(getattr(app, "sio", None), "manager", None)
    if manager is not None and internals.room_index_fits(manager):
        index_rooms(manager)


def take_turns_linking(records: Any, *, links: Line, unlinks: Line) -> None:
    """Make Reflex's links of sockets to tab tokens take turns in `links`, its unlinks in
    `unlinks`, and a tab's link take over the unlink of its closed socket.

    With Redis each is a few round trips (is the token linked elsewhere? record it;
    delete the record). In a storm of 10,000 tabs they all asked the Redis pool at once,
    and thousands waited past its timeout and failed: a failed lookup let a tab through
    unchecked, a failed delete left a closed socket's record behind (the tab's next
    connect was then taken for a duplicate and given a new token). In the lines they wait
    without a timeout.

    A link must not look the record up while its tab's unlink is pending: it would find
    the closed socket's record and Reflex would give the tab a new token, its state lost.
    So a link whose tab's unlink still waits for its turn does that unlink itself first,
    in its own turn (the waiting one then does nothing), and one whose tab's unlink is
    under way waits for it. A reconnect thus waits for no one's unlink but its own tab's:
    in one line shared with the unlinks, a storm's reconnects waited behind every close of
    the storm, past the client's two minutes at 10,000 tabs (docs/instances.md).
    """
    link, unlink = records.link_token_to_sid, records.disconnect_token
    pending: dict[str, _Unlink] = {}  # each token's latest unlink not yet ended

    async def link_token_to_sid(token: str, sid: str) -> str | None:
        async with links:
            job = pending.get(token)
            if job is not None:
                await job.take_over(unlink, token)
            return await link(token, sid)

    def disconnect_token(token: str, sid: str) -> Coroutine[Any, Any, None]:
        # Recorded when Reflex asks for the unlink, not when its task starts: a link of
        # the tab handled in the same pass of the loop must find it.
        job = pending[token] = _Unlink(sid)
        return in_turn(token, job)

    async def in_turn(token: str, job: _Unlink) -> None:
        try:
            async with unlinks:
                await job.run(unlink, token)
        finally:
            if pending.get(token) is job:
                del pending[token]

    records.link_token_to_sid = link_token_to_sid
    records.disconnect_token = disconnect_token


class _Unlink:
    """One closed socket's unlink (`take_turns_linking`): run by its own task in its turn,
    or by its tab's reconnect before that, never both."""

    def __init__(self, sid: str) -> None:
        self.sid = sid
        self._started = False
        self._ended = asyncio.get_running_loop().create_future()

    async def run(self, unlink: Callable[[str, str], Awaitable[None]], token: str) -> None:
        """Unlink, unless that has started (the tab's reconnect took it over)."""
        if not self._started:
            await self._unlink(unlink, token)

    async def take_over(self, unlink: Callable[[str, str], Awaitable[None]], token: str) -> None:
        """Unlink now if that has not started; else wait until it has ended (however)."""
        if self._started:
            await asyncio.wait([self._ended])
        else:
            await self._unlink(unlink, token)

    async def _unlink(self, unlink: Callable[[str, str], Awaitable[None]], token: str) -> None:
        self._started = True
        try:
            await unlink(token, self.sid)
        finally:
            if not self._ended.done():
                self._ended.set_result(None)


_INDEXED = "_chatapp_rooms_indexed"


def index_rooms(manager: Any) -> None:
    """Keep, for each socket, the rooms it is in, and make a closing socket leave only
    those (idempotent).

    python-socketio's `BaseManager.basic_disconnect` looks for the rooms of the socket in
    every room of the namespace; this one reads the index, then does the rest of what
    the original does (its callbacks, the pending lists). Every room a socket enters or
    leaves goes through `basic_enter_room` / `basic_leave_room`, which keep the index.
    `tests/contract/test_reflex_internals.py` checks it leaves the manager as the
    original does.
    """
    if getattr(manager, _INDEXED, False):
        return
    rooms_of: dict[tuple[Any, Any], set[Any]] = {}
    enter, leave = manager.basic_enter_room, manager.basic_leave_room

    def basic_enter_room(sid: Any, namespace: Any, room: Any, eio_sid: Any = None) -> None:
        enter(sid, namespace, room, eio_sid=eio_sid)
        rooms_of.setdefault((namespace, sid), set()).add(room)

    def basic_leave_room(sid: Any, namespace: Any, room: Any) -> None:
        leave(sid, namespace, room)
        held = rooms_of.get((namespace, sid))
        if held is not None:
            held.discard(room)
            if not held:
                del rooms_of[(namespace, sid)]

    def basic_disconnect(sid: Any, namespace: Any, **_kwargs: Any) -> None:
        if namespace not in manager.rooms:
            return
        for room in list(rooms_of.pop((namespace, sid), ())):
            leave(sid, namespace, room)
        manager.callbacks.pop(sid, None)
        for pending in (manager.pending_connect, manager.pending_disconnect):
            sids = pending.get(namespace)
            if sids is not None and sid in sids:
                sids.remove(sid)
                if not sids:
                    del pending[namespace]

    manager.basic_enter_room = basic_enter_room
    manager.basic_leave_room = basic_leave_room
    manager.basic_disconnect = basic_disconnect
    setattr(manager, _INDEXED, True)


def takes_what_it_can(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn`, called with as many of the positional arguments given as it accepts.

    python-socketio passes `on_connect(sid, environ, auth)` (and, if that raises
    TypeError, `(sid, environ)`), and `on_disconnect(sid, reason)` (then `(sid)`); the
    hooks accept all of these and call Reflex's handler with the ones its signature has.
    """
    params = list(inspect.signature(fn).parameters.values())
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return fn
    most = sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))

    def call(*args: Any, **kwargs: Any) -> Any:
        return fn(*args[:most], **kwargs)

    return call


async def handled(app: rx.App, token: str) -> None:
    """Wait until the socket handlers of tab `token` started so far have run: a page
    load after its socket's connect then finds the tab taken back (`on_open`), where it
    could overtake it while the handlers wait their turn (`TokenOrder`)."""
    order = getattr(app.event_namespace, _ORDER, None)
    if order is not None:
        await order.settled(token)


class TokenOrder:
    """Runs the socket handlers as tasks: those of one tab token one after another, in
    the order its sockets opened and closed, and at most `at_once` at a time (0: no
    limit).

    In a reconnect storm every socket closes and opens again at once: thousands of
    handlers, each a few round trips to Redis, all started together. They queued for
    the Redis pool's connections behind a loop seconds late, and those that waited
    longer than the pool's timeout failed: a close not recorded left its user online
    (docs/instances.md). Waiting here has no timeout, and leaves connections to the
    rest. And a tab's reconnect no longer races its close: it is handled after it.
    """

    def __init__(self, at_once: int = 0) -> None:
        self._gate = Line(at_once) if at_once > 0 else None
        # Each token's latest handler (the task referenced until done: an earlier one is
        # referenced by the later one, which waits for it).
        self._last: dict[str, asyncio.Task] = {}

    def spawn(self, callback: OnSocket, token: str, sid: str) -> asyncio.Task:
        before = self._last.get(token)
        task = asyncio.get_running_loop().create_task(self._run(before, callback, token, sid))
        self._last[token] = task
        task.add_done_callback(functools.partial(self._done, token))
        return task

    async def settled(self, token: str) -> None:
        """Wait until the handlers of `token` spawned so far have ended (however)."""
        last = self._last.get(token)
        if last is not None:
            await asyncio.wait([last])

    async def _run(self, before: asyncio.Task | None, callback: OnSocket, token: str, sid: str) -> None:
        if before is not None:
            await asyncio.wait([before])  # its failure is its own (logged when it ends)
        if self._gate is None:
            await callback(token, sid)
            return
        async with self._gate:
            await callback(token, sid)

    def _done(self, token: str, task: asyncio.Task) -> None:
        if self._last.get(token) is task:
            del self._last[token]
        if not task.cancelled() and task.exception() is not None:
            logger.error("presence socket handling failed", exc_info=task.exception())


async def drop_all(app: rx.App) -> int:
    """Close every socket of this instance at its transport (engine.io), not with a
    socket.io disconnect: the frontend reconnects after a lost transport, never after a
    disconnect the server asked for. Returns how many were open.

    engine.io's own `disconnect` sends its close packet but leaves the websocket open
    (the frontend ignores that packet and would notice only at its ping timeout,
    seconds later): each socket's send queue is ended too, whose writer then closes the
    websocket.
    """
    server = app.sio.eio if getattr(app, "sio", None) is not None else None
    if server is None or not server.sockets:
        return 0
    dropped = list(server.sockets.items())
    for eio_sid, socket in dropped:
        await socket.close(wait=False)  # its close packet, and the disconnect handlers
        socket.queue.put_nowait(None)  # its writer sends what is queued, then closes
        server.sockets.pop(eio_sid, None)
    return len(dropped)


def open_sockets(app: rx.App) -> int:
    """How many sockets of tabs this instance holds now."""
    namespace = app.event_namespace
    return len(namespace.sid_to_token) if namespace is not None else 0


def forget_soon(app: rx.App, token: str, after: float) -> bool:
    """Let Reflex drop a tab's state `after` seconds from now unless the tab comes back.

    Reflex's in-memory state manager keeps every tab's state for an hour after its last
    use; a server that 2,000 sockets left held all their states that long. A tab that
    reconnects in time is used again, which renews its hour; one that does not is purged
    by Reflex's own expiry (which skips a state some handler holds). Other state managers
    keep their own expiry.

    Returns:
        Whether the tab's state will go (False: back on a socket, not held here, or this
        Reflex lacks the internals: see `internals`).
    """
    if not internals.forget_early(app):
        return False
    manager = app.state_manager
    deadlines = getattr(manager, "_token_expires_at", None)
    if not isinstance(deadlines, dict):
        return False
    namespace = app.event_namespace
    if namespace is None or _on_a_socket(namespace, token):
        return False  # back on a socket: its state is in use
    entry = deadlines.get(token)
    if entry is None:
        return False
    _, state_token = entry
    deadlines[token] = (min(entry[0], time.time() + after), state_token)
    _wake_expiry(manager, after)
    return True


def _wake_expiry(manager: Any, after: float) -> None:
    """Have Reflex's expiry task see a deadline `after` seconds away. It sleeps until the
    soonest deadline it saw (an hour away while the tab was open) and would not notice
    this one: it is started afresh then, once for every deadline set meanwhile (each start
    reads every tab's deadline; a restart of the server closes thousands of tabs, and a
    start for each close made the storm quadratic)."""
    loop = asyncio.get_running_loop()
    held, on_loop, pending = _wakes.get(id(manager), (None, None, None))
    if held is not manager or on_loop is not loop:
        pending = None  # another manager at the same id, or a loop that has stopped
    if pending is not None and pending.when() <= loop.time() + after:
        return  # an earlier start sees this deadline too
    if pending is not None:
        pending.cancel()
    _wakes[id(manager)] = (manager, loop, loop.call_later(after, _restart_expiry, manager))


def _restart_expiry(manager: Any) -> None:
    _wakes.pop(id(manager), None)
    sleeping = manager._expiration_task
    if sleeping is not None and not sleeping.done():
        sleeping.cancel()
        manager._expiration_task = None
    manager._ensure_expiration_task()


# The pending start of each state manager's expiry task (`_wake_expiry`), by its id (a
# state manager is not hashable), with the manager and the loop it runs on.
_wakes: dict[int, tuple[Any, asyncio.AbstractEventLoop, asyncio.TimerHandle]] = {}


def _on_a_socket(namespace: Any, token: str) -> bool:
    """Whether the tab has a socket again (its token manager's record, one lookup; a
    scan of every socket if this Reflex lacks it)."""
    records = getattr(getattr(namespace, "_token_manager", None), "token_to_socket", None)
    if isinstance(records, dict):
        return token in records
    return token in namespace.sid_to_token.values()
