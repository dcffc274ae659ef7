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

from store.errors import store_error_from
from store.vocabulary import CLOCK_RUNNING_STATUSES

if TYPE_CHECKING:
    from store.engine import Store


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
            raise store_error_from(error, store.path) from error
        try:
            yield _SqliteReader(connection)
        except sqlite3.DatabaseError as error:
            raise store_error_from(error, store.path) from error
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


def last_mail_sync(store: Store) -> datetime | None:
    """When the mailbox was last synced (any folder), or None if never."""
    with reader(store) as read:
        return parse_sql_time(read.rows("SELECT max(last_sync_at) FROM mail_folder")[0][0])


def integrity_check(store: Store) -> list[str]:
    """SQLite's own consistency check; ``["ok"]`` when the file is sound."""
    with reader(store) as read:
        return [str(row[0]) for row in read.rows("PRAGMA integrity_check")]
