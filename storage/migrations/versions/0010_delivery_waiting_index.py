"""an index on delivery (kind, target, status), for the waiting Home tab publish
that every change looks for (services/outbox.enqueue_at_commit): on the status index
alone it read every pending message, 0.7 ms with a thousand waiting and more the
longer Slack is away

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.create_index("ix_delivery_kind_target_status", ["kind", "target", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch_op:
        batch_op.drop_index("ix_delivery_kind_target_status")
