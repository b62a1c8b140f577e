"""delivery leases and expiry

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
    # Messages queued before leases existed keep SPEC 5's horizon: a week after they fell due.
    delivery = sa.table("delivery", sa.column("due_at", sa.DateTime), sa.column("expires_at", sa.DateTime))
    bind = op.get_bind()
    for due_at in bind.execute(sa.select(delivery.c.due_at).distinct()).scalars().all():
        bind.execute(
            delivery.update().where(delivery.c.due_at == due_at).values(expires_at=due_at + timedelta(days=7))
        )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_column("claim_token")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("expires_at")
