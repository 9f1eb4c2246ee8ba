"""The accounts service (`chatapp/services/accounts.py`) on a real SQLite database:
signing up, authenticating, finding users by name."""

from __future__ import annotations

import bcrypt
import pytest
from sqlmodel import select

from chatapp.models import Profile, User
from chatapp.services import accounts
from chatapp.services.errors import InvalidInput, NotFound
from tests.unit.service_helpers import PASSWORD, count_rows

# sign_up ------------------------------------------------------------------------------


def test_sign_up_stores_the_username_in_lower_case(session):
    user = accounts.sign_up(session, username="  AliCe ", display_name="Alice", password=PASSWORD)
    assert user.username == "alice"
    stored = session.exec(select(User.username)).all()
    assert stored == ["alice"]


def test_sign_up_drops_a_leading_at_sign(session):
    user = accounts.sign_up(session, username="@Bob", display_name="", password=PASSWORD)
    assert user.username == "bob"


def test_sign_up_refuses_a_taken_username_with_a_clear_message(session):
    accounts.sign_up(session, username="alice", display_name="Alice", password=PASSWORD)
    with pytest.raises(InvalidInput, match=r"The username @alice is taken\."):
        accounts.sign_up(session, username="alice", display_name="Other", password=PASSWORD)
    assert count_rows(session, User) == 1
    assert count_rows(session, Profile) == 1


def test_sign_up_refuses_a_case_variant_of_a_taken_username(session):
    accounts.sign_up(session, username="alice", display_name="Alice", password=PASSWORD)
    with pytest.raises(InvalidInput, match=r"The username @alice is taken\."):
        accounts.sign_up(session, username="ALICE", display_name="Shouting Alice", password=PASSWORD)
    assert count_rows(session, User) == 1


def test_sign_up_stores_a_bcrypt_hash_not_the_password(session):
    user = accounts.sign_up(session, username="alice", display_name="Alice", password=PASSWORD)
    stored = session.exec(select(User.password_hash).where(User.id == user.id)).one()
    assert PASSWORD.encode() not in stored
    assert stored.startswith(b"$2")
    assert bcrypt.checkpw(PASSWORD.encode(), stored)
    assert not bcrypt.checkpw(b"not the password", stored)


def test_sign_up_creates_an_enabled_account_with_a_profile(session):
    user = accounts.sign_up(session, username="alice", display_name="Alice L.", password=PASSWORD)
    assert user.enabled is True
    profile = session.get(Profile, user.id)
    assert profile is not None
    assert profile.display_name == "Alice L."
    assert profile.last_seen_at is None
    assert profile.chosen_status is None


def test_sign_up_display_name_defaults_to_the_username(session):
    user = accounts.sign_up(session, username="Alice", display_name="   ", password=PASSWORD)
    assert session.get(Profile, user.id).display_name == "alice"


def test_sign_up_collapses_whitespace_in_the_display_name(session):
    user = accounts.sign_up(session, username="alice", display_name="  Alice \t  Liddell ", password=PASSWORD)
    assert session.get(Profile, user.id).display_name == "Alice Liddell"


@pytest.mark.parametrize(
    ("username", "display_name", "password", "message"),
    [
        ("al", "", PASSWORD, "Username must be 3 to 32 characters"),
        ("a" * 33, "", PASSWORD, "Username must be 3 to 32 characters"),
        ("alice!", "", PASSWORD, "Username must be 3 to 32 characters"),
        ("alice smith", "", PASSWORD, "Username must be 3 to 32 characters"),
        ("alice", "x" * 65, PASSWORD, "Display name must be at most 64 characters"),
        ("alice", "", "short", "Password must be 8 to 128 characters"),
        ("alice", "", "p" * 129, "Password must be 8 to 128 characters"),
    ],
)
def test_sign_up_refuses_a_malformed_form_and_creates_nothing(
    session, username, display_name, password, message
):
    with pytest.raises(InvalidInput, match=message):
        accounts.sign_up(session, username=username, display_name=display_name, password=password)
    assert count_rows(session, User) == 0
    assert count_rows(session, Profile) == 0


# authenticate -------------------------------------------------------------------------


def test_authenticate_returns_the_user_for_the_right_password(session, make_user):
    uid = make_user("alice", "Alice")
    user = accounts.authenticate(session, username="alice", password=PASSWORD)
    assert user.id == uid


def test_authenticate_username_is_case_insensitive(session, make_user):
    uid = make_user("alice", "Alice")
    assert accounts.authenticate(session, username=" @ALICE ", password=PASSWORD).id == uid


def test_authenticate_wrong_password_and_unknown_user_give_the_same_message(session, make_user):
    make_user("alice", "Alice")
    with pytest.raises(InvalidInput) as wrong_password:
        accounts.authenticate(session, username="alice", password="wrong password!")
    with pytest.raises(InvalidInput) as unknown_user:
        accounts.authenticate(session, username="nobody", password=PASSWORD)
    assert str(wrong_password.value) == "Wrong username or password."
    assert str(unknown_user.value) == str(wrong_password.value)


def test_authenticate_refuses_a_disabled_account(session, make_user):
    uid = make_user("alice", "Alice")
    user = session.get(User, uid)
    user.enabled = False
    session.add(user)
    session.commit()
    with pytest.raises(InvalidInput, match="Wrong username or password"):
        accounts.authenticate(session, username="alice", password=PASSWORD)


def test_find_user_ids_names_every_missing_user(session, people):
    with pytest.raises(NotFound, match=r"No such user: @ghost, @zombie\."):
        accounts.find_user_ids(session, ["alice", "zombie", "ghost"])
