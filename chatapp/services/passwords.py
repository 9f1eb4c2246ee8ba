"""Password hashing: bcrypt, with the same cost whether or not the account exists.

bcrypt is deliberately slow (about 0.2 s at its default cost here): callers on the event
loop run these functions in a worker thread (`asyncio.to_thread`), so one login never
stalls everyone else's messages.
"""

from __future__ import annotations

import bcrypt

# What a check against an unknown username is compared with: the same work as a real
# check, so the answer's timing does not tell which usernames exist.
_NOBODY = bcrypt.hashpw(b"no account has this password", bcrypt.gensalt())


def hash_password(password: str) -> bytes:
    """A bcrypt hash of the password, with a fresh salt."""
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt())


def verify(password: str, password_hash: bytes | None) -> bool:
    """Whether the password matches the hash; with no hash (no such account), False after
    the same work as a real check."""
    candidate = password.encode("utf-8")
    if password_hash is None:
        bcrypt.checkpw(candidate, _NOBODY)
        return False
    return bcrypt.checkpw(candidate, password_hash)
