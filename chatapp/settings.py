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
    """

    db_url: str
    redis_url: str
    presence_grace: float
    idle_after: float
    message_max_length: int
    last_seen_flush: float
    seed_demo: bool


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
    )


settings = load_settings()
