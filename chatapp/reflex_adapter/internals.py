"""Every Reflex internal the adapter uses, in one list, checked at startup and by tests.

Each entry names the attribute or signature as Reflex spells it, what needs it and what
happens if it is gone:
- "refuse": the app cannot work safely without it; `check_at_startup` raises
  `ReflexChanged` naming it.
- "public path": the fast path of `tabs.push` is switched off and every change goes
  through Reflex's public `modify_state` (slower, still right).
- "skip": a saving is lost (a closed tab's state stays for Reflex's own hour; a dead
  instance's tab locks wait out their expiry).

`tests/contract/test_reflex_internals.py` asserts every entry is present on the pinned
Reflex, so an upgrade that changes one fails there with its name.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import reflex as rx

from chatapp.reflex_adapter import hydrate, socket_route, turns

logger = logging.getLogger(__name__)

IfMissing = Literal["refuse", "public path", "skip"]


class ReflexChanged(RuntimeError):
    """A Reflex internal the app needs is gone or changed: upgrade the adapter first."""


@dataclass(frozen=True)
class Internal:
    """One internal of Reflex that the adapter relies on.

    Attributes:
        name: Where it is, as Reflex spells it.
        needed_by: The adapter's use of it.
        if_missing: What the app does without it.
        present: Whether the running app has it (given the app).
    """

    name: str
    needed_by: str
    if_missing: IfMissing
    present: Callable[[rx.App], bool]


def _positional(fn: Any) -> list[inspect.Parameter]:
    params = inspect.signature(fn).parameters.values()
    return [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _memory_manager(app: rx.App) -> Any | None:
    """The app's in-memory state manager (None for any other kind: Redis, disk)."""
    from reflex.istate.manager.memory import StateManagerMemory

    manager = app.state_manager
    return manager if isinstance(manager, StateManagerMemory) else None


def _memory_has(*names: str, kind: type | None = None) -> Callable[[rx.App], bool]:
    def present(app: rx.App) -> bool:
        manager = _memory_manager(app)
        if manager is None:
            return True  # not used with other state managers
        values = [getattr(manager, n, None) for n in names]
        return all(v is not None and (kind is None or isinstance(v, kind)) for v in values)

    return present


def _namespace_has(name: str, check: Callable[[Any], bool]) -> Callable[[rx.App], bool]:
    def present(app: rx.App) -> bool:
        namespace = app.event_namespace
        value = getattr(namespace, name, None) if namespace is not None else None
        return value is not None and check(value)

    return present


def _callable_with(*names: str) -> Callable[[Any], bool]:
    return lambda fn: callable(fn) and [p.name for p in _positional(fn)][: len(names)] == list(names)


def _importable(module: str, *names: str) -> Callable[[rx.App], bool]:
    def present(_app: rx.App) -> bool:
        try:
            loaded = __import__(module, fromlist=list(names))
        except ImportError:
            return False
        return all(hasattr(loaded, n) for n in names)

    return present


def _token_records(app: rx.App) -> bool:
    namespace = app.event_namespace
    manager = getattr(namespace, "_token_manager", None)
    return isinstance(getattr(manager, "token_to_socket", None), dict) and hasattr(manager, "instance_id")


def token_links_fit(manager: Any) -> bool:
    """Whether a token manager links and unlinks tokens as `sockets.take_turns_linking`
    wraps it: coroutine methods `link_token_to_sid(token, sid)` and
    `disconnect_token(token, sid)` (read from its class: the instance's may already be the
    wrappers)."""
    return all(
        inspect.iscoroutinefunction(getattr(type(manager), name, None))
        and _callable_with("self", "token", "sid")(getattr(type(manager), name))
        for name in ("link_token_to_sid", "disconnect_token")
    )


def _state_methods(*names: str) -> Callable[[rx.App], bool]:
    return lambda _app: all(callable(getattr(rx.State, n, None)) for n in names)


def _var_internals(_app: rx.App) -> bool:
    try:
        var = rx.Var(_js_expr="1", _var_data=None)
    except TypeError:
        return False
    return callable(getattr(var, "_get_all_var_data", None))


_ROOM_METHODS = ("basic_enter_room", "basic_leave_room", "basic_disconnect")
_ROOM_TABLES = ("rooms", "callbacks", "pending_connect", "pending_disconnect")


def room_index_fits(manager: Any) -> bool:
    """Whether python-socketio's manager is as `sockets.index_rooms` expects."""
    return all(callable(getattr(manager, m, None)) for m in _ROOM_METHODS) and all(
        isinstance(getattr(manager, t, None), dict) for t in _ROOM_TABLES
    )


