"""login sessions keep the digest of a fresh token, not the tab's token

Revision ID: 5c1e2d9a7b40
Revises: 95720d591af3
Create Date: 2026-12-02 11:50:00

The schema is unchanged. Logins made before this revision are keyed by a tab's client
token, which also travelled in the websocket's URL (and so into access logs); from now
on `session_id` holds the SHA-256 digest of a random token made at each login. The old
rows can never match a digest, so they are deleted: everyone logs in once more.
"""
from typing import Sequence, Union

from alembic import op

revision: str = '5c1e2d9a7b40'
down_revision: Union[str, Sequence[str], None] = '95720d591af3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """End every login made under the old scheme."""
    op.execute("DELETE FROM localauthsession")


def downgrade() -> None:
    """Nothing to restore: the deleted logins were credentials of the old scheme."""
