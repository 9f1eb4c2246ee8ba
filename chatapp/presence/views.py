"""What watchers see of a user: their published presence, or, before anything was
published, what is true now; and one copy of each entry for every tab that shows it.
Pure: the caller reads the database and the registry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chatapp.presence.logic import PresenceData, aggregate, chosen_in_force, epoch_ms
from chatapp.presence.preferences import from_facts
from chatapp.presence.shared import UserRecord
from chatapp.presence.store import PersonFacts


def view(facts: PersonFacts, record: UserRecord, now: datetime) -> PresenceData:
    """A user's presence as watchers see it.

    Args:
        facts: What the database knows of the user (names, last seen, choices).
        record: The user's record in the registry.
        now: The current time (a chosen status may have ended).
    """
    if record.published is not None:
        status, version = record.published.status, record.published.version
        last_seen = record.published.last_seen_at
    else:
        choices = record.choices or from_facts(facts)
        chosen = chosen_in_force(choices.chosen, choices.until, now)
        status, version, last_seen = aggregate(record.tabs, chosen=chosen), 0, facts.last_seen_at
    return PresenceData(
        user_id=facts.user_id,
        username=facts.username,
        display_name=facts.display_name,
        status=status,
        last_seen_at=epoch_ms(last_seen),
        version=version,
        hide_last_seen=facts.hide_last_seen,
    )


class SharedEntries:
    """The presence entries that snapshots give tabs, one copy of each.

    Every tab holds its own presence map, and the tabs whose users see the same person
    hold equal entries for them: `share` gives an entry equal to one given out before as
    that same dict (with the same key string), so those tabs hold one copy between them,
    as a pushed change already is (`presence_change`: one dict for every tab it reaches).
    Safe because a tab's entries are replaced whole, never changed in place. Holds the
    latest entry per user and visibility of last seen, at most `limit` (then starts over).
    """

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._held: dict[tuple[int, bool], tuple[str, dict[str, Any]]] = {}

    def share(self, entry: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """`(key, entry)` for a presence map: the ones given before if equal."""
        slot = (entry["user_id"], entry["last_seen_at"] is None)
        held = self._held.get(slot)
        if held is not None and held[1] == entry:
            return held
        if len(self._held) >= self.limit:
            self._held.clear()
        held = self._held[slot] = (str(entry["user_id"]), entry)
        return held
