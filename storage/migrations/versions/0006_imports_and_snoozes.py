"""action imports, snoozed actions, App Home and modal deliveries

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "action_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("saved_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["person.id"],
            name=op.f("fk_action_import_created_by_id_person"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_action_import_meeting_id_meeting"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["saved_by_id"],
            ["person.id"],
            name=op.f("fk_action_import_saved_by_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_import")),
        sa.UniqueConstraint("key", name=op.f("uq_action_import_key")),
    )
    with op.batch_alter_table("action", schema=None) as batch_op:
        batch_op.add_column(sa.Column("snoozed_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("import_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_action_import_id"), ["import_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_action_import_id_action_import"),
            "action_import",
            ["import_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_delivery_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_delivery_kind"),
            "kind IN ('channel', 'direct', 'email', 'response_url', 'home', 'modal')",
        )


def downgrade() -> None:
    op.execute("DELETE FROM delivery WHERE kind IN ('home', 'modal')")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_delivery_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_delivery_kind"), "kind IN ('channel', 'direct', 'email', 'response_url')"
        )
    with op.batch_alter_table("action", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_action_import_id_action_import"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_action_import_id"))
        batch_op.drop_column("import_id")
        batch_op.drop_column("snoozed_until")
    op.drop_table("action_import")