def _room_index(app: rx.App) -> bool:
    manager = getattr(getattr(app, "sio", None), "manager", None)
    return manager is not None and room_index_fits(manager)


def _redis_notifications(_app: rx.App) -> bool:
    from reflex.istate.manager.redis import StateManagerRedis

    fields = {f.name for f in dataclasses.fields(StateManagerRedis)}
    return "_redis_notify_keyspace_events_enabled" in fields and inspect.iscoroutinefunction(
        getattr(StateManagerRedis, "_enable_keyspace_notifications", None)
    )


def _redis_leases(_app: rx.App) -> bool:
    from reflex.istate.manager.redis import StateManagerRedis

    fields = {f.name for f in dataclasses.fields(StateManagerRedis)}
    wanted = {"_oplock_enabled", "_local_leases", "_cached_states", "_cached_states_locks"}
    from reflex.state import BaseState

    return wanted <= fields and "_was_touched" in BaseState.__slots__


def _redis_manager_class() -> type:
    from reflex.istate.manager.redis import StateManagerRedis

    return StateManagerRedis


def redis_renewal_fits(manager: Any) -> bool:
    """Whether Reflex's Redis state manager (the class or one) is as
    `redis_store.lock_kept` expects."""
    fields = {f.name for f in dataclasses.fields(manager)}
    return (
        "lock_expiration" in fields
        and inspect.iscoroutinefunction(getattr(manager, "_try_extend_lock", None))
        and callable(getattr(manager, "_lock_key", None))
    )


def lease_renewal_fits(manager: Any) -> bool:
    """Whether Reflex's Redis state manager (the class or one) is as
    `redis_store.renew_leases` expects: `_local_leases` (by tab token), `_lock_key(token)`,
    `lock_expiration` and `redis`, with tagged locks (`lock_tagging_fits`)."""
    cls = manager if isinstance(manager, type) else type(manager)
    fields = {f.name for f in dataclasses.fields(cls)}
    return {"_local_leases", "lock_expiration", "redis"} <= fields and lock_tagging_fits(cls)


def contention_fits(manager: Any) -> bool:
    """Whether Reflex's Redis state manager (the class or one) is as
    `redis_store.answer_aside` expects: it subscribes its lock notifications with the
    instance's `_handle_lock_contention` (so an attribute of the instance replaces it),
    keeps `_local_leases`, `_cached_states` and `_cached_states_locks` by the tab's lock
    key, and counts a lock's waiters with `_n_lock_contenders(lock key)`."""
    cls = manager if isinstance(manager, type) else type(manager)
    fields = {f.name for f in dataclasses.fields(cls)}
    subscribe = getattr(cls, "_subscribe_lock_updates", None)
    try:
        binds_on_self = "self._handle_lock_contention" in inspect.getsource(subscribe)
    except (OSError, TypeError):
        binds_on_self = False
    return (
        {"_local_leases", "_cached_states", "_cached_states_locks"} <= fields
        and inspect.iscoroutinefunction(getattr(cls, "_handle_lock_contention", None))
        and inspect.iscoroutinefunction(getattr(cls, "_n_lock_contenders", None))
        and binds_on_self
    )


def write_back_fits(manager: Any) -> bool:
    """Whether Reflex's Redis state manager (the class or one) is as
    `redis_store.patient_write_backs` expects: `set_state(token, state, *, lock_id, ...)`
    makes a fenced write (one script that writes only while the lock is `lock_id`), and the
    lease breaker and events write through the instance's `self.set_state` (so an
    attribute of the instance replaces it), with `lock_expiration` (ms)."""
    cls = manager if isinstance(manager, type) else type(manager)
    set_state = getattr(cls, "set_state", None)
    try:
        fenced = "_FENCED_SAVE_SCRIPT" in inspect.getsource(set_state)
        through_self = "self.set_state(" in inspect.getsource(cls._create_lease_break_task)
    except (OSError, TypeError, AttributeError):
        return False
    return (
        inspect.iscoroutinefunction(set_state)
        and "lock_id" in inspect.signature(set_state).parameters
        and "lock_expiration" in {f.name for f in dataclasses.fields(cls)}
        and fenced
        and through_self
    )


