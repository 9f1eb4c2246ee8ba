"""Accounts: sign-up, password check and change, user look-up.

The one place accounts are made and checked: every door in (the sign-up and log-in
forms, the demo seed, the tests) goes through `sign_up` and `authenticate`, so one set
of rules holds wherever a username or password comes from.
"""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from chatapp.models import Profile, User
from chatapp.services import passwords
from chatapp.services.errors import InvalidInput, NotFound, WrongCredentials

USERNAME_RE = re.compile(r"^[a-z0-9_]{3,32}$")
DISPLAY_NAME_MAX = 64
PASSWORD_MIN = 8
PASSWORD_MAX = 128


def normalize_username(raw: str) -> str:
    """Usernames are case-insensitive: stored and compared in lower case."""
    return raw.strip().lower().removeprefix("@")


def validate_signup(username: str, display_name: str, password: str) -> tuple[str, str]:
    """Check a sign-up form.

    Returns:
        The normalized username and display name.

    Raises:
        InvalidInput: With a message naming the first problem.
    """
    name = normalize_username(username)
    if not USERNAME_RE.fullmatch(name):
        msg = "Username must be 3 to 32 characters: letters, digits or underscore."
        raise InvalidInput(msg)
    shown = " ".join(display_name.split())
    if not shown:
        shown = name
    if len(shown) > DISPLAY_NAME_MAX:
        msg = f"Display name must be at most {DISPLAY_NAME_MAX} characters."
        raise InvalidInput(msg)
    validate_password(password)
    return name, shown


def validate_password(password: str) -> None:
    """Check a new password's length.

    Raises:
        InvalidInput: Too short or too long.
    """
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        msg = f"Password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters."
        raise InvalidInput(msg)


def sign_up(session: Session, *, username: str, display_name: str, password: str) -> User:
    """Create an account with a bcrypt-hashed password and its profile.

    Raises:
        InvalidInput: A malformed form, or the username is taken.
    """
    name, shown = validate_signup(username, display_name, password)
    if session.exec(select(User.id).where(User.username == name)).first():
        msg = f"The username @{name} is taken."
        raise InvalidInput(msg)
    user = User(username=name, password_hash=passwords.hash_password(password), enabled=True)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent sign-up won the race
        session.rollback()
        msg = f"The username @{name} is taken."
        raise InvalidInput(msg) from exc
    session.add(Profile(user_id=user.id, display_name=shown))
    session.commit()
    session.refresh(user)
    return user


def authenticate(session: Session, *, username: str, password: str) -> User:
    """Return the enabled user with these credentials.

    Slow on purpose (bcrypt): call it off the event loop.

    Raises:
        WrongCredentials: One message for an unknown name and a wrong password alike, after
            the same work, so neither the answer nor its timing tells which usernames exist.
    """
    user = session.exec(select(User).where(User.username == normalize_username(username))).first()
    known = user is not None and user.enabled
    if not passwords.verify(password, user.password_hash if known else None) or not known:
        msg = "Wrong username or password."
        raise WrongCredentials(msg)
    return user


def change_password(session: Session, *, user_id: int, current: str, new: str) -> None:
    """Replace a user's password after checking the current one. Slow (bcrypt twice).

    Raises:
        InvalidInput: The current password is wrong, or the new one breaks the rules.
    """
    user = session.get(User, user_id)
    if user is None or not passwords.verify(current, user.password_hash):
        msg = "The current password is wrong."
        raise InvalidInput(msg)
    validate_password(new)
    user.password_hash = passwords.hash_password(new)
    session.add(user)
    session.commit()


def find_user_ids(session: Session, usernames: list[str]) -> dict[str, int]:
    """Map each username to its user id.

    Raises:
        NotFound: Naming every username that does not exist.
    """
    names = sorted({normalize_username(n) for n in usernames if n.strip()})
    rows = session.exec(select(User.username, User.id).where(User.username.in_(names))).all()
    found = {name: uid for name, uid in rows}
    missing = [n for n in names if n not in found]
    if missing:
        msg = "No such user: " + ", ".join("@" + n for n in missing) + "."
        raise NotFound(msg)
    return found
