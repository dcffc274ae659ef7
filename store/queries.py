"""Read-only queries behind the screens, returning plain objects.

They go through :func:`reader`: on a SQLite file a plain ``sqlite3`` connection (no ORM import,
so the first screen paints before SQLAlchemy has loaded); elsewhere the SQLAlchemy engine.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from store.errors import StoreError
from store.vocabulary import CLOCK_RUNNING_STATUSES, OPEN_STATUSES

if TYPE_CHECKING:
    from store.engine import Store


def label(text: str) -> str:
    """Marks a UI label for translation (the screens translate it; the store never does)."""
    return text


class Reader(Protocol):
    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]: ...


class _SqliteReader:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return self._connection.execute(sql, params or {}).fetchall()


class _EngineReader:
    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        from sqlalchemy import text

        return [tuple(row) for row in self._connection.execute(text(sql), params or {})]


@contextmanager
def reader(store: Store) -> Iterator[Reader]:
    """A read-only connection for one batch of queries."""
    if store.path is not None:
        try:
            connection = store.raw_connection()
        except sqlite3.Error as error:
            raise StoreError(f"Cannot read the store {store.path}: {error}.", "") from error
        try:
            yield _SqliteReader(connection)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"Cannot read the store {store.path}: {error}.", "") from error
        finally:
            connection.close()
    else:
        with store.engine.connect() as engine_connection:
            yield _EngineReader(engine_connection)


def sql_time(moment: datetime) -> str:
    """A time as SQLAlchemy writes DateTime columns on SQLite (UTC, no offset), for comparisons."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def parse_sql_time(value: str | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _in_list(values: Sequence[str], prefix: str) -> tuple[str, dict[str, str]]:
    names = {f"{prefix}{i}": value for i, value in enumerate(values)}
    return ", ".join(f":{name}" for name in names), names


@dataclass(frozen=True)
class DashboardCounts:
    unread_mail: int
    untriaged_requests: int
    overdue_requests: int
    due_today_requests: int
    open_notices: int
    new_feed_items: int
    onboarding_due: int


def dashboard_counts(store: Store, now: datetime, end_of_today: datetime, today: date) -> DashboardCounts:
    """The Today screen's figures. ``end_of_today`` and ``today`` are in the county's time zone."""
    running_list, running_params = _in_list(CLOCK_RUNNING_STATUSES, "run")
    sql = f"""
        SELECT
          (SELECT count(*) FROM mail_message m JOIN mail_folder f ON f.id = m.folder_id
            WHERE m.seen = 0 AND f.role = 'inbox'),
          (SELECT count(*) FROM service_request WHERE status = 'uusi' AND merged_into_id IS NULL),
          (SELECT count(*) FROM service_request
            WHERE status IN ({running_list}) AND due_at < :now),
          (SELECT count(*) FROM service_request
            WHERE status IN ({running_list}) AND due_at >= :now AND due_at < :end_of_today),
          (SELECT count(*) FROM notice WHERE is_open = 1),
          (SELECT count(*) FROM feed_item WHERE read = 0),
          (SELECT count(*) FROM checklist_run_item i JOIN checklist_run r ON r.id = i.run_id
            WHERE r.status = 'open' AND i.done_at IS NULL AND i.due_on <= :today)
    """
    params: dict[str, Any] = {
        "now": sql_time(now),
        "end_of_today": sql_time(end_of_today),
        "today": today.isoformat(),
        **running_params,
    }
    with reader(store) as read:
        row = read.rows(sql, params)[0]
    return DashboardCounts(*(int(value or 0) for value in row))


@dataclass(frozen=True)
class OpenNotice:
    id: int
    kind: str
    status: str
    subject: str
    start_at: datetime


def open_notices(store: Store, limit: int = 20) -> list[OpenNotice]:
    with reader(store) as read:
        rows = read.rows(
            "SELECT id, kind, status, subject, start_at FROM notice WHERE is_open = 1 "
            "ORDER BY start_at DESC LIMIT :limit",
            {"limit": limit},
        )
    return [OpenNotice(r[0], r[1], r[2], r[3], parse_sql_time(r[4]) or datetime.min) for r in rows]


@dataclass(frozen=True)
class AreaOverview:
    """A placeholder screen's figures and its newest rows (columns as plain strings)."""

    figures: list[tuple[str, int]]  # (message id of the label, count)
    columns: list[str]  # message ids of the column headers
    rows: list[tuple[str, ...]]


