"""Feed items keep their HTML, rendered to text when the item is read, not when it is fetched.

Rendering (inscriptis, the mail's converter) was two thirds of a cold refresh's parsing, spent on
items most of which are never opened; ``content_text`` now holds the words for search.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch (copy) of feed_item would drop its full-text triggers.
    op.add_column("feed_item", sa.Column("content_html", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("feed_item") as batch:
        batch.drop_column("content_html")
