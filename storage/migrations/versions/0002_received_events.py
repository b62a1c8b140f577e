"""received events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "received_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_event")),
        sa.UniqueConstraint("key", name=op.f("uq_received_event_key")),
    )
    with op.batch_alter_table("received_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_received_event_received_at"), ["received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("received_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_received_event_received_at"))

    op.drop_table("received_event")
