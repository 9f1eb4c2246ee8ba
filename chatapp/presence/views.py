"""What watchers see of a user: their published presence, or, before anything was
published, what is true now. Pure: the caller reads the database and the registry."""

from __future__ import annotations

from datetime import datetime

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