def lock_tagging_fits(manager: Any) -> bool:
    """Whether Reflex's Redis state manager (the class or one) is as
    `redis_store.tag_locks` and `release_locks_of` expect: `_lock(token, event_name)`,
    which makes the lock's id from the event's name, and `_lock_key(token)`. (That the id
    is `{event_name}:{uuid hex}` and the key `{token}_lock` is checked against Redis by
    tests/contract/test_lock_release.py.)"""
    cls = manager if isinstance(manager, type) else type(manager)
    lock = getattr(cls, "_lock", None)
    return (
        callable(lock)
        and [p.name for p in _positional(lock)][:3] == ["self", "token", "event_name"]
        and callable(getattr(cls, "_lock_key", None))
        and "redis" in {f.name for f in dataclasses.fields(cls)}
    )


def _engineio_server(_app: rx.App) -> bool:
    from engineio.async_socket import AsyncSocket

    return (
        isinstance(_app.sio.eio.sockets, dict)
        and inspect.iscoroutinefunction(AsyncSocket.close)
        and "wait" in inspect.signature(AsyncSocket.close).parameters
        and "queue" in AsyncSocket.__init__.__code__.co_names
    )


def _hydrate_handler(_app: rx.App) -> bool:
    """The hydrate is a frozen EventHandler of the root state whose `fn` (a coroutine
    function) Reflex calls, registered under its full name as that very object."""
    from reflex_base.registry import RegistrationContext

    target = rx.State.event_handlers.get(hydrate.NAME)
    registered = RegistrationContext.get().event_handlers.get(f"{rx.State.get_full_name()}.{hydrate.NAME}")
    return (
        target is not None
        and registered is not None
        and registered.handler is target
        and dataclasses.is_dataclass(target)
        and "fn" in {f.name for f in dataclasses.fields(target)}
        and inspect.iscoroutinefunction(getattr(target.fn, hydrate.ORIGINAL, target.fn))
    )


