"""A full-text index of the service requests alone, for the Requests screen's filter-as-you-type;
and three partial indexes that let the Figures view count and take medians without sorting.

The shared ``search_index`` (0002) holds mail, requests, feed items and notices; a filter on the
Requests screen had to collect every hit of every kind before keeping the requests, so a letter or
two typed into it read the whole mailbox's doclists. This index holds the requests only, with
one-letter prefixes indexed too (the first key press is one letter) and no positions
(``detail=none``: the filter asks for words and word prefixes, never phrases), so a key press
reads a doclist of requests and nothing else. The shared index keeps the requests as before for
the global search. Its rowid is the request's id.

The Figures view counted per category and unit with GROUP BY over a year of requests, and took
the medians to first response and to resolution by sorting every request's duration: three sorts
of ~50,000 rows. ``ix_service_request_figures_groups`` hands GROUP BY the rows in (category, unit)
order; the two duration indexes hold the requests in the order of their duration, so a median is
read by walking half an index (merged duplicates and requests without the time are not in them).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TITLE = "reference || ' ' || title"
BODY = "description || ' ' || requester_email || ' ' || digifinland_ticket || ' ' || tags"
COLUMNS = "reference, title, description, requester_email, digifinland_ticket, tags"
# (index, the later time): the days from creation to it, in the order store.requests reads them.
DURATIONS = (
    ("ix_service_request_first_response_time", "first_response_at"),
    ("ix_service_request_resolution_time", "resolved_at"),
)


def _new(expression: str) -> str:
    import re

    return re.sub(r"\b([a-z_]+)\b(?!\s*\()", lambda m: f"NEW.{m.group(1)}", expression)


def upgrade() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE search_index_request USING fts5("
        "title, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3', detail = none)"
    )
    op.execute(
        f"INSERT INTO search_index_request(rowid, title, body) SELECT id, {TITLE}, {BODY} FROM service_request"
    )
    op.execute(
        "CREATE TRIGGER service_request_search_request_insert AFTER INSERT ON service_request BEGIN "
        "INSERT INTO search_index_request(rowid, title, body) "
        f"VALUES (NEW.id, {_new(TITLE)}, {_new(BODY)}); END"
    )
    op.execute(
        "CREATE TRIGGER service_request_search_request_update "
        f"AFTER UPDATE OF {COLUMNS} ON service_request BEGIN "
        "DELETE FROM search_index_request WHERE rowid = OLD.id; "
        "INSERT INTO search_index_request(rowid, title, body) "
        f"VALUES (NEW.id, {_new(TITLE)}, {_new(BODY)}); END"
    )
    op.execute(
        "CREATE TRIGGER service_request_search_request_delete AFTER DELETE ON service_request BEGIN "
        "DELETE FROM search_index_request WHERE rowid = OLD.id; END"
    )
    op.execute(
        "CREATE INDEX ix_service_request_figures_groups ON service_request "
        "(category, unit_id, created_at) WHERE merged_into_id IS NULL"
    )
    for name, later in DURATIONS:
        op.execute(
            f"CREATE INDEX {name} ON service_request "
            f"((julianday({later}) - julianday(created_at)), created_at, unit_id) "
            f"WHERE merged_into_id IS NULL AND {later} IS NOT NULL"
        )


def downgrade() -> None:
    for name, _later in DURATIONS:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("DROP INDEX IF EXISTS ix_service_request_figures_groups")
    for action in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS service_request_search_request_{action}")
    op.execute("DROP TABLE search_index_request")
