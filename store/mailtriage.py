"""The mail tables as triage sees them: flags, moving a message between folders, and undoing both.

A message moved in the store before the server has moved it gets a placeholder UID, the negative
of its row id: unique in any folder, never a real UID, and the next sync of the folder drops it if
it is still there (it is not on the server) and fetches the real message. Once the server's
COPYUID names the real UID, :func:`settle_move` puts it in place, so no refetch is needed. The row
keeps its id through every move, so what refers to it (a request's mail, a feed item) stays.

Functions work inside the caller's session, so one triage action is one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import col

from store.models import FeedItem, MailAttachment, MailFolder, MailMessage, RequestMail

if TYPE_CHECKING:
    from sqlmodel import Session

ID_CHUNK = 500  # ids per statement: well inside SQLite's parameter limit

Row = tuple[tuple[str, Any], ...]  # (column, value) pairs of one row, hashable for frozen dataclasses


@dataclass(frozen=True)
class FolderRef:
    id: int
    name: str
    role: str


@dataclass(frozen=True)
class MessageState:
    """Where a message is (folder and UID) and the flags triage changes."""

    id: int
    folder: FolderRef
    uid: int
    message_id: str  # the Message-ID header, "" when it had none
    seen: bool
    flagged: bool


@dataclass(frozen=True)
class MessageSnapshot:
    """A message row with its attachments and what refers to it: enough to put it back exactly."""

    message: Row
    attachments: tuple[Row, ...]
    request_links: tuple[Row, ...]
    feed_item_ids: tuple[int, ...]

    @property
    def id(self) -> int:
        return int(dict(self.message)["id"])


@dataclass(frozen=True)
class AttachmentRef:
    """An attachment and the message it is in, for fetching its bytes."""

    id: int
    part: str
    filename: str
    content_type: str
    size: int
    message: MessageState


def placeholder_uid(message_id: int) -> int:
    """The UID a moved row carries until the server's real UID is known."""
    return -message_id


def folder_by_role(session: Session, role: str) -> FolderRef | None:
    from sqlalchemy import select

    statement = (
        select(col(MailFolder.id), col(MailFolder.name), col(MailFolder.role))
        .where(col(MailFolder.role) == role)
        .order_by(col(MailFolder.id))
    )
    row = session.connection().execute(statement).first()
    return FolderRef(_int(row[0]), str(row[1]), str(row[2])) if row else None


def folder_by_id(session: Session, folder_id: int) -> FolderRef | None:
    from sqlalchemy import select

    statement = select(col(MailFolder.id), col(MailFolder.name), col(MailFolder.role)).where(
        col(MailFolder.id) == folder_id
    )
    row = session.connection().execute(statement).first()
    return FolderRef(_int(row[0]), str(row[1]), str(row[2])) if row else None


def message_states(session: Session, ids: Iterable[int]) -> dict[int, MessageState]:
    """id → state of the messages that exist (ids of deleted rows are simply absent)."""
    from sqlalchemy import select

    columns = (
        col(MailMessage.id),
        col(MailFolder.id),
        col(MailFolder.name),
        col(MailFolder.role),
        col(MailMessage.uid),
        col(MailMessage.message_id),
        col(MailMessage.seen),
        col(MailMessage.flagged),
    )
    base = select(*columns).join(MailFolder, col(MailFolder.id) == col(MailMessage.folder_id))
    result: dict[int, MessageState] = {}
    connection = session.connection()
    for chunk in _chunks(sorted(set(ids))):
        for row in connection.execute(base.where(col(MailMessage.id).in_(chunk))):
            message_id, folder_id, name, role, uid, header_id, seen, flagged = row
            result[_int(message_id)] = MessageState(
                id=_int(message_id),
                folder=FolderRef(_int(folder_id), str(name), str(role)),
                uid=_int(uid),
                message_id=str(header_id or ""),
                seen=bool(seen),
                flagged=bool(flagged),
            )
    return result


def attachment_ref(session: Session, attachment_id: int) -> AttachmentRef | None:
    from sqlalchemy import select

    statement = select(
        col(MailAttachment.mail_message_id),
        col(MailAttachment.part),
        col(MailAttachment.filename),
        col(MailAttachment.content_type),
        col(MailAttachment.size),
    ).where(col(MailAttachment.id) == attachment_id)
    row = session.connection().execute(statement).first()
    if row is None:
        return None
    message = message_states(session, [int(row[0])]).get(int(row[0]))
    if message is None:
        return None
    return AttachmentRef(attachment_id, str(row[1]), str(row[2]), str(row[3]), int(row[4] or 0), message)


def set_flags(
    session: Session, ids: Iterable[int], *, seen: bool | None = None, flagged: bool | None = None
) -> None:
    """Set seen and/or flagged on these messages."""
    from sqlalchemy import update

    values: dict[str, bool] = {}
    if seen is not None:
        values["seen"] = seen
    if flagged is not None:
        values["flagged"] = flagged
    if not values:
        return
    connection = session.connection()
    for chunk in _chunks(sorted(set(ids))):
        connection.execute(update(MailMessage).where(col(MailMessage.id).in_(chunk)).values(**values))
    session.expire_all()


