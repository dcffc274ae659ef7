"""An index on request_mail by message: the sync links a new reply to its request by the
messages of its thread, and deleting an expunged message cascades through request_mail.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_request_mail_mail_message_id", "request_mail", ["mail_message_id"])


def downgrade() -> None:
    op.drop_index("ix_request_mail_mail_message_id", table_name="request_mail")
