"""What each user chose about their presence: a status (and until when) and whether they
hide their last-seen time. Persisted in `Profile`; held by the presence registry.

The registry is the cache: in one process a dict, with several instances the user's
record in Redis, so a choice made on one instance is what every other instance decides
with from that moment on (a choice bumps the record's revision, so a decision made
with the old choice cannot be committed). The database is written first: an instance
that has to read it (nothing held yet) reads the new choice or loses to it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from chatapp.presence import store
from chatapp.presence.logic import Chosen
from chatapp.presence.shared import Choices, PresenceRegistry

__all__ = ["Choices", "Preferences", "from_facts"]


def from_facts(facts: store.PersonFacts) -> Choices:
    """The choices stored in a user's profile."""
    return Choices(chosen=facts.chosen_status, until=facts.chosen_until, hide_last_seen=facts.hide_last_seen)


class Preferences:
    """Every user's choices: held by the registry, read from the database when it holds
    none yet, written to both.

    Args:
        session_factory: Opens a database session.
        registry: The presence registry that holds them.
    """

    def __init__(self, session_factory: Callable[[], Session], registry: PresenceRegistry) -> None:
        self._session = session_factory
        self._registry = registry

    async def of(self, user_id: int) -> Choices:
        """A user's choices."""
        held = await self._registry.choices(user_id)
        if held is not None:
            return held
        with self._session() as session:
            facts = store.load(session, [user_id]).get(user_id)
        return await self._registry.seed_choices(user_id, from_facts(facts) if facts else Choices())

    async def choose_status(self, user_id: int, chosen: str | None, until: datetime | None) -> Choices:
        """Persist a chosen status; returns the choices before it."""
        before = await self.of(user_id)
        with self._session() as session:
            store.save_chosen_status(session, user_id, chosen, until)
        # Only the fields chosen: a concurrent choice of the other field on another
        # instance must not be overwritten with what this one read before.
        await self._registry.store_choices(user_id, chosen=chosen, until=until if chosen else None)
        return before

    async def choose_hide_last_seen(self, user_id: int, hide: bool) -> None:
        """Persist whether the user hides their last-seen time."""
        await self.of(user_id)  # held from here on, so the change below is to held choices
        with self._session() as session:
            store.save_hide_last_seen(session, user_id, hide)
        await self._registry.store_choices(user_id, hide_last_seen=hide)

    async def invisible(self, user_id: int) -> bool:
        """Whether the user chose to appear offline."""
        return (await self.of(user_id)).chosen == Chosen.INVISIBLE
