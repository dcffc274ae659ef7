"""What the Mail screen reads: folders with counts, a window of a folder, threads, one message, search.

A folder can hold 100,000 messages, so nothing here returns a whole folder. A window is read in
two steps: the ids of the rows at ``offset`` from the covering index ``(folder_id, date)`` (an
index-only walk: about 1.5 ms at offset 45,000 on the benchmark store, where reading the full rows
at that offset took 4 ms), then those rows by id. Newest first; ties on the date go by id, which
the index also holds, so the order is total and stable between windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from store.queries import Reader, parse_sql_time, reader
from store.search import fts_query

if TYPE_CHECKING:
    from store.engine import Store

# Folder roles in the order the folder list shows them; other folders follow by name.
ROLE_ORDER = ("inbox", "sent", "archive", "trash")

# The columns a list row needs, in MessageRow's order.
_ROW_COLUMNS = (
    "id, folder_id, date, from_name, from_addr, subject, seen, flagged, answered, has_attachments, thread_key"
)


@dataclass(frozen=True)
class FolderSummary:
    id: int
    name: str  # the server's name
    role: str  # inbox, sent, archive, trash or ""
    total: int
    unread: int


@dataclass(frozen=True)
class MessageRow:
    """One line of the message list."""

    id: int
    folder_id: int
    date: datetime
    from_name: str
    from_addr: str
    subject: str
    seen: bool
    flagged: bool
    answered: bool
    has_attachments: bool
    thread_key: str
    thread_size: int  # messages with the same thread_key in every folder (1 = alone)


@dataclass(frozen=True)
class ThreadMember:
    id: int
    folder_name: str
    date: datetime
    from_name: str
    from_addr: str
    subject: str
    seen: bool


@dataclass(frozen=True)
class AttachmentInfo:
    id: int
    part: str
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class MessageDetail:
    """Everything the reader pane shows of one message."""

    id: int
    folder_id: int
    folder_name: str
    folder_role: str
    uid: int
    message_id: str
    in_reply_to: str
    references: str
    thread_key: str
    subject: str
    from_name: str
    from_addr: str
    to_addrs: str
    cc_addrs: str
    date: datetime
    seen: bool
    flagged: bool
    answered: bool
    size: int
    body_text: str
    parse_note: str
    headers: str  # the header block as received; "" for rows synced before it was kept
    attachments: tuple[AttachmentInfo, ...]


def _time(value: Any) -> datetime:
    return parse_sql_time(value) or datetime.min.replace(tzinfo=UTC)


def folders(store: Store) -> list[FolderSummary]:
    """Every folder with its message and unread counts, inbox, sent, archive, trash, then by name."""
    with reader(store) as read:
        names = read.rows("SELECT id, name, role FROM mail_folder")
        # Both counts come from the covering index (seen, folder_id): no table rows are read.
        counts = read.rows("SELECT folder_id, seen, count(*) FROM mail_message GROUP BY seen, folder_id")
    totals: dict[int, int] = {}
    unread: dict[int, int] = {}
    for folder_id, seen, count in counts:
        totals[int(folder_id)] = totals.get(int(folder_id), 0) + int(count)
        if not seen:
            unread[int(folder_id)] = int(count)
    summaries = [
        FolderSummary(int(i), str(name), str(role or ""), totals.get(int(i), 0), unread.get(int(i), 0))
        for i, name, role in names
    ]

    def order(folder: FolderSummary) -> tuple[int, str]:
        rank = ROLE_ORDER.index(folder.role) if folder.role in ROLE_ORDER else len(ROLE_ORDER)
        return rank, folder.name.casefold()

    return sorted(summaries, key=order)


def default_folder_id(store: Store) -> int | None:
    """The folder the screen opens on: the inbox, else the first folder in the list's order."""
    roles = " ".join(f"WHEN '{role}' THEN {rank}" for rank, role in enumerate(ROLE_ORDER))
    with reader(store) as read:
        rows = read.rows(
            f"SELECT id FROM mail_folder ORDER BY CASE role {roles} ELSE {len(ROLE_ORDER)} END, "
            "lower(name) LIMIT 1"
        )
    return int(rows[0][0]) if rows else None