INTERNALS: tuple[Internal, ...] = (
    Internal(
        "reflex.app.EventNamespace.on_connect(sid, environ, ...) (a coroutine function)",
        "sockets: a tab's socket opened",
        "refuse",
        _namespace_has(
            "on_connect", lambda f: _callable_with("sid", "environ")(f) and inspect.iscoroutinefunction(f)
        ),
    ),
    Internal(
        "reflex.app.EventNamespace.on_disconnect(sid, ...)",
        "sockets: a tab's socket closed",
        "refuse",
        _namespace_has("on_disconnect", _callable_with("sid")),
    ),
    Internal(
        "reflex.app.EventNamespace.sid_to_token (a dict: socket id → tab token)",
        "sockets: whose socket opened or closed",
        "refuse",
        _namespace_has("sid_to_token", lambda v: isinstance(v, dict)),
    ),
    Internal(
        "reflex.app.EventNamespace._build_static_router_data(sid, environ) → {RouteVar.CLIENT_IP: …}",
        "sockets: the client's address (as REFLEX_TRUSTED_PROXY_HOPS says) for the per-address cap",
        "refuse",
        _namespace_has("_build_static_router_data", _callable_with("sid", "environ")),
    ),
    Internal(
        "reflex.istate.manager.memory.StateManagerMemory._token_expires_at, _expiration_task,"
        " _ensure_expiration_task",
        "sockets.forget_soon: a closed tab's state goes after CHATAPP_TAB_STATE_TTL",
        "skip",
        lambda app: (
            _memory_has("_token_expires_at", kind=dict)(app)
            and _memory_has("_ensure_expiration_task")(app)
            and (_memory_manager(app) is None or hasattr(_memory_manager(app), "_expiration_task"))
        ),
    ),
    Internal(
        "reflex.app.App.sio.manager (python-socketio): basic_enter_room, basic_leave_room,"
        " basic_disconnect; rooms, callbacks, pending_connect, pending_disconnect (dicts)",
        "sockets.index_rooms: a closing socket leaves its own rooms, not a scan of all",
        "skip",
        _room_index,
    ),
    Internal(
        "reflex.istate.manager.memory.StateManagerMemory.states, _states_locks (dicts by tab token)",
        "tabs.push: change a tab's state in place when no handler holds it",
        "public path",
        _memory_has("states", "_states_locks", kind=dict),
    ),
    Internal(
        "reflex.istate.manager.redis.StateManagerRedis._oplock_enabled, _local_leases, _cached_states,"
        " _cached_states_locks (dicts by tab token); reflex.state.BaseState._was_touched",
        "tabs.push: with Redis, change a tab's state in place while this instance holds its lease",
        "public path",
        _redis_leases,
    ),
    Internal(
        "reflex.istate.manager.redis.StateManagerRedis._try_extend_lock(lock_key), _lock_key(token),"
        " lock_expiration (ms)",
        "redis_store.lock_kept: a page load waiting for its turn keeps its tab's lock past the expiry",
        "skip",
        lambda _app: redis_renewal_fits(_redis_manager_class()),
    ),
    Internal(
        "reflex.istate.manager.redis.StateManagerRedis._local_leases (by tab token),"
        " _lock_key(token), lock_expiration (ms), redis",
        "redis_store.renew_leases: the locks of this instance's leases outlive a busy event loop",
        "skip",
        lambda _app: lease_renewal_fits(_redis_manager_class()),
    ),
    Internal(
        "reflex.istate.manager.redis.StateManagerRedis._handle_lock_contention(message) (bound"
        " from the instance when the lock notifications are subscribed), _n_lock_contenders,"
        " _local_leases, _cached_states, _cached_states_locks",
        "redis_store.answer_aside: a handler holding its tab neither stalls the instance's lock"
        " notifications nor has its lease ended while it writes back",
        "skip",
        lambda _app: contention_fits(_redis_manager_class()),
    ),
    Internal(
        "reflex.istate.manager.redis.StateManagerRedis.set_state(token, state, *, lock_id) (a"
        " write fenced by the lock, called as self.set_state by the lease breaker), lock_expiration",
        "redis_store.patient_write_backs: a lease's write-back that found no free connection of"
        " the pool tries again instead of losing the lease's changes",
        "skip",
        lambda _app: write_back_fits(_redis_manager_class()),
    ),
    Internal(
        "reflex.istate.manager.redis.StateManagerRedis._lock(token, event_name) (lock id"
        " `{event_name}:{uuid hex}`), _lock_key(token) (`{token}_lock`), redis",
        "redis_store.tag_locks / release_locks_of: a dead instance's tab locks are released when"
        " it is reaped",
        "skip",
        lambda _app: lock_tagging_fits(_redis_manager_class()),
    ),
    Internal(
        "reflex.utils.token_manager (EventNamespace._token_manager).token_to_socket, instance_id",
        "tabs.push: the socket of a tab on this instance",
        "public path",
        _token_records,
    ),
    Internal(
        "reflex.app.EventNamespace._token_manager.link_token_to_sid(token, sid),"
        " disconnect_token(token, sid) (coroutine methods; with Redis, each a few round trips)",
        "sockets.take_turns_linking: in a storm the sockets' links and unlinks take turns for"
        " the Redis pool instead of failing on it, and a tab's reconnect takes over the unlink"
        " of its closed socket (else Reflex, with Redis, may give it a new token)",
        "skip",
        _namespace_has("_token_manager", token_links_fit),
    ),
    Internal(
        "reflex.state.BaseState.get_substate(path), get_value(name)",
        "tabs.push and keyed_dict: read a tab's state without change tracking",
        "public path",
        _state_methods("get_substate", "get_value"),
    ),
    Internal(
        "reflex.state.StateUpdate(delta=…), reflex_base.constants.SocketEvent.EVENT",
        "tabs.push: send one encoded delta to many sockets",
        "public path",
        lambda app: (
            _importable("reflex.state", "StateUpdate")(app)
            and _importable("reflex_base.constants", "SocketEvent")(app)
        ),
    ),
    Internal(
        "reflex.state.BaseState.get_delta(), dict(include_computed, initial),"
        " reflex_base.constants.state.FIELD_MARKER",
        "keyed_dict: a dict var's entries as one-key deltas",
        "refuse",
        lambda app: (
            _state_methods("get_delta", "dict")(app)
            and _importable("reflex_base.constants.state", "FIELD_MARKER")(app)
        ),
    ),
    Internal(
        "reflex Var(_js_expr=…, _var_data=…), Var._get_all_var_data(), reflex_base.vars.base.VarData,"
        " reflex_base.event.EventChain.create(value, args_spec, key)",
        "js: Vars from JS expressions, the idle watcher's callback",
        "refuse",
        lambda app: (
            _var_internals(app)
            and _importable("reflex_base.vars.base", "VarData")(app)
            and _importable("reflex_base.event", "EventChain")(app)
        ),
    ),
    Internal(
        "reflex.components.core.banner.has_connection_errors (a Var of the frontend's failed connects)",
        "js.connection_lost: the connection line and the composer while the connection is lost",
        "refuse",
        _importable("reflex.components.core.banner", "has_connection_errors"),
    ),
    Internal(
        "reflex.app.App.app_wraps[(5, 'Overlay')] (Reflex's connection toasts and pulser)",
        "overlay.replace: the connection line instead of Reflex's toast (it covered the composer on a phone)",
        "refuse",
        lambda app: (5, "Overlay") in app.app_wraps,
    ),
    Internal(
        "reflex.app.App.sio.eio (python-engineio AsyncServer): sockets (a dict of AsyncSocket);"
        " AsyncSocket.close(wait=…), AsyncSocket.queue (None ends its writer, which closes the websocket)",
        "sockets.drop_all: a Redis outage closes every socket at its transport (browsers reconnect)",
        "refuse",
        _engineio_server,
    ),
    Internal(
        "reflex.state.State.event_handlers['hydrate_and_load'] (a frozen EventHandler whose fn,"
        " a coroutine function, Reflex calls; the one registered under the hydrate's full name)",
        "hydrate.wrap: hydrates take turns in a reconnect storm (page_loads.hydrate_in_turn)",
        "skip",
        _hydrate_handler,
    ),
    Internal(
        "reflex.state.OnLoadInternalState.on_load_internal (what State.hydrate_and_load returns for"
        " a page with on_load handlers), reflex.app.App.get_load_events(path), State.rx_router_url,"
        " App.backend_exception_handler (called with a handler's exception, returns its events)",
        "hydrate.load_inline: a (re)connecting tab's page loads in its hydrate, one event instead of four",
        "skip",
        hydrate.fits,
    ),
    Internal(
        "reflex_base.event.processor.base_state_processor.BaseStateEventProcessor._execute_event"
        "(self, *, entry, registered_handler) (a coroutine function that takes the tab's lock,"
        " then calls registered_handler.handler.fn)",
        "turns.install: page loads and hydrates wait for their turn before their tab's lock",
        "skip",
        lambda _app: turns.fits(turns.processor_class()),
    ),
    Internal(
        "reflex.app.App._api (its routes: a Mount at [backend path +] Endpoint.EVENT, whose app"
        " serves the socket server)",
        "socket_route.direct: a tab's websocket goes straight to the socket server, past the"
        " HTTP middleware (less memory per tab)",
        "skip",
        socket_route.fits,
    ),
    Internal(
        "reflex.istate.manager.redis.StateManagerRedis._redis_notify_keyspace_events_enabled,"
        " _enable_keyspace_notifications()",
        "redis_store.came_back: keyspace notifications on again after Redis restarted",
        "skip",
        _redis_notifications,
    ),
)


