"""deliveries may answer a button press through its response_url

Revision ID: 0003_meet
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_meet"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_delivery_kind"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_delivery_kind"), "kind IN ('channel', 'direct', 'email', 'response_url')"
        )
        batch_op.alter_column(
            "target",
            existing_type=sa.String(length=254),
            type_=sa.String(length=500),
            existing_nullable=False,
        )


def downgrade() -> None:
    op.execute("DELETE FROM delivery WHERE kind = 'response_url'")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.alter_column(
            "target",
            existing_type=sa.String(length=500),
            type_=sa.String(length=254),
            existing_nullable=False,
        )
        batch_op.drop_constraint(batch_op.f("ck_delivery_kind"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_delivery_kind"), "kind IN ('channel', 'direct', 'email')"
        )
