"""who sees a user's presence and typing, message requests and blocks

Revision ID: d9b3f5a7c2e1
Revises: c4a8e2d6f1b7
Create Date: 2026-12-03 09:00:00

- profile.presence_audience: "everyone" | "written" (default) | "nobody".
- profile.share_typing: others see when the user is typing (on by default).
- participant.wrote: the member has written to the others of the conversation (sent a
  message, started or added people to it, accepted its request). Existing members keep
  what they had: everyone they shared a conversation with saw them, so they start as
  having written.
- block: who blocked whom.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import chatapp.models

revision: str = 'd9b3f5a7c2e1'
down_revision: Union[str, Sequence[str], None] = 'c4a8e2d6f1b7'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('profile', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('presence_audience', sa.String(length=8), server_default='written', nullable=False)
        )
        batch_op.add_column(sa.Column('share_typing', sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wrote', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_table(
        'block',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('blocker_id', sa.Integer(), nullable=False),
        sa.Column('blocked_id', sa.Integer(), nullable=False),
        sa.Column('created_at', chatapp.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['blocker_id'], ['localuser.id']),
        sa.ForeignKeyConstraint(['blocked_id'], ['localuser.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('blocker_id', 'blocked_id', name='uq_block_pair'),
    )
    op.create_index('ix_block_blocker_id', 'block', ['blocker_id'])
    op.create_index('ix_block_blocked_id', 'block', ['blocked_id'])


def downgrade() -> None:
    op.drop_index('ix_block_blocked_id', table_name='block')
    op.drop_index('ix_block_blocker_id', table_name='block')
    op.drop_table('block')
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_column('wrote')
    with op.batch_alter_table('profile', schema=None) as batch_op:
        batch_op.drop_column('share_typing')
        batch_op.drop_column('presence_audience')
