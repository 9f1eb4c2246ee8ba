"""Fill an empty database with a small demo, so two browsers can chat at once.

Run by `scripts/run` before the app starts, with the mode `reflex run` will run in:
`python -m chatapp.seed --env prod`. The demo accounts' password is public, so a
production run gets them only when asked for explicitly (CHATAPP_SEED_DEMO=1); a
development run gets them unless told not to (CHATAPP_SEED_DEMO=0).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta

import reflex as rx
from sqlmodel import Session, select

from chatapp.models import User, utcnow
from chatapp.services import accounts, conversations, messages
from chatapp.settings import settings

DEMO_PASSWORD = "chatapp-demo"
DEMO_USERS = [
    ("alice", "Alice Liddell"),
    ("bob", "Bob Builder"),
    ("carol", "Carol Danvers"),
    ("dave", "Dave Bowman"),
]


def seed(session: Session) -> bool:
    """Create the demo users and conversations if there are no users yet.

    Returns:
        Whether anything was created.
    """
    if session.exec(select(User.id)).first() is not None:
        return False
    ids = {}
    for username, name in DEMO_USERS:
        ids[username] = accounts.sign_up(
            session, username=username, display_name=name, password=DEMO_PASSWORD
        ).id
    now = utcnow()
    team = conversations.create_group(
        session,
        user_id=ids["alice"],
        title="Team",
        member_usernames=["bob", "carol"],
        now=now - timedelta(days=2, hours=3, minutes=1),
    )
    direct, _ = conversations.open_direct(session, user_id=ids["alice"], other_username="bob")
    night, _ = conversations.open_direct(session, user_id=ids["carol"], other_username="dave")
    # A few days of history, so that a first look shows dates, grouping and links.
    for conversation, author, ago, body in [
        (team, "alice", timedelta(days=2, hours=3), "Welcome to the team chat!"),
        (team, "bob", timedelta(days=2, hours=2, minutes=58), "Hi all 👋"),
        (team, "carol", timedelta(days=1, hours=1), "Release notes are up: https://example.com/notes"),
        (team, "carol", timedelta(days=1, minutes=59), "Shout if anything is missing."),
        (team, "alice", timedelta(minutes=25), "Morning! Stand-up in ten minutes?"),
        (team, "alice", timedelta(minutes=24), "I'll share the board."),
        (direct, "bob", timedelta(minutes=40), "Alice, got a minute?"),
        (night, "carol", timedelta(hours=3), "Are we still on for tomorrow?"),
    ]:
        messages.send(session, author_id=ids[author], conversation_id=conversation, body=body, now=now - ago)
    return True


# The modes of `reflex run --env` that are for development; any other (prod, or a mode
# this list does not know) counts as production, so a new mode never seeds by surprise.
DEVELOPMENT_MODES = frozenset({"dev", "preview"})


def should_seed(mode: str, choice: bool | None) -> bool:
    """Whether the demo accounts may be created.

    Args:
        mode: The Reflex mode of the run (`reflex run --env`): dev, preview or prod.
        choice: CHATAPP_SEED_DEMO (`settings.seed_demo`): True or False when set, None
            when not.

    Returns:
        The explicit choice when there is one; otherwise yes in development only.
    """
    if choice is not None:
        return choice
    return mode.strip().lower() in DEVELOPMENT_MODES


def main(argv: list[str] | None = None) -> None:
    """Seed if allowed in this mode and the database is empty; print the demo logins.

    Args:
        argv: The command line (`sys.argv[1:]` when None).
    """
    parser = argparse.ArgumentParser(prog="python -m chatapp.seed", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--env",
        default=os.environ.get("REFLEX_ENV_MODE") or "dev",
        help="the mode of the run, as `reflex run --env` (default: REFLEX_ENV_MODE, else dev)",
    )
    mode = parser.parse_args(argv).env
    if not should_seed(mode, settings.seed_demo):
        if settings.seed_demo is None:  # not asked for: say why there are no demo users
            print(
                f"[seed] no demo accounts in {mode} mode (their password is public);"
                " CHATAPP_SEED_DEMO=1 creates them",
                file=sys.stderr,
            )
        return
    with rx.session() as session:
        created = seed(session)
    if created:
        print("Seeded a demo. Log in as any of these (password for all:", DEMO_PASSWORD + "):")
        print("  " + ", ".join(name for name, _ in DEMO_USERS))


if __name__ == "__main__":
    main()