_AREA_QUERIES: dict[str, tuple[list[tuple[str, str]], list[str], str]] = {
    "mail": (
        [
            (label("Messages"), "SELECT count(*) FROM mail_message"),
            (label("Unread"), "SELECT count(*) FROM mail_message WHERE seen = 0"),
            (label("Flagged"), "SELECT count(*) FROM mail_message WHERE flagged = 1"),
            (label("Folders"), "SELECT count(*) FROM mail_folder"),
        ],
        [label("Date"), label("From"), label("Subject")],
        "SELECT date, CASE WHEN from_name != '' THEN from_name ELSE from_addr END, subject "
        "FROM mail_message ORDER BY date DESC LIMIT :limit",
    ),
    "requests": (
        [
            (label("Open"), "SELECT count(*) FROM service_request WHERE status IN ({open})"),
            (label("Untriaged"), "SELECT count(*) FROM service_request WHERE status = 'uusi'"),
            (
                label("Waiting on DigiFinland"),
                "SELECT count(*) FROM service_request WHERE status = 'odottaa DigiFinlandia'",
            ),
            (label("All"), "SELECT count(*) FROM service_request"),
        ],
        [label("Reference"), label("Status"), label("Title")],
        "SELECT reference, status, title FROM service_request ORDER BY created_at DESC LIMIT :limit",
    ),
    "notices": (
        [
            (label("Open"), "SELECT count(*) FROM notice WHERE is_open = 1"),
            (label("All"), "SELECT count(*) FROM notice"),
            (label("Versions sent"), "SELECT count(*) FROM notice_version WHERE sent_at IS NOT NULL"),
        ],
        [label("Start"), label("Status"), label("Subject")],
        "SELECT start_at, status, subject FROM notice ORDER BY is_open DESC, start_at DESC LIMIT :limit",
    ),
    "feeds": (
        [
            (label("Feeds"), "SELECT count(*) FROM feed"),
            (label("Unread"), "SELECT count(*) FROM feed_item WHERE read = 0"),
            (label("Starred"), "SELECT count(*) FROM feed_item WHERE starred = 1"),
            (label("Items"), "SELECT count(*) FROM feed_item"),
        ],
        [label("Date"), label("Feed"), label("Title")],
        "SELECT i.published_at, f.name, i.title FROM feed_item i JOIN feed f ON f.id = i.feed_id "
        "ORDER BY i.published_at DESC LIMIT :limit",
    ),
    "onboarding": (
        [
            (label("Open checklists"), "SELECT count(*) FROM checklist_run WHERE status = 'open'"),
            (
                label("Open items"),
                "SELECT count(*) FROM checklist_run_item i JOIN checklist_run r ON r.id = i.run_id "
                "WHERE r.status = 'open' AND i.done_at IS NULL",
            ),
            (label("Templates"), "SELECT count(*) FROM checklist_template WHERE is_current = 1"),
        ],
        [label("Start"), label("Person"), label("Checklist")],
        "SELECT r.start_date, p.name, t.name FROM checklist_run r JOIN person p ON p.id = r.person_id "
        "JOIN checklist_template t ON t.id = r.template_id ORDER BY r.start_date DESC LIMIT :limit",
    ),
    "network": (
        [
            (label("Units"), "SELECT count(*) FROM unit"),
            (label("People"), "SELECT count(*) FROM person WHERE active = 1"),
            (label("Lists"), "SELECT count(*) FROM mailing_list"),
        ],
        [label("Name"), label("Unit"), label("E-mail")],
        "SELECT p.name, coalesce(u.name, ''), p.email FROM person p LEFT JOIN unit u ON u.id = p.unit_id "
        "WHERE p.active = 1 ORDER BY p.name LIMIT :limit",
    ),
}

AREAS = tuple(_AREA_QUERIES)


def area_overview(store: Store, area: str, limit: int = 200) -> AreaOverview:
    """Counts and the newest ``limit`` rows of one area, for the screens whose issue is still open."""
    figure_queries, columns, rows_sql = _AREA_QUERIES[area]
    open_list, open_params = _in_list(OPEN_STATUSES, "open")
    with reader(store) as read:
        figures = [
            (label, int(read.rows(sql.format(open=open_list), open_params)[0][0]))
            for label, sql in figure_queries
        ]
        rows = [
            tuple("" if value is None else str(value) for value in row)
            for row in read.rows(rows_sql, {"limit": limit})
        ]
    return AreaOverview(figures, columns, rows)


def last_mail_sync(store: Store) -> datetime | None:
    """When the mailbox was last synced (any folder), or None if never."""
    with reader(store) as read:
        return parse_sql_time(read.rows("SELECT max(last_sync_at) FROM mail_folder")[0][0])


def integrity_check(store: Store) -> list[str]:
    """SQLite's own consistency check; ``["ok"]`` when the file is sound."""
    with reader(store) as read:
        return [str(row[0]) for row in read.rows("PRAGMA integrity_check")]
