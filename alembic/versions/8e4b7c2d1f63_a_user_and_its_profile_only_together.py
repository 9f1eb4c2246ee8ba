"""a user and its profile only together: a deferred reference from user to profile

Revision ID: 8e4b7c2d1f63
Revises: 5c1e2d9a7b40
Create Date: 2026-12-02 12:30:00

Accounts made through reflex-local-auth's own registration handler (reachable from any
socket before this release) have no profile: each gets one first, named by its username,
so that no account is lost and the new reference holds for every row.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '8e4b7c2d1f63'
down_revision: Union[str, Sequence[str], None] = '5c1e2d9a7b40'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Give profile-less accounts a profile, then make the database require one."""
    op.execute(
        sa.text(
            "INSERT INTO profile (user_id, display_name, created_at, hide_last_seen) "
            "SELECT id, substr(username, 1, 64), CURRENT_TIMESTAMP, :false FROM localuser "
            "WHERE id NOT IN (SELECT user_id FROM profile)"
        ).bindparams(false=False)
    )
    with op.batch_alter_table('localuser', schema=None) as batch_op:
        batch_op.create_foreign_key(
            'fk_localuser_profile',
            'profile',
            ['id'],
            ['user_id'],
            deferrable=True,
            initially='DEFERRED',
        )


def downgrade() -> None:
    """Let a user exist without a profile again."""
    with op.batch_alter_table('localuser', schema=None) as batch_op:
        batch_op.drop_constraint('fk_localuser_profile', type_='foreignkey')
