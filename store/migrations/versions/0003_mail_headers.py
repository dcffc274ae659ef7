"""Keep each message's header block, so that the reader's full-headers view (``H``) works offline.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A NOT NULL column added to rows that exist needs a default; messages synced before this
    # revision show headers rebuilt from their stored fields until they are synced again.
    with op.batch_alter_table("mail_message") as batch:
        batch.add_column(sa.Column("headers", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("mail_message") as batch:
        batch.drop_column("headers")