def restore_flags(session: Session, flags: Mapping[int, tuple[bool, bool]]) -> None:
    """Put back (seen, flagged) per message id; ids of rows gone meanwhile are skipped."""
    if not flags:
        return
    from sqlalchemy import bindparam, update

    statement = (
        update(MailMessage)
        .where(col(MailMessage.id) == bindparam("match_id"))
        .values(seen=bindparam("new_seen"), flagged=bindparam("new_flagged"))
    )
    parameters = [
        {"match_id": message_id, "new_seen": seen, "new_flagged": flagged}
        for message_id, (seen, flagged) in flags.items()
    ]
    session.connection().execute(statement, parameters)
    session.expire_all()


def row_at(session: Session, folder_id: int, uid: int) -> int | None:
    """The id of the message stored at (folder, UID), if any."""
    from sqlalchemy import select

    statement = select(col(MailMessage.id)).where(
        col(MailMessage.folder_id) == folder_id, col(MailMessage.uid) == uid
    )
    value = session.connection().execute(statement).scalar()
    return int(value) if value is not None else None


def move_message(session: Session, message_id: int, folder_id: int, uid: int) -> bool:
    """Move the row to (folder, UID); False if the row is gone. See :func:`move_messages`."""
    return bool(move_messages(session, {message_id: (folder_id, uid)}))


def move_messages(session: Session, moves: Mapping[int, tuple[int, int]]) -> int:
    """Move rows: message id → (folder id, UID); returns how many rows exist to move.

    Another row already at a (folder, UID) is a copy a sync fetched meanwhile of this same message
    (UIDs are never reused within a UIDVALIDITY): it is dropped, and the moved row, which keeps its
    id and what refers to it, takes its place. Two statements for any number of rows.
    """
    if not moves:
        return 0
    from sqlalchemy import bindparam, delete, select, update

    connection = session.connection()
    by_folder: dict[int, dict[int, int]] = {}
    for message_id, (folder_id, uid) in moves.items():
        by_folder.setdefault(folder_id, {})[uid] = message_id
    in_the_way: list[int] = []
    for folder_id, wanted in by_folder.items():
        for chunk in _chunks(sorted(wanted)):
            query = select(col(MailMessage.id), col(MailMessage.uid)).where(
                col(MailMessage.folder_id) == folder_id, col(MailMessage.uid).in_(chunk)
            )
            for other, uid in connection.execute(query):
                if other != wanted[uid] and other not in moves:
                    in_the_way.append(_int(other))
    for chunk in _chunks(in_the_way):
        connection.execute(delete(MailMessage).where(col(MailMessage.id).in_(chunk)))
    statement = (
        update(MailMessage)
        .where(col(MailMessage.id) == bindparam("match_id"))
        .values(folder_id=bindparam("new_folder"), uid=bindparam("new_uid"))
    )
    # First every moving row to its own placeholder (unique by construction), then to where it goes:
    # rows that trade places never meet at one (folder, UID).
    first = [
        {"match_id": message_id, "new_folder": folder_id, "new_uid": placeholder_uid(message_id)}
        for message_id, (folder_id, _uid) in moves.items()
    ]
    moved = int(connection.execute(statement, first).rowcount or 0)
    final = [
        {"match_id": message_id, "new_folder": folder_id, "new_uid": uid}
        for message_id, (folder_id, uid) in moves.items()
        if uid != placeholder_uid(message_id)
    ]
    if final:
        connection.execute(statement, final)
    session.expire_all()
    return moved


def settle_move(
    session: Session,
    message_id: int,
    *,
    source_folder_id: int,
    source_uid: int,
    target_folder_id: int,
    target_uid: int,
) -> None:
    """Record that the server moved the message to (target folder, target UID).

    Whatever a sync did in between, exactly one row ends up at the target for it:
    - our row, if it is still in the target folder, takes the real UID (a copy the sync may have
      fetched there already is dropped);
    - if a sync removed our placeholder but had fetched the message again into the source folder
      (it was still there on the server then), that copy is moved instead;
    - a copy left in the source folder under the old UID is gone on the server now: dropped.
    A row that a later action moved on elsewhere is left where it is.
    """
    from sqlalchemy import delete

    connection = session.connection()
    ours = message_states(session, [message_id]).get(message_id)
    refetched = row_at(session, source_folder_id, source_uid) if source_uid > 0 else None
    if refetched == message_id:
        refetched = None  # our own row is back at the source (reverted); not a copy
    if ours is not None and ours.folder.id == target_folder_id:
        move_message(session, message_id, target_folder_id, target_uid)
        if refetched is not None:
            connection.execute(delete(MailMessage).where(col(MailMessage.id) == refetched))
    elif ours is None and refetched is not None:
        move_message(session, refetched, target_folder_id, target_uid)
    elif refetched is not None:
        connection.execute(delete(MailMessage).where(col(MailMessage.id) == refetched))
    session.expire_all()


