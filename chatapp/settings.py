"""Settings read once from the environment; every knob the app has is listed here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

# The presence keys' prefix in Redis unless `CHATAPP_PRESENCE_PREFIX` says otherwise.
PRESENCE_PREFIX = "chatapp:presence"


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


_ON, _OFF = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _switch(name: str) -> bool | None:
    """An on/off variable: None when unset, so that the app can tell "not asked" apart."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return None
    if raw not in _ON | _OFF:
        msg = f"{name} must be 1 or 0, not {raw!r}"
        raise ValueError(msg)
    return raw in _ON


@dataclass(frozen=True)
class Settings:
    """The app's settings.

    Attributes:
        db_url: SQLAlchemy URL of the database (Reflex's own `REFLEX_DB_URL`).
        redis_url: Reflex's `REFLEX_REDIS_URL`; empty means one process, in-memory registry.
        presence_grace: Seconds a user's last tab may be gone before peers see them offline.
            A reload closes the socket and opens a new one; the grace hides that gap.
        presence_storm_grace: The grace instead, in seconds, of a socket that closes
            within a mass drop (a quarter of an instance's sockets, at least 50, closing within 2 s: a
            restart, a network cut), while the server works through the reconnects.
        presence_storm_grace_max: The longest, in seconds after the close, that the offline
            of a user whose tab closed in a mass drop is put off while that drop's tabs are
            still coming back (a storm that outlasts `presence_storm_grace`).
        page_loads: How many page loads (the signed-in pages' on_load handlers) a
            process runs at once; the others wait their turn (`states/page_loads.py`).
        idle_after: Seconds without input in every tab before a user becomes away.
        message_max_length: The longest message body accepted, in characters.
        last_seen_flush: Seconds between writes of "still here" for online users, so that a
            crash loses at most this much of their last-seen time.
        seed_demo: Whether `python -m chatapp.seed` may fill an empty database with the demo
            users (whose password is public): True or False when CHATAPP_SEED_DEMO says so,
            None when it is unset: then only a development run is seeded (`chatapp.seed`).
        presence_prefix: The prefix of the presence keys in Redis: instances that share it
            share presence (one per deployment; tests use one per run).
        max_sockets_per_address: Open sockets one client address may hold on one instance
            (each costs a tab state); one more is refused at its handshake. 0: no cap.
        max_tabs_per_user: Open tabs one user may have in presence, over all their logins
            and devices; a further tab is told to close one. 0: no cap.
        tab_state_ttl: Seconds a closed tab's state is kept once it has not come back
            within the presence grace (Reflex keeps it an hour otherwise).
        limits_prefix: The prefix of the rate-limit keys in Redis: one per deployment sharing
            a Redis (the limits of all its instances are counted together).
        presence_heartbeat: Seconds between an instance's heartbeats in Redis.
        presence_instance_ttl: Seconds after its last heartbeat that an instance counts as
            dead: its tabs end and their users go offline (a crash is noticed within
            about this plus `presence_sweep`).
        presence_sweep: Seconds between an instance's sweeps for dead instances and for
            offlines that fell due.
        redis_max_connections: The most connections each Redis client of a process
            opens (Reflex's, the presence registry's, the limits'); more callers wait for
            a free one (`chatapp.redis_pool`).
        redis_pool_timeout: Seconds a caller waits for a free Redis connection before
            it fails (below the tab locks' 30 s expiry).
        max_loop_lag: Seconds a process's event loop may run behind before it refuses new
            sockets until it catches up (`chatapp.loop_lag`); 0: never refuses.
    """

    db_url: str
    redis_url: str
    presence_grace: float
    presence_storm_grace: float
    presence_storm_grace_max: float
    page_loads: int
    idle_after: float
    message_max_length: int
    last_seen_flush: float
    seed_demo: bool | None
    presence_prefix: str
    limits_prefix: str
    max_sockets_per_address: int
    max_tabs_per_user: int
    tab_state_ttl: float
    presence_heartbeat: float
    presence_instance_ttl: float
    presence_sweep: float
    redis_max_connections: int
    redis_pool_timeout: float
    max_loop_lag: float


