"""What each user chose about their presence: a status (and until when) and whether they
hide their last-seen time. Persisted in `Profile`, cached for the process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session

from chatapp.presence import store


@dataclass(frozen=True)
class Choices:
    """One user's choices.

    Attributes:
        manual: "away", "dnd", "invisible", or None for automatic.
        until: When `manual` ends by itself; None: when the user changes it.
        hide_last_seen: Others see no last-seen time for this user (and this user
            sees no one's).
    """

    manual: str | None = None
    until: datetime | None = None
    hide_last_seen: bool = False


class Preferences:
    """The choices of every user the process has met, read once from the database."""

    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self._session = session_factory
        self._cache: dict[int, Choices] = {}

    def of(self, user_id: int) -> Choices:
        """A user's choices."""
        if user_id not in self._cache:
            with self._session() as session:
                facts = store.load(session, [user_id]).get(user_id)
            self.remember(facts)
        return self._cache.get(user_id, Choices())

    def remember(self, facts: store.PersonFacts | None) -> None:
        """Take a user's choices from facts just read (saves reading them again)."""
        if facts is not None and facts.user_id not in self._cache:
            self._cache[facts.user_id] = Choices(
                manual=facts.manual_status, until=facts.manual_until, hide_last_seen=facts.hide_last_seen
            )

    def choose_status(self, user_id: int, manual: str | None, until: datetime | None) -> Choices:
        """Persist a chosen status; returns the choices before it."""
        before = self.of(user_id)
        with self._session() as session:
            store.save_manual_status(session, user_id, manual, until)
        self._cache[user_id] = replace(before, manual=manual, until=until if manual else None)
        return before

    def choose_hide_last_seen(self, user_id: int, hide: bool) -> None:
        """Persist whether the user hides their last-seen time."""
        before = self.of(user_id)
        with self._session() as session:
            store.save_hide_last_seen(session, user_id, hide)
        self._cache[user_id] = replace(before, hide_last_seen=hide)

    def invisible(self, user_id: int) -> bool:
        """Whether the user chose to appear offline."""
        return self.of(user_id).manual == "invisible"