def snapshot_message(session: Session, message_id: int) -> MessageSnapshot | None:
    """The row, its attachments and what refers to it, for :func:`restore_message`."""
    return snapshot_messages(session, [message_id]).get(message_id)


def snapshot_messages(session: Session, ids: Iterable[int]) -> dict[int, MessageSnapshot]:
    """id → snapshot of each message that exists; a few statements for any number of them."""
    from sqlalchemy import select

    connection = session.connection()
    message_table = MailMessage.__table__  # type: ignore[attr-defined]
    attachment_table = MailAttachment.__table__  # type: ignore[attr-defined]
    link_table = RequestMail.__table__  # type: ignore[attr-defined]
    messages: dict[int, Row] = {}
    attachments: dict[int, list[Row]] = {}
    links: dict[int, list[Row]] = {}
    feed_items: dict[int, list[int]] = {}
    for chunk in _chunks(sorted(set(ids))):
        for row in connection.execute(select(message_table).where(message_table.c.id.in_(chunk))).mappings():
            messages[_int(row["id"])] = _as_row(row)
        statement = (
            select(attachment_table)
            .where(attachment_table.c.mail_message_id.in_(chunk))
            .order_by(attachment_table.c.id)
        )
        for row in connection.execute(statement).mappings():
            attachments.setdefault(_int(row["mail_message_id"]), []).append(_as_row(row))
        statement = select(link_table).where(link_table.c.mail_message_id.in_(chunk))
        for row in connection.execute(statement).mappings():
            links.setdefault(_int(row["mail_message_id"]), []).append(_as_row(row))
        statement = (
            select(col(FeedItem.mail_message_id), col(FeedItem.id))
            .where(col(FeedItem.mail_message_id).in_(chunk))
            .order_by(col(FeedItem.id))
        )
        for message_id, item_id in connection.execute(statement):
            feed_items.setdefault(_int(message_id), []).append(_int(item_id))
    return {
        message_id: MessageSnapshot(
            message=row,
            attachments=tuple(attachments.get(message_id, ())),
            request_links=tuple(links.get(message_id, ())),
            feed_item_ids=tuple(feed_items.get(message_id, ())),
        )
        for message_id, row in messages.items()
    }


def restore_message(session: Session, snapshot: MessageSnapshot) -> bool:
    """Put a deleted message back with its id, attachments and links; False if it is still there.

    A copy of it that a sync fetched meanwhile at the same (folder, UID) is dropped first.
    """
    from sqlalchemy import delete, insert, update

    if message_states(session, [snapshot.id]):
        return False
    connection = session.connection()
    values = dict(snapshot.message)
    other = row_at(session, int(values["folder_id"]), int(values["uid"]))
    if other is not None:
        connection.execute(delete(MailMessage).where(col(MailMessage.id) == other))
    connection.execute(insert(MailMessage.__table__).values(**values))  # type: ignore[attr-defined]
    for attachment in snapshot.attachments:
        connection.execute(insert(MailAttachment.__table__).values(**dict(attachment)))  # type: ignore[attr-defined]
    for link in snapshot.request_links:
        # The request itself may be gone meanwhile; then the link has nothing to point at.
        connection.execute(
            insert(RequestMail.__table__).prefix_with("OR IGNORE").values(**dict(link))  # type: ignore[attr-defined]
        )
    for chunk in _chunks(list(snapshot.feed_item_ids)):
        connection.execute(
            update(FeedItem)
            .where(col(FeedItem.id).in_(chunk), col(FeedItem.mail_message_id).is_(None))
            .values(mail_message_id=snapshot.id)
        )
    session.expire_all()
    return True


def delete_messages(session: Session, ids: Iterable[int]) -> int:
    """Delete these message rows (attachments and request links go with them); returns how many."""
    from sqlalchemy import delete

    removed = 0
    connection = session.connection()
    for chunk in _chunks(sorted(set(ids))):
        removed += int(
            connection.execute(delete(MailMessage).where(col(MailMessage.id).in_(chunk))).rowcount or 0
        )
    session.expire_all()
    return removed


def stored_uids_of(session: Session, folder_id: int, uids: Iterable[int]) -> set[int]:
    """Which of these UIDs the store has in the folder."""
    from sqlalchemy import select

    found: set[int] = set()
    connection = session.connection()
    for chunk in _chunks(sorted(set(uids))):
        statement = select(col(MailMessage.uid)).where(
            col(MailMessage.folder_id) == folder_id, col(MailMessage.uid).in_(chunk)
        )
        found.update(int(uid) for (uid,) in connection.execute(statement))
    return found


def _as_row(mapping: Any) -> Row:
    return tuple((str(key), value) for key, value in mapping.items())


def _int(value: Any) -> int:
    return int(value)


def _chunks(values: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(values), ID_CHUNK):
        yield list(values[start : start + ID_CHUNK])
