"""What watchers see of a user: their published presence, or, before anything was
published, what is true now; and one copy of each entry for every tab that shows it.
Pure: the caller reads the database and the registry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chatapp.copies import OneCopy
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


def shared_entry(
    copies: OneCopy[tuple[str, dict[str, Any]]], entry: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """`(key, entry)` for a presence map, one copy of each for every tab that shows it
    (see `chatapp.copies`; an entry without last seen is never shared with one that has
    it: they differ)."""
    return copies.share((entry["user_id"], entry["last_seen_at"] is None), (str(entry["user_id"]), entry))
