"""Sign-up, password check and user look-up."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from chatapp.models import LocalAuthSession, LocalUser, Profile
from chatapp.services.errors import InvalidInput, NotFound

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
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        msg = f"Password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters."
        raise InvalidInput(msg)
    return name, shown


def sign_up(session: Session, *, username: str, display_name: str, password: str) -> LocalUser:
    """Create an account with a bcrypt-hashed password and its profile.

    Raises:
        InvalidInput: A malformed form, or the username is taken.
    """
    name, shown = validate_signup(username, display_name, password)
    if session.exec(select(LocalUser.id).where(LocalUser.username == name)).first():
        msg = f"The username @{name} is taken."
        raise InvalidInput(msg)
    user = LocalUser(username=name, password_hash=LocalUser.hash_password(password), enabled=True)
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


def authenticate(session: Session, *, username: str, password: str) -> LocalUser:
    """Return the enabled user with these credentials.

    Raises:
        InvalidInput: One message for an unknown name and a wrong password alike,
            so the form does not tell which usernames exist.
    """
    user = session.exec(select(LocalUser).where(LocalUser.username == normalize_username(username))).first()
    if user is None or not user.enabled or not user.verify(password):
        msg = "Wrong username or password."
        raise InvalidInput(msg)
    return user


def find_user_ids(session: Session, usernames: list[str]) -> dict[str, int]:
    """Map each username to its user id.

    Raises:
        NotFound: Naming every username that does not exist.
    """
    names = sorted({normalize_username(n) for n in usernames if n.strip()})
    rows = session.exec(select(LocalUser.username, LocalUser.id).where(LocalUser.username.in_(names))).all()
    found = {name: uid for name, uid in rows}
    missing = [n for n in names if n not in found]
    if missing:
        msg = "No such user: " + ", ".join("@" + n for n in missing) + "."
        raise NotFound(msg)
    return found


def profile_of(session: Session, user_id: int) -> tuple[str, str]:
    """The (username, display name) of a user."""
    row = session.exec(
        select(LocalUser.username, Profile.display_name)
        .join(Profile, Profile.user_id == LocalUser.id)
        .where(LocalUser.id == user_id)
    ).first()
    if row is None:
        msg = "No such user."
        raise NotFound(msg)
    return row[0], row[1]


def login_expires_at(session: Session, auth_token: str) -> datetime | None:
    """When the login session with this token ends (None: no such session)."""
    expiration = session.exec(
        select(LocalAuthSession.expiration).where(LocalAuthSession.session_id == auth_token)
    ).first()
    if expiration is not None and expiration.tzinfo is None:  # SQLite keeps no zone
        expiration = expiration.replace(tzinfo=UTC)
    return expiration
