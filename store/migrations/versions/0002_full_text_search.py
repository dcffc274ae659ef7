"""Full-text search over mail, requests, feed items and notices (SQLite FTS5), kept in step by triggers.

One FTS5 table holds every searchable row; its rowid encodes the source as ``id * 4 + kind``
so that triggers update and delete by rowid (fast) rather than by scanning a column.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# (kind code, table, title expression, body expression, text columns that feed the index)
SOURCES = [
    (
        0,
        "mail_message",
        "subject",
        "from_name || ' ' || from_addr || ' ' || body_text",
        "subject, from_name, from_addr, body_text",
    ),
    (
        1,
        "service_request",
        "reference || ' ' || title",
        "description || ' ' || requester_email || ' ' || digifinland_ticket || ' ' || tags",
        "reference, title, description, requester_email, digifinland_ticket, tags",
    ),
    (2, "feed_item", "title", "summary || ' ' || content_text", "title, summary, content_text"),
    (
        3,
        "notice",
        "subject",
        "text_fi || ' ' || text_sv || ' ' || impact || ' ' || instructions",
        "subject, text_fi, text_sv, impact, instructions",
    ),
]


def _new(expression: str) -> str:
    # Qualify each column with NEW. for the insert/update triggers.
    import re

    return re.sub(r"\b([a-z_]+)\b(?!\s*\()", lambda m: f"NEW.{m.group(1)}", expression)


def upgrade() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE search_index USING fts5("
        "title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
    )
    for code, table, title, body, columns in SOURCES:
        op.execute(
            f"INSERT INTO search_index(rowid, title, body) "
            f"SELECT id * 4 + {code}, {title}, {body} FROM {table}"
        )
        op.execute(
            f"CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO search_index(rowid, title, body) "
            f"VALUES (NEW.id * 4 + {code}, {_new(title)}, {_new(body)}); END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_search_update AFTER UPDATE OF {columns} ON {table} BEGIN "
            f"DELETE FROM search_index WHERE rowid = OLD.id * 4 + {code}; "
            f"INSERT INTO search_index(rowid, title, body) "
            f"VALUES (NEW.id * 4 + {code}, {_new(title)}, {_new(body)}); END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} BEGIN "
            f"DELETE FROM search_index WHERE rowid = OLD.id * 4 + {code}; END"
        )
    # The Today screen counts these on every start; an index each keeps that instant at 100k rows.
    op.create_index("ix_mail_message_unseen", "mail_message", ["seen", "folder_id"])
    op.create_index("ix_mail_message_folder_date", "mail_message", ["folder_id", "date"])
    op.create_index("ix_service_request_open_due", "service_request", ["status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_service_request_open_due", "service_request")
    op.drop_index("ix_mail_message_folder_date", "mail_message")
    op.drop_index("ix_mail_message_unseen", "mail_message")
    for _code, table, *_ in SOURCES:
        for action in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_search_{action}")
    op.execute("DROP TABLE search_index")
