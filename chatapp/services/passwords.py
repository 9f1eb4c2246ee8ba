"""Password hashing: bcrypt, with the same cost whether or not the account exists.

bcrypt is deliberately slow (about 0.2 s at its default cost here): callers on the event
loop run these functions in a worker thread (`asyncio.to_thread`), so one login never
stalls everyone else's messages.
"""

from __future__ import annotations

import base64
import hashlib

import bcrypt

# What a check against an unknown username is compared with: the same work as a real
# check, so the answer's timing does not tell which usernames exist.
_NOBODY = bcrypt.hashpw(b"no account has this password", bcrypt.gensalt())


# bcrypt reads at most 72 bytes of a password, and bcrypt 5 refuses a longer one.
_BCRYPT_MAX_BYTES = 72


def _material(password: str) -> bytes:
    """What bcrypt is given for a password: its UTF-8 bytes, or for one longer than bcrypt
    reads (a long passphrase, or fewer characters outside ASCII) their SHA-256 digest in
    base64 (44 bytes), so that every character counts and nothing is cut."""
    raw = password.encode("utf-8")
    if len(raw) <= _BCRYPT_MAX_BYTES:
        return raw
    return base64.b64encode(hashlib.sha256(raw).digest())


def hash_password(password: str) -> bytes:
    """A bcrypt hash of the password, with a fresh salt."""
    return bcrypt.hashpw(_material(password), bcrypt.gensalt())


def verify(password: str, password_hash: bytes | None) -> bool:
    """Whether the password matches the hash; with no hash (no such account), False after
    the same work as a real check."""
    candidate = _material(password)
    if password_hash is None:
        bcrypt.checkpw(candidate, _NOBODY)
        return False
    return bcrypt.checkpw(candidate, password_hash)
