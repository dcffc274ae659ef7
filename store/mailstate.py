"""The mail folders' sync state through a plain ``sqlite3`` connection, for the no-change sync.

A sync that finds nothing new must be quick as a whole process (cron runs it every few minutes),
so reading each folder's state and noting "synced, nothing changed" must not import SQLAlchemy
and SQLModel (most of a second). Only SQLite files take this path; :func:`open_light` returns
None for other stores, and the sync then uses :mod:`store.mail`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from store.engine import BUSY_TIMEOUT_MS
from store.queries import sql_time

if TYPE_CHECKING:
    from store.engine import Store


@dataclass(frozen=True)
class FolderState:
    id: int
    name: str
    role: str
    uidvalidity: int | None
    uidnext: int | None
    highest_uid: int
    highest_modseq: int | None
    messages: int  # rows stored for the folder


class LightMailState:
    """One ``sqlite3`` connection for a sync's folder states; close it when the sync ends."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def folder_states(self) -> dict[str, FolderState]:
        rows = self._connection.execute(
            "SELECT f.id, f.name, f.role, f.uidvalidity, f.uidnext, f.highest_uid, f.highest_modseq, "
            "(SELECT count(*) FROM mail_message m WHERE m.folder_id = f.id) FROM mail_folder f"
        ).fetchall()
        return {
            name: FolderState(
                int(folder_id),
                str(name),
                str(role or ""),
                None if uidvalidity is None else int(uidvalidity),
                None if uidnext is None else int(uidnext),
                int(highest_uid or 0),
                None if modseq is None else int(modseq),
                int(count),
            )
            for folder_id, name, role, uidvalidity, uidnext, highest_uid, modseq, count in rows
        }

    def record_unchanged(self, folder_id: int, at: datetime) -> None:
        """Note that the folder was synced at ``at`` (aware UTC) and nothing had changed."""
        with self._connection:  # one short write transaction, committed here
            self._connection.execute(
                "UPDATE mail_folder SET last_sync_at = ?, last_error = '' WHERE id = ?",
                (sql_time(at), folder_id),
            )

    def close(self) -> None:
        self._connection.close()


def open_light(store: Store) -> LightMailState | None:
    """The light path for ``store``, or None when it is not a SQLite file (or cannot be opened so)."""
    if store.path is None:
        return None
    try:
        connection = sqlite3.connect(str(store.path), timeout=BUSY_TIMEOUT_MS / 1000)
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA synchronous=NORMAL")  # as the engine's connections (WAL)
    except sqlite3.Error:
        return None
    return LightMailState(connection)