def load_settings() -> Settings:
    """Read the settings from the environment.

    Returns:
        The settings.
    """
    return Settings(
        db_url=os.environ.get("REFLEX_DB_URL", "sqlite:///chatapp.db"),
        redis_url=os.environ.get("REFLEX_REDIS_URL", ""),
        presence_grace=_float("CHATAPP_PRESENCE_GRACE", 1.5),
        presence_storm_grace=_float("CHATAPP_PRESENCE_STORM_GRACE", 30.0),
        presence_storm_grace_max=_float("CHATAPP_PRESENCE_STORM_GRACE_MAX", 120.0),
        page_loads=_int("CHATAPP_PAGE_LOADS", 4),
        idle_after=_float("CHATAPP_IDLE_AFTER", 300.0),
        message_max_length=_int("CHATAPP_MESSAGE_MAX_LENGTH", 4000),
        last_seen_flush=_float("CHATAPP_LAST_SEEN_FLUSH", 30.0),
        seed_demo=_switch("CHATAPP_SEED_DEMO"),
        presence_prefix=os.environ.get("CHATAPP_PRESENCE_PREFIX", "").strip() or PRESENCE_PREFIX,
        max_sockets_per_address=_int("CHATAPP_MAX_SOCKETS_PER_ADDRESS", 500),
        max_tabs_per_user=_int("CHATAPP_MAX_TABS_PER_USER", 50),
        tab_state_ttl=_float("CHATAPP_TAB_STATE_TTL", 300.0),
        limits_prefix=os.environ.get("CHATAPP_LIMITS_PREFIX", "").strip() or "chatapp:limits",
        presence_heartbeat=_float("CHATAPP_PRESENCE_HEARTBEAT", 3.0),
        presence_instance_ttl=_float("CHATAPP_PRESENCE_INSTANCE_TTL", 10.0),
        presence_sweep=_float("CHATAPP_PRESENCE_SWEEP", 1.0),
        redis_max_connections=_int("CHATAPP_REDIS_MAX_CONNECTIONS", 100),
        redis_pool_timeout=_float("CHATAPP_REDIS_POOL_TIMEOUT", 10.0),
        max_loop_lag=_float("CHATAPP_MAX_LOOP_LAG", 1.0),
    )


settings = load_settings()


# Origins ----------------------------------------------------------------------------
# Which web pages may open the app's websocket and read its HTTP answers (Reflex's
# `cors_allowed_origins`: socket.io refuses the handshake of a page from any other origin,
# and CORS answers only these). Not a field of `settings`: rxconfig.py reads it each time
# Reflex loads the config, because `reflex run` exports the frontend's port to the
# environment only after its first load.

ANY_ORIGIN = ("*",)
# Names of this machine that a browser may use for the same address.
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Reflex's frontend port when `reflex run` is given none (constants.DefaultPorts).
_REFLEX_FRONTEND_PORT = 3000


def origin_of(url: str) -> str:
    """The origin of a URL as a browser sends it in `Origin`: scheme://host[:port].

    Raises:
        ValueError: Not an http(s) URL with a host.
    """
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        msg = f"not an http(s) origin: {url!r}"
        raise ValueError(msg)
    host = f"[{host}]" if ":" in host else host  # IPv6, lower-cased by urlsplit
    port = parts.port  # a ValueError of its own when not a number
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def _with_loopback_names(origin: str) -> list[str]:
    """The origin, and if it is this machine, the same under its other loopback names."""
    parts = urlsplit(origin)
    host = parts.hostname or ""
    if (f"[{host}]" if ":" in host else host) not in _LOOPBACK:
        return [origin]
    port = f":{parts.port}" if parts.port else ""
    return [f"{parts.scheme}://{name}{port}" for name in _LOOPBACK]


def allowed_origins(environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """The origins allowed to use the backend (CHATAPP_ALLOWED_ORIGINS, else the app's own).

    CHATAPP_ALLOWED_ORIGINS, comma-separated, when set ("*": any origin). Unset, the app's
    own origin, from what Reflex knows of where its pages are served: REFLEX_DEPLOY_URL
    and REFLEX_API_URL when set (a site behind a proxy, Reflex hosting); otherwise the
    frontend of `reflex run`, http://localhost on the port it serves pages on (the
    frontend's port in development, the single port in production). A backend started on
    its own (`--backend-only` without those variables, or Reflex's AppHarness, which picks
    the frontend's port after the socket exists) cannot know where its pages come from:
    any origin then, as Reflex's default. Either way a loopback origin stands for all the
    machine's loopback names (localhost, 127.0.0.1, [::1]): the same server.

    A request without an `Origin` header is never refused (socket.io checks only the
    header that is there): browsers always send it, and only a browser can be made to
    connect on a user's behalf by a page of another site.

    Args:
        environ: The environment to read.

    Returns:
        The origins, or `ANY_ORIGIN`.

    Raises:
        ValueError: CHATAPP_ALLOWED_ORIGINS names something that is not an origin.
    """
    urls = [o.strip() for o in environ.get("CHATAPP_ALLOWED_ORIGINS", "").split(",") if o.strip()]
    if "*" in urls:
        return ANY_ORIGIN
    if not urls:
        urls = [
            environ[n].strip() for n in ("REFLEX_DEPLOY_URL", "REFLEX_API_URL") if environ.get(n, "").strip()
        ]
    backend_only = environ.get("REFLEX_BACKEND_ONLY", "").strip().lower() in {"1", "true", "yes"}
    if not urls and not backend_only:
        port = environ.get("REFLEX_FRONTEND_PORT", "").strip()
        if not port and environ.get("REFLEX_ENV_MODE", "").strip().lower() == "prod":
            port = str(_REFLEX_FRONTEND_PORT)  # `reflex run --env prod` without a port
        if port:
            urls = [f"http://localhost:{port}"]
    if not urls:
        return ANY_ORIGIN
    return tuple(dict.fromkeys(o for url in urls for o in _with_loopback_names(origin_of(url))))