def folder_count(store: Store, folder_id: int) -> int:
    with reader(store) as read:
        return int(
            read.rows("SELECT count(*) FROM mail_message WHERE folder_id = :f", {"f": folder_id})[0][0]
        )


def window_ids(read: Reader, folder_id: int, offset: int, limit: int) -> list[int]:
    """The ids of the folder's rows ``offset`` .. ``offset + limit`` (newest first)."""
    rows = read.rows(
        "SELECT id FROM mail_message WHERE folder_id = :f "
        "ORDER BY date DESC, id DESC LIMIT :limit OFFSET :offset",
        {"f": folder_id, "limit": max(0, limit), "offset": max(0, offset)},
    )
    return [int(row[0]) for row in rows]


def folder_window(store: Store, folder_id: int, offset: int, limit: int) -> list[MessageRow]:
    """At most ``limit`` list rows of the folder from position ``offset`` (0 = the newest)."""
    with reader(store) as read:
        return _rows_by_ids(read, window_ids(read, folder_id, offset, limit))


def rows_by_ids(store: Store, ids: Sequence[int]) -> list[MessageRow]:
    """List rows of these messages, in the order given (ids no longer stored are left out)."""
    with reader(store) as read:
        return _rows_by_ids(read, ids)


def _rows_by_ids(read: Reader, ids: Sequence[int]) -> list[MessageRow]:
    if not ids:
        return []
    found: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ", ".join(f":i{n}" for n in range(len(chunk)))
        params = {f"i{n}": value for n, value in enumerate(chunk)}
        for fetched in read.rows(f"SELECT {_ROW_COLUMNS} FROM mail_message WHERE id IN ({marks})", params):
            found[int(fetched[0])] = fetched
    keys = sorted({str(row[10]) for row in found.values() if row[10]})
    sizes = _thread_sizes(read, keys)
    result = []
    for message_id in ids:
        row = found.get(int(message_id))
        if row is None:
            continue
        key = str(row[10] or "")
        result.append(
            MessageRow(
                id=int(row[0]),
                folder_id=int(row[1]),
                date=_time(row[2]),
                from_name=str(row[3] or ""),
                from_addr=str(row[4] or ""),
                subject=str(row[5] or ""),
                seen=bool(row[6]),
                flagged=bool(row[7]),
                answered=bool(row[8]),
                has_attachments=bool(row[9]),
                thread_key=key,
                thread_size=sizes.get(key, 1) if key else 1,
            )
        )
    return result


