"""Reflex configuration: every setting that differs per deployment comes from the environment."""

import gc
import os
from pathlib import Path

import reflex as rx

from chatapp import gc_tuning
from chatapp.settings import allowed_origins, settings

# Reflex notices a silently lost client by its socket.io ping: with the defaults
# (25 s interval, 120 s timeout) a frozen browser stayed "online" for 144 s. These
# are read by Reflex from the environment, not from rx.Config, so set them before
# the socket server is created. 5 s + 5 s measured 8.8 s to offline.
os.environ.setdefault("REFLEX_SOCKET_INTERVAL", "5")
os.environ.setdefault("REFLEX_SOCKET_TIMEOUT", "5")

# Development mode's reloader watches every top-level entry of the repo that is not
# hidden, with an ignore list by file extension: it skipped `chatapp.db` but not SQLite's
# `chatapp.db-wal` / `-shm`, so every database write (a login, a message) restarted the
# backend, and each restart's page load wrote again (14-23 restarts per login). Watch the
# source instead of the tree: whatever the app writes at runtime (databases, logs, files
# a test or a benchmark leaves) can then never restart it. Reflex reads this variable when
# it starts the reloader, after loading this file; a value set by the user wins.
_ROOT = Path(__file__).resolve().parent
SOURCE_PATHS = [_ROOT / "chatapp", _ROOT / "assets", Path(__file__).resolve()]
os.environ.setdefault("REFLEX_HOT_RELOAD_OVERRIDE_PATHS", os.pathsep.join(map(str, SOURCE_PATHS)))

# Tab states in memory, not Reflex's default disk state manager: the disk manager
# pickles every changed tab state to a file and lists the whole states directory on
# every pass of its writer, which with 1,000 tabs cost more than the presence fan-out
# itself (docs/benchmarks.md). Nothing is lost that was kept before: `reflex run` empties
# the states directory on every start, and each page load rebuilds a tab's state.
# With Redis configured, Reflex picks its Redis state manager by itself, so the mode
# is left unset then; REFLEX_STATE_MANAGER_MODE overrides either way.
_state_manager = {} if settings.redis_url else {"state_manager_mode": rx.constants.StateManagerMode.MEMORY}

# With Redis, Reflex's opportunistic locks: an instance that uses a tab keeps its state
# (and the tab's lock) for a lease of REFLEX_OPLOCK_HOLD_TIME (half the lock's expiry by
# default) instead of reading and writing the whole state in Redis on every event, and
# `tabs.push` changes a leased state in place, as it does in one process. Without them
# every delivery was a state's round trip through Redis (docs/instances.md).
#
# Leases of 20 s (Reflex's default is half its 10 s lock expiry), locks that expire after
# 30 s (the hold time must stay below the expiry): measured with 1,000 tabs, 1 and 2
# instances went from p99 575 / 325 ms to 175 / 101 ms, from 135 to 92-99 Redis commands
# per change, and became correct (docs/instances.md). A presence change reaches a tab
# about every 5.5 s there: a 5 s lease had nearly every delivery take a new one.
# The price was a killed instance: the locks it held stayed until they expired, and
# every event of and delivery to those tabs waited, up to 30 s. That includes tabs on
# other instances (relaying a message leases the recipient's tab where the sender's event
# ran): tests/scaleout/test_instance_crash.py measured 30.1 s from a kill to the peer's
# offline. No longer: every lock an instance takes names it, and the sweep that reaps a
# dead instance releases its locks (`redis_store.release_locks_of`, wired in `wiring`),
# so a crash holds a tab for the instance TTL at most (CHATAPP_PRESENCE_INSTANCE_TTL,
# 10 s, plus one sweep, 1 s), whatever the lease (measured: 8.5-9.7 s). A stalled
# instance (event loop blocked past that TTL) is reaped alike: its leases' unwritten
# changes are refused, as when a lock expires. Values set in the environment win.
if settings.redis_url:
    os.environ.setdefault("REFLEX_OPLOCK_ENABLED", "true")
    os.environ.setdefault("REFLEX_OPLOCK_HOLD_TIME", "20s")
    os.environ.setdefault("REFLEX_REDIS_LOCK_EXPIRATION", "30000")  # milliseconds
    # Reflex's Redis client on a bounded pool, as the app's own (`chatapp.redis_pool`): left
    # unbounded it opened connections until Redis refused them, in a storm of 5,000 tabs.
    os.environ.setdefault("REFLEX_REDIS_MAX_CONNECTIONS", str(settings.redis_max_connections))
    os.environ.setdefault("REFLEX_REDIS_POOL_TIMEOUT", f"{settings.redis_pool_timeout}s")

# The garbage collector, tuned for a server holding every tab's state (`gc_tuning`):
# - Objects made before the server forks its worker (the app's modules, compiled pages,
#   SQLAlchemy metadata) live as long as the process: frozen, no collection walks them.
# - Young collections short and frequent, the older ones rare.
# CHATAPP_GC_DEFAULTS=1 keeps Python's defaults (to compare). See docs/benchmarks.md.
if os.environ.get("CHATAPP_GC_DEFAULTS", "") != "1":
    gc.set_threshold(*gc_tuning.THRESHOLDS)
    os.register_at_fork(before=lambda: (gc.collect(), gc.freeze()))

config = rx.Config(
    app_name="chatapp",
    db_url=settings.db_url,
    telemetry_enabled=False,
    # Left unset, a production build pins a "Built with Reflex" badge over the bottom
    # right corner, where it covered the composer's Send button.
    show_built_with_reflex=False,
    # Pages of other sites may not open the websocket or read the backend's answers: the
    # app's own origin only (or CHATAPP_ALLOWED_ORIGINS). Computed at each load of this
    # file, as `reflex run` exports the frontend's port between loads (chatapp/settings.py).
    cors_allowed_origins=allowed_origins(),
    **_state_manager,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(accent_color="indigo", radius="large", has_background=True)
        )
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
