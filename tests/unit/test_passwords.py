"""Password hashing: every character counts, whatever the length the rules allow."""

from __future__ import annotations

import pytest

from chatapp.services import passwords


@pytest.mark.parametrize("password", ["eight ch", "é" * 40, "p" * 72, "p" * 73, "long passphrase " * 8])
def test_a_password_verifies_against_its_own_hash_only(password):
    stored = passwords.hash_password(password)
    assert passwords.verify(password, stored)
    assert not passwords.verify(password + "x", stored)
    assert not passwords.verify(password[:-1], stored)


def test_passwords_longer_than_bcrypt_reads_differ_after_72_bytes():
    stored = passwords.hash_password("p" * 72 + "tail one")
    assert not passwords.verify("p" * 72 + "tail two", stored)  # bcrypt alone would cut both to 72


def test_an_unknown_account_never_verifies():
    assert not passwords.verify("anything at all", None)
