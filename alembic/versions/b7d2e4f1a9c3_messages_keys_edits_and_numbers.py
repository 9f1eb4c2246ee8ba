"""messages: idempotency keys, edits, deletions, system lines and numbers; who started a chat

Revision ID: b7d2e4f1a9c3
Revises: 3a9d6c1e5f27
Create Date: 2026-12-02 19:00:00

- message.client_key (unique per author): a message sent twice is stored once.
- message.edited_at / deleted_at: edits and deletions shown to every member.
- message.kind ("text" | "system") for "Dave left" lines; message.seq numbers the text
  messages of a conversation, conversation.message_seq is the last number given and
  participant.read_seq how far a member has read: unread = message_seq - read_seq, so one
  list row serves every member. Existing data is numbered in id order.
- conversation.created_by: a direct chat shows in the other person's list only with its
  first message. Existing conversations keep showing (created_by stays empty).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import chatapp.models

revision: str = 'b7d2e4f1a9c3'
down_revision: Union[str, Sequence[str], None] = '3a9d6c1e5f27'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Add the columns, then number the messages that exist."""
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=8), server_default='text', nullable=False))
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('client_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('edited_at', chatapp.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', chatapp.models.UTCDateTime(), nullable=True))
        batch_op.create_unique_constraint('uq_message_author_client_key', ['author_id', 'client_key'])
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('message_seq', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_foreign_key('fk_conversation_created_by', 'localuser', ['created_by'], ['id'])
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('read_seq', sa.Integer(), server_default='0', nullable=False))
    # Number existing messages per conversation in id order, and carry read positions over.
    op.execute(
        "UPDATE message SET seq = (SELECT COUNT(*) FROM message AS m "
        "WHERE m.conversation_id = message.conversation_id AND m.id <= message.id)"
    )
    op.execute(
        "UPDATE conversation SET message_seq = "
        "(SELECT COUNT(*) FROM message AS m WHERE m.conversation_id = conversation.id)"
    )
    op.execute(
        "UPDATE participant SET read_seq = (SELECT COUNT(*) FROM message AS m "
        "WHERE m.conversation_id = participant.conversation_id "
        "AND m.id <= participant.last_read_message_id)"
    )


def downgrade() -> None:
    """Drop the columns (keys, edits, deletions and numbers are lost)."""
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_column('read_seq')
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_constraint('fk_conversation_created_by', type_='foreignkey')
        batch_op.drop_column('message_seq')
        batch_op.drop_column('created_by')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_constraint('uq_message_author_client_key', type_='unique')
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('edited_at')
        batch_op.drop_column('client_key')
        batch_op.drop_column('seq')
        batch_op.drop_column('kind')
