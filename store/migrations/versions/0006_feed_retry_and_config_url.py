"""Feeds remember a server's Retry-After across processes and the address written in the config.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feed") as batch:
        batch.add_column(sa.Column("config_url", sa.String(), nullable=False, server_default=""))
        batch.add_column(sa.Column("retry_after_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feed") as batch:
        batch.drop_column("retry_after_at")
        batch.drop_column("config_url")