def missing(app: rx.App) -> list[Internal]:
    """The internals this app lacks (empty on the pinned Reflex)."""
    return [i for i in INTERNALS if not _safely(i.present, app)]


def _safely(present: Callable[[rx.App], bool], app: rx.App) -> bool:
    try:
        return bool(present(app))
    except Exception:  # a changed internal may fail in any way: it is missing
        return False


def fast_path(app: rx.App) -> bool:
    """Whether `tabs.push` may change tabs in place (every "public path" internal there)."""
    return not any(i.if_missing == "public path" for i in _decided(app))


def forget_early(app: rx.App) -> bool:
    """Whether `sockets.forget_soon` can shorten a closed tab's stay."""
    return not any(i.if_missing == "skip" and "forget_soon" in i.needed_by for i in _decided(app))


def _decided(app: rx.App) -> list[Internal]:
    """The internals this app lacks, as decided by `check_at_startup` (or at the first
    question, if it did not run): checked once, not at every push and socket close (a
    reconnect storm asks thousands of times; Reflex does not change under a running app)."""
    cached = _missing.get(id(app))
    if cached is None or cached[0] is not app:
        cached = _decide(app, missing(app))
    return cached[1]


def _decide(app: rx.App, gone: list[Internal]) -> tuple[rx.App, list[Internal]]:
    decided = _missing[id(app)] = (app, gone)
    return decided


_missing: dict[int, tuple[rx.App, list[Internal]]] = {}


def check_at_startup(app: rx.App) -> None:
    """Refuse to start without a needed internal; say which savings are off.

    Raises:
        ReflexChanged: Naming every "refuse" internal that is missing.
    """
    gone = missing(app)
    _decide(app, gone)
    refused = [i for i in gone if i.if_missing == "refuse"]
    if refused:
        names = "; ".join(f"{i.name} (for {i.needed_by})" for i in refused)
        msg = (
            f"This Reflex ({rx.constants.Reflex.VERSION}) lacks what chatapp's adapter needs: {names}. "
            "See README, 'Upgrading Reflex'."
        )
        raise ReflexChanged(msg)
    for i in gone:
        logger.warning("Reflex internal missing: %s; %s goes the %s way", i.name, i.needed_by, i.if_missing)
