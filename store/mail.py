"""The mail tables as the IMAP sync sees them: folder state, message rows by UID, flags, expunges.

Only this module knows the SQL for mail sync. Functions work inside the caller's session (one
``Store.session()`` per unit of work), so the sync decides where a batch is committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import col

from store.bulk import insert_rows
from store.models import MailAttachment, MailFolder, MailMessage, utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

# UIDs per statement where a list of UIDs is bound: well inside SQLite's parameter limit.
UID_CHUNK = 500

Flags = tuple[bool, bool, bool]  # seen, flagged, answered


def folder_state(session: Session, name: str) -> MailFolder | None:
    """The folder called ``name`` (the server's name) with its sync state, or None if never synced."""
    from sqlmodel import select

    return session.exec(select(MailFolder).where(col(MailFolder.name) == name)).first()


def ensure_folder(session: Session, name: str, role: str) -> MailFolder:
    """The folder called ``name``, created if new; its role is set to ``role``."""
    folder = folder_state(session, name)
    if folder is None:
        folder = MailFolder(name=name, role=role)
        session.add(folder)
        session.flush()
    elif folder.role != role:
        folder.role = role
        session.add(folder)
        session.flush()
    return folder


def reset_folder(session: Session, folder_id: int, uidvalidity: int) -> int:
    """Forget the folder's messages and sync state (a new UIDVALIDITY); returns how many rows went."""
    from sqlalchemy import delete, update

    connection = session.connection()
    removed = connection.execute(delete(MailMessage).where(col(MailMessage.folder_id) == folder_id)).rowcount
    connection.execute(
        update(MailFolder)
        .where(col(MailFolder.id) == folder_id)
        .values(uidvalidity=uidvalidity, uidnext=None, highest_uid=0, highest_modseq=None)
    )
    session.expire_all()
    return int(removed or 0)


def stored_uids(session: Session, folder_id: int) -> set[int]:
    from sqlalchemy import select

    rows = session.connection().execute(
        select(col(MailMessage.uid)).where(col(MailMessage.folder_id) == folder_id)
    )
    return {uid for (uid,) in rows}


def highest_stored_uid(session: Session, folder_id: int) -> int:
    """The highest server UID stored for the folder (0 when it has none).

    Rows with a UID below 1 are local placeholders (a message moved here before the server told
    its UID) and do not count.
    """
    from sqlalchemy import func, select

    statement = select(func.max(col(MailMessage.uid))).where(
        col(MailMessage.folder_id) == folder_id, col(MailMessage.uid) > 0
    )
    return int(session.connection().execute(statement).scalar() or 0)


def delete_uid_ranges(session: Session, folder_id: int, ranges: Iterable[tuple[int, int]]) -> int:
    """Delete the folder's messages whose UID is in any of the (low, high) ranges; returns how many."""
    from sqlalchemy import bindparam, delete

    parameters = [{"low": int(low), "high": int(high)} for low, high in ranges]
    if not parameters:
        return 0
    statement = delete(MailMessage).where(
        col(MailMessage.folder_id) == folder_id,
        col(MailMessage.uid) >= bindparam("low"),
        col(MailMessage.uid) <= bindparam("high"),
    )
    connection = session.connection()
    removed = 0
    for parameter in parameters:  # rowcount of an executemany is not reliable across drivers
        removed += int(connection.execute(statement, parameter).rowcount or 0)
    return removed


def stored_flags(session: Session, folder_id: int, uids: Iterable[int] | None = None) -> dict[int, Flags]:
    """UID → (seen, flagged, answered) for the folder's messages (only ``uids`` when given)."""
    from sqlalchemy import select

    columns = (
        col(MailMessage.uid),
        col(MailMessage.seen),
        col(MailMessage.flagged),
        col(MailMessage.answered),
    )
    base = select(*columns).where(col(MailMessage.folder_id) == folder_id)
    connection = session.connection()
    if uids is None:
        return {uid: (bool(s), bool(f), bool(a)) for uid, s, f, a in connection.execute(base)}
    result: dict[int, Flags] = {}
    for chunk in _chunks(sorted(uids)):
        rows = connection.execute(base.where(col(MailMessage.uid).in_(chunk)))
        result.update({uid: (bool(s), bool(f), bool(a)) for uid, s, f, a in rows})
    return result


def message_count(session: Session, folder_id: int) -> int:
    from sqlalchemy import func, select

    statement = select(func.count()).select_from(MailMessage).where(col(MailMessage.folder_id) == folder_id)
    return int(session.connection().execute(statement).scalar() or 0)


def insert_messages(session: Session, folder_id: int, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert new messages of a folder; returns how many.

    Each row maps ``MailMessage`` columns (``uid`` and any others; ``folder_id`` is set here) and may
    carry ``attachments``: a list of dicts with ``part``, ``filename``, ``content_type``, ``size``.
    Every row must name the same columns. A UID already stored is left as it is: the same UID in a
    folder is the same message, and the triage write-back stores the UID a MOVE gave (COPYUID)
    while a sync may be fetching that UID as new (the 30-minute soak met that race).
    """
    if not rows:
        return 0
    from sqlalchemy import select

    connection = session.connection()
    stored: set[int] = set()
    for chunk in _chunks(sorted(int(row["uid"]) for row in rows)):
        found = select(col(MailMessage.uid)).where(
            col(MailMessage.folder_id) == folder_id, col(MailMessage.uid).in_(chunk)
        )
        stored.update(int(uid) for (uid,) in connection.execute(found))
    rows = [row for row in rows if int(row["uid"]) not in stored]
    if not rows:
        return 0
    messages = []
    attachments_by_uid: dict[int, list[Mapping[str, Any]]] = {}
    for row in rows:
        message = {key: value for key, value in row.items() if key != "attachments"}
        message["folder_id"] = folder_id
        messages.append(message)
        if row.get("attachments"):
            attachments_by_uid[int(row["uid"])] = list(row["attachments"])
    insert_rows(session, MailMessage, messages)
    if attachments_by_uid:
        ids: dict[int, int] = {}
        for chunk in _chunks(sorted(attachments_by_uid)):
            statement = select(col(MailMessage.uid), col(MailMessage.id)).where(
                col(MailMessage.folder_id) == folder_id,
                col(MailMessage.uid).in_(chunk),
            )
            ids.update(
                {uid: int(message_id) for uid, message_id in connection.execute(statement) if message_id}
            )
        attachment_rows = [
            {
                "mail_message_id": ids[uid],
                "part": str(item.get("part", "")),
                "filename": str(item.get("filename", "")),
                "content_type": str(item.get("content_type", "")),
                "size": int(item.get("size", 0) or 0),
            }
            for uid, items in attachments_by_uid.items()
            for item in items
        ]
        insert_rows(session, MailAttachment, attachment_rows)
    return len(messages)


def update_flags(
    session: Session, folder_id: int, changes: Mapping[int, tuple[bool, bool, bool, int | None]]
) -> None:
    """Set (seen, flagged, answered, modseq) of the folder's messages by UID."""
    if not changes:
        return
    from sqlalchemy import bindparam, update

    statement = (
        update(MailMessage)
        .where(col(MailMessage.folder_id) == folder_id, col(MailMessage.uid) == bindparam("match_uid"))
        .values(
            seen=bindparam("new_seen"),
            flagged=bindparam("new_flagged"),
            answered=bindparam("new_answered"),
            modseq=bindparam("new_modseq"),
        )
    )
    parameters = [
        {
            "match_uid": uid,
            "new_seen": seen,
            "new_flagged": flagged,
            "new_answered": answered,
            "new_modseq": modseq,
        }
        for uid, (seen, flagged, answered, modseq) in changes.items()
    ]
    session.connection().execute(statement, parameters)


def delete_uids(session: Session, folder_id: int, uids: Iterable[int]) -> int:
    """Delete the folder's messages with these UIDs (expunged on the server); returns how many."""
    from sqlalchemy import delete

    removed = 0
    connection = session.connection()
    for chunk in _chunks(sorted(uids)):
        statement = delete(MailMessage).where(
            col(MailMessage.folder_id) == folder_id,
            col(MailMessage.uid).in_(chunk),
        )
        removed += int(connection.execute(statement).rowcount or 0)
    return removed


def record_sync(
    session: Session,
    folder_id: int,
    uidvalidity: int | None,
    uidnext: int | None,
    highest_uid: int,
    highest_modseq: int | None,
    error: str = "",
    *,
    at: datetime | None = None,
) -> None:
    """Remember where the folder's sync ended, so the next one can be incremental."""
    from sqlalchemy import update

    session.connection().execute(
        update(MailFolder)
        .where(col(MailFolder.id) == folder_id)
        .values(
            uidvalidity=uidvalidity,
            uidnext=uidnext,
            highest_uid=highest_uid,
            highest_modseq=highest_modseq,
            last_sync_at=at or utcnow(),
            last_error=error,
        )
    )
    session.expire_all()


def record_error(session: Session, folder_id: int, error: str) -> None:
    """Note a failed sync of the folder, keeping its sync state as it was."""
    from sqlalchemy import update

    session.connection().execute(
        update(MailFolder)
        .where(col(MailFolder.id) == folder_id)
        .values(last_error=error, last_sync_at=utcnow())
    )
    session.expire_all()


def message_counts(session: Session) -> dict[str, int]:
    """Folder name → number of stored messages, for every known folder."""
    from sqlalchemy import func, select

    statement = (
        select(col(MailFolder.name), func.count(col(MailMessage.id)))
        .select_from(MailFolder)
        .outerjoin(MailMessage, col(MailMessage.folder_id) == col(MailFolder.id))
        .group_by(col(MailFolder.id), col(MailFolder.name))
    )
    return {name: int(count) for name, count in session.connection().execute(statement)}


def _chunks(values: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(values), UID_CHUNK):
        yield list(values[start : start + UID_CHUNK])