def _thread_sizes(read: Reader, keys: Sequence[str]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        chunk = list(keys[start : start + 500])
        marks = ", ".join(f":k{n}" for n in range(len(chunk)))
        params = {f"k{n}": value for n, value in enumerate(chunk)}
        for key, count in read.rows(
            f"SELECT thread_key, count(*) FROM mail_message "
            f"WHERE thread_key IN ({marks}) GROUP BY thread_key",
            params,
        ):
            sizes[str(key)] = int(count)
    return sizes


def position_in_folder(store: Store, folder_id: int, message_id: int) -> int | None:
    """Where the message stands in its folder's list (0 = newest), or None if it is not there."""
    with reader(store) as read:
        found = read.rows(
            "SELECT date FROM mail_message WHERE id = :id AND folder_id = :f",
            {"id": message_id, "f": folder_id},
        )
        if not found:
            return None
        date = found[0][0]
        before = read.rows(
            "SELECT count(*) FROM mail_message "
            "WHERE folder_id = :f AND (date > :d OR (date = :d AND id > :id))",
            {"f": folder_id, "d": date, "id": message_id},
        )
    return int(before[0][0])


def thread_members(store: Store, thread_key: str, limit: int = 200) -> list[ThreadMember]:
    """The messages of one conversation in every folder, oldest first."""
    if not thread_key:
        return []
    with reader(store) as read:
        rows = read.rows(
            "SELECT m.id, f.name, m.date, m.from_name, m.from_addr, m.subject, m.seen "
            "FROM mail_message m JOIN mail_folder f ON f.id = m.folder_id "
            "WHERE m.thread_key = :k ORDER BY m.date, m.id LIMIT :limit",
            {"k": thread_key, "limit": limit},
        )
    return [
        ThreadMember(
            int(r[0]), str(r[1]), _time(r[2]), str(r[3] or ""), str(r[4] or ""), str(r[5] or ""), bool(r[6])
        )
        for r in rows
    ]


def message_detail(store: Store, message_id: int) -> MessageDetail | None:
    """One message with its attachments, or None if it is no longer stored."""
    with reader(store) as read:
        rows = read.rows(
            'SELECT m.id, m.folder_id, f.name, f.role, m.uid, m.message_id, m.in_reply_to, m."references", '
            "m.thread_key, m.subject, m.from_name, m.from_addr, m.to_addrs, m.cc_addrs, m.date, m.seen, "
            "m.flagged, m.answered, m.size, m.body_text, m.parse_note, m.headers "
            "FROM mail_message m JOIN mail_folder f ON f.id = m.folder_id WHERE m.id = :id",
            {"id": message_id},
        )
        if not rows:
            return None
        attachments = read.rows(
            "SELECT id, part, filename, content_type, size FROM mail_attachment "
            "WHERE mail_message_id = :id ORDER BY id",
            {"id": message_id},
        )
    r = rows[0]
    return MessageDetail(
        id=int(r[0]),
        folder_id=int(r[1]),
        folder_name=str(r[2]),
        folder_role=str(r[3] or ""),
        uid=int(r[4]),
        message_id=str(r[5] or ""),
        in_reply_to=str(r[6] or ""),
        references=str(r[7] or ""),
        thread_key=str(r[8] or ""),
        subject=str(r[9] or ""),
        from_name=str(r[10] or ""),
        from_addr=str(r[11] or ""),
        to_addrs=str(r[12] or ""),
        cc_addrs=str(r[13] or ""),
        date=_time(r[14]),
        seen=bool(r[15]),
        flagged=bool(r[16]),
        answered=bool(r[17]),
        size=int(r[18] or 0),
        body_text=str(r[19] or ""),
        parse_note=str(r[20] or ""),
        headers=str(r[21] or ""),
        attachments=tuple(
            AttachmentInfo(int(a[0]), str(a[1] or ""), str(a[2] or ""), str(a[3] or ""), int(a[4] or 0))
            for a in attachments
        ),
    )


def search_mail(store: Store, text: str, limit: int = 500) -> list[int]:
    """Ids of the messages whose subject, sender or text match what the user typed, newest first.

    The best ``limit`` matches by rank are kept, then shown newest first like a folder.
    """
    query = fts_query(text)
    if not query:
        return []
    with reader(store) as read:
        rows = read.rows(
            "SELECT m.id FROM mail_message m JOIN ("
            "  SELECT rowid / 4 AS id FROM search_index WHERE search_index MATCH :q AND rowid % 4 = 0 "
            "  ORDER BY rank LIMIT :limit"
            ") hit ON hit.id = m.id ORDER BY m.date DESC, m.id DESC",
            {"q": query, "limit": limit},
        )
    return [int(row[0]) for row in rows]


def flag_states(store: Store, ids: Sequence[int]) -> dict[int, tuple[bool, bool]]:
    """id → (seen, flagged) of these messages, for choosing between read/unread and flag/unflag."""
    if not ids:
        return {}
    with reader(store) as read:
        result: dict[int, tuple[bool, bool]] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ", ".join(f":i{n}" for n in range(len(chunk)))
            params = {f"i{n}": value for n, value in enumerate(chunk)}
            for message_id, seen, flagged in read.rows(
                f"SELECT id, seen, flagged FROM mail_message WHERE id IN ({marks})", params
            ):
                result[int(message_id)] = (bool(seen), bool(flagged))
    return result


def rebuilt_headers(detail: MessageDetail) -> str:
    """A header block made from the stored fields, for messages synced before the block was kept."""
    sender = f"{detail.from_name} <{detail.from_addr}>" if detail.from_name else detail.from_addr
    lines = [
        ("From", sender),
        ("To", detail.to_addrs),
        ("Cc", detail.cc_addrs),
        ("Date", format_datetime(detail.date)),
        ("Subject", detail.subject),
        ("Message-ID", detail.message_id),
        ("In-Reply-To", detail.in_reply_to),
        ("References", detail.references),
    ]
    return "\n".join(f"{name}: {value}" for name, value in lines if value)
