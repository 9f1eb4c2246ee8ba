"""read receipts and per-conversation mute

Revision ID: c4a8e2d6f1b7
Revises: b7d2e4f1a9c3
Create Date: 2026-12-03 08:00:00

- participant.receipt_seq / receipt_at: how far others may know a member has read (moves
  only while the member sends receipts and does not appear offline). Existing read
  positions are not revealed: receipts start from the next read.
- participant.muted: no notifications from the conversation.
- profile.read_receipts: the user sends (and sees) read receipts; on by default.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import chatapp.models

revision: str = 'c4a8e2d6f1b7'
down_revision: Union[str, Sequence[str], None] = 'b7d2e4f1a9c3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_seq', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('receipt_at', chatapp.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('muted', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('profile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('read_receipts', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('profile', schema=None) as batch_op:
        batch_op.drop_column('read_receipts')
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_column('muted')
        batch_op.drop_column('receipt_at')
        batch_op.drop_column('receipt_seq')
