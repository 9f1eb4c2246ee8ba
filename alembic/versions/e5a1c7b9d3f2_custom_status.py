"""custom status: an emoji and a short text with an end

Revision ID: e5a1c7b9d3f2
Revises: d9b3f5a7c2e1
Create Date: 2026-12-03 10:00:00

- profile.custom_emoji / custom_text / custom_until: "🌴 On holiday" until a time (or
  until cleared); shown to whoever sees the user's presence.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import chatapp.models

revision: str = 'e5a1c7b9d3f2'
down_revision: Union[str, Sequence[str], None] = 'd9b3f5a7c2e1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('profile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('custom_emoji', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('custom_text', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('custom_until', chatapp.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('profile', schema=None) as batch_op:
        batch_op.drop_column('custom_until')
        batch_op.drop_column('custom_text')
        batch_op.drop_column('custom_emoji')
