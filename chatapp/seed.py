"""Fill an empty database with a small demo, so two browsers can chat at once.

Run by `scripts/run` before the app starts (skip with CHATAPP_SEED_DEMO=0).
"""

from __future__ import annotations

import reflex as rx
from sqlmodel import Session, select

from chatapp.models import User
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
    team = conversations.create_group(
        session, user_id=ids["alice"], title="Team", member_usernames=["bob", "carol"]
    )
    messages.send(session, author_id=ids["alice"], conversation_id=team, body="Welcome to the team chat!")
    messages.send(session, author_id=ids["bob"], conversation_id=team, body="Hi all 👋")
    direct, _ = conversations.open_direct(session, user_id=ids["alice"], other_username="bob")
    messages.send(session, author_id=ids["bob"], conversation_id=direct, body="Alice, got a minute?")
    conversations.open_direct(session, user_id=ids["carol"], other_username="dave")
    return True


def main() -> None:
    """Seed if enabled and the database is empty; print the demo logins."""
    if not settings.seed_demo:
        return
    with rx.session() as session:
        created = seed(session)
    if created:
        print("Seeded a demo. Log in as any of these (password for all:", DEMO_PASSWORD + "):")
        print("  " + ", ".join(name for name, _ in DEMO_USERS))


if __name__ == "__main__":
    main()
