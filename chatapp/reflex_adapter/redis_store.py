"""What Reflex's Redis state manager needs again after Redis came back.

- Reflex turns on Redis's keyspace notifications once per process (a `CONFIG SET`) and
  remembers that it did; a Redis restarted without them never tells a waiting instance
  that a tab's lock was released (it waits out the lock's expiry, seconds) or that
  another instance wants a lease it holds. `came_back` turns them on again.
- With opportunistic locks, this instance keeps the states of the tabs it leases (and
  their locks). A Redis restarted empty no longer has those locks: another instance
  would take the lock and work on the state in Redis while this one kept its copy, two
  states for one tab. `came_back` gives every lease up without writing its copy back
  (the outage closed every socket; each tab's page load rebuilds its state) and
  releases its lock where it still exists.

- A handler that waits on purpose while it holds its tab (a page load waiting for its
  turn in a reconnect storm, `states/page_loads.py`) must not lose the tab's lock to its
  expiry (10 s): the state it then made was refused (`LockExpiredError`) and the tab
  was left half loaded. `lock_kept` renews the lock while it waits.

- An instance that dies keeps the tab locks it held in Redis until they expire (Reflex's
  `redis_lock_expiration`, 30 s in `rxconfig.py`): every event of those tabs and every
  delivery to them waits that long, on any instance (a delivery leases the recipient's
  tab where it runs, whichever instance has its socket). Reflex's lock ids (`{event}:{uuid hex}`, in
  the key `{token}_lock`) do not say which instance took them; `tag_locks` makes every
  lock this instance takes begin with its registry's instance id and `|`, and
  `release_locks_of` deletes the locks of a reaped instance, each only if its value
  still begins with that instance's tag (compared and deleted in one Lua script, so a
  lock another instance took since is never touched).

- Reflex takes a lease's lock for the lock's expiry (30 s) and writes the state back
  after the hold time (20 s), if its event loop gets to it in time, and if no handler of
  the tab holds it then. A reconnect storm that kept one instance's loop busy 32 s let a
  lease's lock expire first: the write-back was refused (`LockExpiredError`) and the
  lease's changes were lost. `keeping_leases` renews the locks of this instance's leases
  a third of the expiry at a time, each only while it still holds it.

- A handler that holds its tab while it waits also met two flaws of Reflex's answer to
  a request for a leased tab (another event, here or on another instance, waits for its
  lock): Reflex answers inside the loop that reads its lock notifications, and waits
  there for the tab's handler to finish, so one page load waiting for its turn held up
  every lock notification of the instance (every other waiter waited with it, up to the
  lock's expiry); and, answered late, it ended the lease while the lease was writing its
  state back, so the lock was released before the write, which was refused
  (`LockExpiredError`, seen on 2 instances at 2,000 tabs: a hydrate's lease ended by its
  own request for the lock, read from the notifications 30 s late). `answer_aside` answers
  in a task of its own, after any write-back queued for the tab, and only while someone
  still waits and the lease has not begun to write back.

- A lease's write-back is one Redis command, fenced by the tab's lock, on Reflex's bounded
  pool (rxconfig.py). In a reconnect storm of 10,000 tabs on two instances, 515-613
  write-backs per instance waited past the pool's timeout for a connection and failed
  ("No connection available", logged as an exception of the lease breaker): each lost
  the lease's changes, a tab state left behind what its browser was sent. A write-back
  sends nothing before it has a connection, and the fence makes a second try write only
  while the lock is still this lease's (renewed by `keeping_leases`): `patient_write_backs`
  makes a fenced write that timed out on the pool try again, for up to the locks' expiry.

The internals are listed in `internals` with a contract test.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import reflex as rx

from chatapp.redis_pool import patiently
from chatapp.reflex_adapter import internals

logger = logging.getLogger(__name__)


def _redis_manager(app: rx.App, fits: Callable[[Any], bool] | None = None) -> Any | None:
    """The app's Redis state manager, if its state is kept in Redis and (given `fits`,
    an `internals` check) the internals a caller reaches for are as expected; else None."""
    from reflex.istate.manager.redis import StateManagerRedis

    manager = app.state_manager
    if not isinstance(manager, StateManagerRedis) or (fits is not None and not fits(manager)):
        return None
    return manager


async def came_back(app: rx.App) -> bool:
    """Turn Reflex's keyspace notifications on again and give up this instance's leases
    (Redis may have restarted empty).

    Returns:
        Whether there was anything to do (False: state is not kept in Redis).
    """
    manager = _redis_manager(app)
    if manager is None:
        return False
    manager._redis_notify_keyspace_events_enabled = False
    await manager._enable_keyspace_notifications()
    await forget_leases(manager)
    return True


async def forget_leases(manager: object) -> int:
    """End every lease of this instance without writing its state back.

    Returns:
        How many leases were ended.
    """
    leases = getattr(manager, "_local_leases", None)
    cached = getattr(manager, "_cached_states", None)
    if not isinstance(leases, dict) or not isinstance(cached, dict):
        return 0
    tasks = list(leases.values())
    # A lease's end writes back the state it finds cached: none is left to find.
    cached.clear()
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    logger.info("gave up %d leases of tab states", len(tasks))
    return len(tasks)


def locks_expire(app: rx.App) -> bool:
    """Whether tabs' locks expire here (state kept in Redis), so a long wait needs
    `lock_kept`."""
    return _redis_manager(app) is not None


@contextlib.asynccontextmanager
async def lock_kept(app: rx.App, token: str) -> AsyncIterator[None]:
    """Renew the tab's lock in Redis while inside (a third of its expiry at a time),
    for a handler that holds its tab and waits. Nothing to do without Redis."""
    manager = _redis_manager(app, internals.redis_renewal_fits)
    if manager is None:
        yield
        return
    lock_key = manager._lock_key(rx.BaseStateToken(ident=token, cls=rx.State))
    renewing = asyncio.create_task(_renewing(manager, lambda: manager._try_extend_lock(lock_key)))
    try:
        yield
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing


def patient_write_backs(app: rx.App) -> bool:
    """Make every write of a tab state fenced by its lock (a lease's write-back, an
    event's save) try again when it timed out waiting for a connection of the pool, for up
    to the locks' expiry from its first try (see the module's docstring).

    Returns:
        Whether it is installed (False: state not in Redis, or Reflex changed).
    """
    manager = _redis_manager(app, internals.write_back_fits)
    if manager is None:
        return False
    hasty = type(manager).set_state.__get__(manager)

    async def set_state(token, state, *, lock_id: bytes | None = None, **context):
        if lock_id is None:  # not fenced: Reflex's own retries, if any, apply
            return await hasty(token, state, **context)
        return await patiently(
            lambda: hasty(token, state, lock_id=lock_id, **context),
            manager.lock_expiration / 1000,
            what="a tab state's write",
        )

    manager.set_state = set_state  # the instance's attribute wins over the class's method
    return True


def lock_tag(instance_id: str) -> str:
    """How the lock ids taken by an instance begin (instance ids hold no `|`)."""
    return f"{instance_id}|"


def tag_locks(app: rx.App, instance_id: str) -> bool:
    """Make every tab lock this instance takes from now on say so: its id begins with
    `lock_tag(instance_id)`. Reflex uses the event name it passes to `_lock` only to make
    the lock's id; the rest of the id stays unique as before.

    Returns:
        Whether the locks are tagged (False: state not in Redis, or Reflex changed).
    """
    manager = _redis_manager(app, internals.lock_tagging_fits)
    if manager is None:
        return False
    untagged = type(manager)._lock.__get__(manager)
    tag = lock_tag(instance_id)

    def _lock(token, event_name: str | None = None):
        return untagged(token, event_name=f"{tag}{event_name or ''}")

    manager._lock = _lock  # the instance's attribute wins over the class's method
    return True


# Tasks answering requests for leased tabs (kept until done: the loop holds tasks weakly).
_answering: set[asyncio.Task] = set()
# How often a request waiting for a tab's handler looks again (it waits behind a
# write-back queued for the tab, which it would take the tab from if it queued first).
_ANSWER_POLL = 0.05


def answer_aside(app: rx.App) -> bool:
    """Answer requests for this instance's leased tabs (`_handle_lock_contention`) in a
    task of their own, behind the tab's handler and its lease's write-back, and only while
    someone still waits (see the module's docstring). Must run before the first lease
    (Reflex binds the answer when it subscribes to its lock notifications).

    Returns:
        Whether it is installed (False: state not in Redis, or Reflex changed).
    """
    manager = _redis_manager(app, internals.contention_fits)
    if manager is None:
        return False

    async def _handle_lock_contention(message: Any) -> None:
        if message["data"] != b"sadd":
            return
        waiters_key = message["channel"].rsplit(b":", 1)[1]  # as Reflex reads it
        task = asyncio.create_task(_answer(manager, waiters_key))
        _answering.add(task)
        task.add_done_callback(_answering.discard)

    manager._handle_lock_contention = _handle_lock_contention
    return True


async def _answer(manager: Any, waiters_key: bytes) -> None:
    """End the lease of the tab whose lock `waiters_key` (`{token}_lock_waiters`) is asked
    for, once its handler is done, unless the request is stale (nobody waits: the waiter got
    the lock, a lease of its own instance, or gave up) or the lease is writing back (it
    ends by itself, and ending it then released the lock before the write)."""
    lock_key = waiters_key.removesuffix(b"_waiters")
    token = lock_key.removesuffix(b"_lock").decode()
    state_lock = manager._cached_states_locks.get(token)
    if state_lock is None:
        return
    while state_lock.locked():  # polled, not queued: a write-back queued meanwhile goes first
        await asyncio.sleep(_ANSWER_POLL)
    async with state_lock:
        lease = manager._local_leases.get(token)
        if lease is None or lease.done() or lease.cancelling() or token not in manager._cached_states:
            return
        if not await manager._n_lock_contenders(lock_key):
            return
        lease.cancel()


def _for_tagged_locks(action: str) -> str:
    """A script that runs `action` (Lua, on `key`) on each lock whose value begins with an
    instance's tag, and returns how many. KEYS: lock keys; ARGV[1]: the tag, then the
    action's arguments. Each value is read and acted on in one script: a lock that changed
    hands in between cannot be touched."""
    return f"""
local n = 0
for _, key in ipairs(KEYS) do
  local held = redis.call('GET', key)
  if held and string.sub(held, 1, #ARGV[1]) == ARGV[1] then
    {action}
    n = n + 1
  end
end
return n
"""


# Deletes a (dead) instance's locks.
_RELEASE = _for_tagged_locks("redis.call('DEL', key)")
# Renews this instance's locks for ARGV[2] ms.
_RENEW = _for_tagged_locks("redis.call('PEXPIRE', key, ARGV[2])")

# Lock keys per script run (one SCAN page's worth at most).
_BATCH = 500


async def release_locks_of(app: rx.App, instance_id: str) -> int:
    """Delete every tab lock that the (dead) instance `instance_id` still holds in Redis,
    so that its tabs' next events, on other instances, take them at once (a `DEL` wakes
    Reflex's waiters through its keyspace notifications) instead of waiting out the lock's
    expiry. Its leases' unwritten changes are lost, as when the locks expire.

    Every lock key (`*_lock`) of Reflex's Redis database is looked at, with SCAN: not only
    the tabs whose sockets the dead instance held (the presence registry's), also tabs it
    leased for a delivery and tabs nobody signed in to. Once per reaped instance.

    Returns:
        How many locks were deleted (0 without state in Redis or with a changed Reflex).
    """
    manager = _redis_manager(app, internals.lock_tagging_fits)
    if manager is None:
        return 0
    release = manager.redis.register_script(_RELEASE)
    tag = lock_tag(instance_id)
    deleted = 0
    batch: list[bytes] = []
    async for key in manager.redis.scan_iter(match="*_lock", count=1000):
        batch.append(key)
        if len(batch) >= _BATCH:
            deleted += int(await release(keys=batch, args=[tag]))
            batch = []
    if batch:
        deleted += int(await release(keys=batch, args=[tag]))
    return deleted


async def renew_leases(app: rx.App, instance_id: str) -> int:
    """Renew, for another full expiry, the lock of every tab this instance holds a lease
    on, where it still holds it (a lock that expired and went to another instance stays
    theirs). Locks must be tagged (`tag_locks`).

    Returns:
        How many locks were renewed (0 without leases in Redis or with a changed Reflex).
    """
    manager = _redis_manager(app, internals.lease_renewal_fits)
    if manager is None:
        return 0
    tokens = [token for token, lease in list(manager._local_leases.items()) if not lease.done()]
    renew = manager.redis.register_script(_RENEW)
    args = [lock_tag(instance_id), manager.lock_expiration]
    renewed = 0
    for start in range(0, len(tokens), _BATCH):
        keys = [
            manager._lock_key(rx.BaseStateToken(ident=t, cls=rx.State))
            for t in tokens[start : start + _BATCH]
        ]
        renewed += int(await renew(keys=keys, args=args))
    return renewed


async def keeping_leases(app: rx.App, instance_id: str) -> None:
    """Renew this instance's leases' locks (`renew_leases`) a third of their expiry at a
    time, until cancelled (the server stops). Nothing to do without leases in Redis."""
    manager = _redis_manager(app, internals.lease_renewal_fits)
    if manager is None:
        return
    await _renewing(manager, lambda: renew_leases(app, instance_id))


async def _renewing(manager: Any, renew: Callable[[], Awaitable[object]]) -> None:
    """Call `renew` a third of the locks' expiry at a time, until cancelled. A failure
    (Redis away: the outage gives the tabs and leases up) waits for the next turn."""
    every = max(manager.lock_expiration / 3000, 0.05)
    while True:
        await asyncio.sleep(every)
        try:
            await renew()
        except Exception as exc:
            logger.debug("renewing a lock failed (%r)", exc)
