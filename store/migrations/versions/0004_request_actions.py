"""Group request events into actions (one undo step each: a change, a bulk change, a merge, a note),
and an index that covers the Figures view's columns.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


FIGURES_COLUMNS = [
    "created_at",
    "merged_into_id",
    "unit_id",
    "category",
    "status",
    "due_at",
    "first_response_at",
    "resolved_at",
    "closed_at",
]


def upgrade() -> None:
    op.create_table(
        "request_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undo_of_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["undo_of_id"], ["request_action.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("request_action") as batch:
        batch.create_index(batch.f("ix_request_action_actor"), ["actor"], unique=False)
    # Events written before this revision belong to no action: they stay in the history but
    # cannot be undone. SQLite cannot add a foreign key in place, so the table is copied.
    with op.batch_alter_table("request_event") as batch:
        batch.add_column(sa.Column("action_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_request_event_action_id_request_action",
            "request_action",
            ["action_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(batch.f("ix_request_event_action_id"), ["action_id"], unique=False)
    op.create_index("ix_service_request_figures", "service_request", FIGURES_COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_service_request_figures", table_name="service_request")
    with op.batch_alter_table("request_event") as batch:
        batch.drop_index(batch.f("ix_request_event_action_id"))
        batch.drop_constraint("fk_request_event_action_id_request_action", type_="foreignkey")
        batch.drop_column("action_id")
    op.drop_table("request_action")
