"""Constants and helpers shared by the tests of the services in `chatapp/services/`."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import select

PASSWORD = "correct horse battery"  # what the make_user fixture signs up with
NOT_A_MEMBER = "This conversation does not exist or you are not a member of it."


def count_rows(session, model) -> int:
    """How many rows the table of `model` holds."""
    return session.exec(select(sa.func.count()).select_from(model)).one()
