"""The database itself refuses a user without a profile and a profile without a user."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from chatapp.models import Profile, User, utcnow
from chatapp.services import accounts


def test_a_user_without_a_profile_is_refused_at_commit(session):
    session.add(User(username="lonely", password_hash=b"!", enabled=True))
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()


def test_a_profile_without_its_user_is_refused(session):
    session.add(Profile(user_id=424242, display_name="Ghost", created_at=utcnow()))
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()


def test_sign_up_makes_both_in_one_transaction(session):
    user = accounts.sign_up(session, username="together", display_name="Both", password="long enough")
    assert session.get(Profile, user.id).display_name == "Both"
