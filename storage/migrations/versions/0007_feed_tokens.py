"""calendar feed tokens: the nonce that links derive from; lookups by owner

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No feed token was issued before this revision, so the table is empty and
    # the column can be required at once.
    with op.batch_alter_table("feed_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nonce", sa.String(length=64), nullable=False, server_default=""))
        batch_op.create_index(batch_op.f("ix_feed_token_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feed_token_group_id"), ["group_id"], unique=False)
    with op.batch_alter_table("feed_token", schema=None) as batch_op:
        batch_op.alter_column("nonce", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("feed_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_token_group_id"))
        batch_op.drop_index(batch_op.f("ix_feed_token_person_id"))
        batch_op.drop_column("nonce")
