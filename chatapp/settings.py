"""Settings read once from the environment; every knob the app has is listed here."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    """The app's settings.

    Attributes:
        db_url: SQLAlchemy URL of the database (Reflex's own `REFLEX_DB_URL`).
        redis_url: Reflex's `REFLEX_REDIS_URL`; empty means one process, in-memory registry.
        presence_grace: Seconds a user's last tab may be gone before peers see them offline.
            A reload closes the socket and opens a new one; the grace hides that gap.
        idle_after: Seconds without input in every tab before a user becomes away.
        message_max_length: The longest message body accepted, in characters.
        last_seen_flush: Seconds between writes of "still here" for online users, so that a
            crash loses at most this much of their last-seen time.
        seed_demo: Whether `python -m chatapp.seed` fills an empty database with demo users.
        presence_prefix: The prefix of the presence keys in Redis: instances that share it
            share presence (one per deployment; tests use one per run).
        presence_heartbeat: Seconds between an instance's heartbeats in Redis.
        presence_instance_ttl: Seconds after its last heartbeat that an instance counts as
            dead: its tabs end and their users go offline (a crash is noticed within
            about this plus `presence_sweep`).
        presence_sweep: Seconds between an instance's sweeps for dead instances and for
            offlines that fell due.
    """

    db_url: str
    redis_url: str
    presence_grace: float
    idle_after: float
    message_max_length: int
    last_seen_flush: float
    seed_demo: bool
    presence_prefix: str
    presence_heartbeat: float
    presence_instance_ttl: float
    presence_sweep: float


def load_settings() -> Settings:
    """Read the settings from the environment.

    Returns:
        The settings.
    """
    return Settings(
        db_url=os.environ.get("REFLEX_DB_URL", "sqlite:///chatapp.db"),
        redis_url=os.environ.get("REFLEX_REDIS_URL", ""),
        presence_grace=_float("CHATAPP_PRESENCE_GRACE", 1.5),
        idle_after=_float("CHATAPP_IDLE_AFTER", 300.0),
        message_max_length=_int("CHATAPP_MESSAGE_MAX_LENGTH", 4000),
        last_seen_flush=_float("CHATAPP_LAST_SEEN_FLUSH", 30.0),
        seed_demo=os.environ.get("CHATAPP_SEED_DEMO", "1") != "0",
        presence_prefix=os.environ.get("CHATAPP_PRESENCE_PREFIX", "").strip() or "chatapp:presence",
        presence_heartbeat=_float("CHATAPP_PRESENCE_HEARTBEAT", 3.0),
        presence_instance_ttl=_float("CHATAPP_PRESENCE_INSTANCE_TTL", 10.0),
        presence_sweep=_float("CHATAPP_PRESENCE_SWEEP", 1.0),
    )


settings = load_settings()
