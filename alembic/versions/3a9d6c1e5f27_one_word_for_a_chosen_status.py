"""one word for a chosen status: profile.manual_status/manual_until become chosen_*

Revision ID: 3a9d6c1e5f27
Revises: 8e4b7c2d1f63
Create Date: 2026-12-02 16:00:00

The code called a status the user picks "manual", "choice", "chosen" and "invisible" in
turn; it is a "chosen status" everywhere now, the columns included. A rename: no row
changes.
"""
from typing import Sequence, Union

from alembic import op

revision: str = '3a9d6c1e5f27'
down_revision: Union[str, Sequence[str], None] = '8e4b7c2d1f63'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Rename the two columns."""
    with op.batch_alter_table('profile', schema=None) as batch_op:
        batch_op.alter_column('manual_status', new_column_name='chosen_status')
        batch_op.alter_column('manual_until', new_column_name='chosen_until')


def downgrade() -> None:
    """Back to the old names."""
    with op.batch_alter_table('profile', schema=None) as batch_op:
        batch_op.alter_column('chosen_status', new_column_name='manual_status')
        batch_op.alter_column('chosen_until', new_column_name='manual_until')
