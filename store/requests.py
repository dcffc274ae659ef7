"""Every SQL statement about service requests: create, change with optimistic versioning, history,
notes, merge, bulk change, undo, the saved views as keyset windows, and the figures.

Each change a person makes is one ``request_action`` with one ``request_event`` per field changed
(who, when, field, old → new), all in one transaction: the history, undo and the figures are read
from them. A change names the ``version`` of the row it was based on; if another instance changed
the row since, :class:`Conflict` carries both values and nothing is written.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from store.errors import StoreError
from store.queries import Reader, parse_sql_time, reader, sql_time
from store.search import request_fts_query, request_match_condition
from store.vocabulary import CLOCK_RUNNING_STATUSES, OPEN_STATUSES

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from store.engine import Store

# The request's own fields a person may change, and how each is kept as text in an event.
FieldKind = Literal["str", "int", "time"]
FIELDS: dict[str, FieldKind] = {
    "title": "str",
    "description": "str",
    "requester_person_id": "int",
    "requester_email": "str",
    "unit_id": "int",
    "category": "str",
    "priority": "int",
    "status": "str",
    "assignee": "str",
    "due_at": "time",
    "digifinland_ticket": "str",
    "tags": "str",
    "notice_id": "int",
    "merged_into_id": "int",
    "first_response_at": "time",
    "resolved_at": "time",
    "closed_at": "time",
}
DONE_STATUSES = ("ratkaistu", "suljettu")
REFERENCE_PREFIX = "OMA"
CREATE_ATTEMPTS = 50  # tries at a free number when other instances create requests at the same time

_COLUMNS = (
    "id, reference, year, seq, title, description, requester_person_id, requester_email, unit_id, "
    "category, priority, status, assignee, due_at, digifinland_ticket, tags, notice_id, "
    "merged_into_id, created_at, updated_at, first_response_at, resolved_at, closed_at, version"
)


def reference_for(year: int, seq: int) -> str:
    return f"{REFERENCE_PREFIX}-{year}-{seq:04d}"


# --- plain objects -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestRow:
    """A request as the store holds it (times aware, UTC)."""

    id: int
    reference: str
    year: int
    seq: int
    title: str
    description: str
    requester_person_id: int | None
    requester_email: str
    unit_id: int | None
    category: str
    priority: int | None
    status: str
    assignee: str
    due_at: datetime | None
    digifinland_ticket: str
    tags: str
    notice_id: int | None
    merged_into_id: int | None
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    version: int

    def value(self, name: str) -> Any:
        return getattr(self, name)


def _event_row(r: Sequence[Any]) -> EventRow:
    return EventRow(
        id=int(r[0]),
        request_id=int(r[1]),
        at=parse_sql_time(r[2]) or datetime.min,
        actor=str(r[3]),
        kind=str(r[4]),
        field=str(r[5]),
        old=str(r[6]),
        new=str(r[7]),
        text=str(r[8]),
        action_id=None if r[9] is None else int(r[9]),
    )


def _row(values: Sequence[Any]) -> RequestRow:
    converted = list(values)
    for index in (13, 18, 19, 20, 21, 22):
        converted[index] = parse_sql_time(converted[index])
    return RequestRow(*converted)


@dataclass(frozen=True)
class EventRow:
    id: int
    request_id: int
    at: datetime
    actor: str
    kind: str
    field: str
    old: str
    new: str
    text: str
    action_id: int | None


@dataclass(frozen=True)
class ActionRow:
    id: int
    at: datetime
    actor: str
    kind: str
    summary: str
    undone_at: datetime | None
    undo_of_id: int | None


@dataclass(frozen=True)
class FieldConflict:
    field: str
    mine: Any  # the value this change wanted to write
    theirs: Any  # the value in the store now


class Conflict(StoreError):
    """Someone changed the request since it was read: nothing was written; both values are here."""

    def __init__(
        self,
        current: RequestRow,
        expected_version: int,
        attempted: Mapping[str, Any],
        *,
        changed_by: str = "",
    ) -> None:
        self.current = current
        self.expected_version = expected_version
        self.attempted = dict(attempted)
        self.changed_by = changed_by
        self.fields = [FieldConflict(name, value, current.value(name)) for name, value in attempted.items()]
        who = f" by {changed_by}" if changed_by else ""
        super().__init__(
            f"{current.reference} was changed{who} after you opened it; your change was not saved.",
            "Compare the values and choose which to keep.",
        )


class BulkConflict(StoreError):
    """Some requests of a bulk change were changed meanwhile: nothing of the bulk change was written."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        references = ", ".join(conflict.current.reference for conflict in conflicts)
        super().__init__(
            f"{references} changed after you selected them; nothing was changed.",
            "Refresh the list and apply the change again.",
        )


class NotFound(StoreError):
    def __init__(self, request_id: int) -> None:
        self.request_id = request_id
        super().__init__(f"The request {request_id} is no longer in the store.", "Refresh the list.")


class CannotUndo(StoreError):
    """The last action cannot be undone (changed since, or nothing to undo)."""


# --- values as event text ------------------------------------------------------------------------


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def from_text(name: str, text: str) -> Any:
    kind = FIELDS[name]
    if kind == "str":
        return text
    if text == "":
        return None
    if kind == "int":
        return int(text)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _same(name: str, a: Any, b: Any) -> bool:
    return to_text(a) == to_text(b) if FIELDS[name] == "time" else a == b


# --- reading one request -------------------------------------------------------------------------


def _fetch(connection: Connection, request_id: int) -> RequestRow | None:
    from sqlalchemy import text

    row = connection.execute(
        text(f"SELECT {_COLUMNS} FROM service_request WHERE id = :id"), {"id": request_id}
    ).first()
    return _row(tuple(row)) if row is not None else None


def _fetch_or_fail(connection: Connection, request_id: int) -> RequestRow:
    row = _fetch(connection, request_id)
    if row is None:
        raise NotFound(request_id)
    return row


def get_request(store: Store, request_id: int) -> RequestRow | None:
    with reader(store) as read:
        rows = read.rows(f"SELECT {_COLUMNS} FROM service_request WHERE id = :id", {"id": request_id})
    return _row(rows[0]) if rows else None


def find_by_reference(store: Store, reference: str) -> RequestRow | None:
    with reader(store) as read:
        rows = read.rows(
            f"SELECT {_COLUMNS} FROM service_request WHERE reference = :reference",
            {"reference": reference.strip().upper()},
        )
    return _row(rows[0]) if rows else None


def history(store: Store, request_id: int) -> list[EventRow]:
    """The request's events, oldest first."""
    with reader(store) as read:
        rows = read.rows(
            "SELECT id, request_id, at, actor, kind, field, old, new, text, action_id FROM request_event "
            "WHERE request_id = :id ORDER BY at, id",
            {"id": request_id},
        )
    return [_event_row(r) for r in rows]


def linked_mail(store: Store, request_id: int) -> list[tuple[int, str]]:
    """(mail message id, reason) of the request's linked mail, oldest link first."""
    with reader(store) as read:
        rows = read.rows(
            "SELECT mail_message_id, reason FROM request_mail WHERE request_id = :id "
            "ORDER BY linked_at, mail_message_id",
            {"id": request_id},
        )
    return [(int(r[0]), str(r[1])) for r in rows]


def paused_since(store: Store, request_id: int) -> datetime | None:
    """When the request last went to waiting on its requester (None if it never did)."""
    with reader(store) as read:
        rows = read.rows(
            "SELECT max(at) FROM request_event WHERE request_id = :id AND kind = 'change' "
            "AND field = 'status' AND new = 'odottaa pyytäjää'",
            {"id": request_id},
        )
    return parse_sql_time(rows[0][0]) if rows else None


@dataclass(frozen=True)
class LinkedMessage:
    """A message linked to a request, with why it was linked (``request_mail.reason``)."""

    mail_message_id: int
    reason: str  # created, manual, header, subject_tag, sent
    linked_at: datetime
    message_id: str
    in_reply_to: str
    references: str
    subject: str
    from_name: str
    from_addr: str
    date: datetime
    folder_role: str  # "sent" for our own replies
    answered: bool


def linked_messages(store: Store, request_id: int) -> list[LinkedMessage]:
    """The request's linked messages with their headers, oldest message first."""
    with reader(store) as read:
        rows = read.rows(
            'SELECT l.mail_message_id, l.reason, l.linked_at, m.message_id, m.in_reply_to, m."references", '
            "m.subject, m.from_name, m.from_addr, m.date, coalesce(f.role, ''), m.answered "
            "FROM request_mail l JOIN mail_message m ON m.id = l.mail_message_id "
            "LEFT JOIN mail_folder f ON f.id = m.folder_id "
            "WHERE l.request_id = :id ORDER BY m.date, m.id",
            {"id": request_id},
        )
    return [
        LinkedMessage(
            int(r[0]),
            str(r[1]),
            parse_sql_time(r[2]) or datetime.min,
            str(r[3] or ""),
            str(r[4] or ""),
            str(r[5] or ""),
            str(r[6] or ""),
            str(r[7] or ""),
            str(r[8] or ""),
            parse_sql_time(r[9]) or datetime.min,
            str(r[10] or ""),
            bool(r[11]),
        )
        for r in rows
    ]


def last_reply_at(store: Store, request_id: int) -> datetime | None:
    """When a reply last went out from the request (its newest ``mail_out`` event), or None."""
    with reader(store) as read:
        rows = read.rows(
            "SELECT max(at) FROM request_event WHERE request_id = :id AND kind = 'mail_out'",
            {"id": request_id},
        )
    return parse_sql_time(rows[0][0]) if rows else None


@dataclass(frozen=True)
class RequesterContact:
    """Who a reply from the request goes to: the directory person's name, address and language."""

    name: str
    email: str
    language: str  # fi or sv; "" when the requester is a free address


def requester_contact(store: Store, request_id: int) -> RequesterContact | None:
    """The requester's name and address (the directory person, else the free address); None if gone."""
    with reader(store) as read:
        rows = read.rows(
            "SELECT coalesce(p.name, ''), coalesce(nullif(r.requester_email, ''), p.email, ''), "
            "coalesce(p.language, '') FROM service_request r "
            "LEFT JOIN person p ON p.id = r.requester_person_id WHERE r.id = :id",
            {"id": request_id},
        )
    if not rows:
        return None
    return RequesterContact(str(rows[0][0]), str(rows[0][1]), str(rows[0][2]))


def notice_subject(store: Store, notice_id: int) -> tuple[str, bool] | None:
    """(subject, still open) of a notice, for a request linked to it; None if it is gone."""
    with reader(store) as read:
        rows = read.rows("SELECT subject, is_open FROM notice WHERE id = :id", {"id": notice_id})
    return (str(rows[0][0] or ""), bool(rows[0][1])) if rows else None


def record_reply(
    store: Store,
    request_id: int,
    *,
    message_id: str,
    recipients: str,
    subject: str,
    actor: str,
    now: datetime,
) -> RequestRow:
    """A reply went out from the request: a ``mail_out`` event (``new``: its Message-ID, ``old``: the
    recipients, ``text``: the subject), and the first response time when this was the first.

    Sent mail cannot be called back, so this is not an undo step (``last_undoable`` skips it); it
    still stands on the request, so a created request with a reply is not removed by undo.
    No version check: it changes nothing a person chose, and first_response_at is set only when
    empty. The version goes up when it is set, so a screen holding the old row sees the change.
    """
    from sqlalchemy import update

    requests, _events, _actions, _mail = _tables()
    with store.session() as session:
        connection = session.connection()
        row = _fetch_or_fail(connection, request_id)
        action_id = _new_action(connection, actor, now, "mail_out", row.reference)
        _event(
            connection,
            request_id,
            action_id,
            actor,
            now,
            "mail_out",
            old=recipients,
            new=message_id,
            text=subject,
        )
        if row.first_response_at is None:
            _before, after = _apply(
                connection,
                request_id,
                None,
                {"first_response_at": now},
                action_id=action_id,
                actor=actor,
                now=now,
            )
            return after
        connection.execute(update(requests).where(requests.c.id == request_id).values(updated_at=now))
        return _fetch_or_fail(connection, request_id)


def link_sent_copies(store: Store, folder_id: int, mails: Sequence[IncomingMail], *, now: datetime) -> int:
    """Link the Sent folder's copies of replies sent from requests; how many were linked.

    A copy is a message of the Sent folder whose Message-ID is a ``mail_out`` event's of the
    request its subject names (reason ``sent``). Its requester's answer then finds the request by
    In-Reply-To like any other reply. No event: the ``mail_out`` event is already there.
    """
    from sqlalchemy import insert

    wanted = [mail for mail in mails if mail.message_id and mail.references]
    if not wanted:
        return 0
    _requests, _events, _actions, mail_table = _tables()
    with store.session() as session:
        connection = session.connection()
        row_ids = {
            int(uid): int(row_id)
            for uid, row_id in _in_rows(
                connection,
                "SELECT uid, id FROM mail_message WHERE folder_id = :folder AND uid IN :values",
                [mail.uid for mail in wanted],
                folder=folder_id,
            )
        }
        by_reference = {
            str(reference): int(request_id)
            for reference, request_id in _in_rows(
                connection,
                "SELECT reference, id FROM service_request WHERE reference IN :values",
                [found.upper() for mail in wanted for found in mail.references],
            )
        }
        if not by_reference:
            return 0
        sent = {
            (int(request_id), str(message_id))
            for request_id, message_id in _in_rows(
                connection,
                "SELECT request_id, new FROM request_event WHERE kind = 'mail_out' AND request_id IN :values",
                sorted(set(by_reference.values())),
            )
        }
        linked = {
            (int(request_id), int(mail_id))
            for request_id, mail_id in _in_rows(
                connection,
                "SELECT request_id, mail_message_id FROM request_mail WHERE request_id IN :values",
                sorted(set(by_reference.values())),
            )
        }
        rows: list[dict[str, Any]] = []
        for mail in wanted:
            mail_id = row_ids.get(mail.uid)
            if mail_id is None:
                continue
            for reference in mail.references:
                request_id = by_reference.get(reference.upper())
                if request_id is None or (request_id, mail.message_id) not in sent:
                    continue
                if (request_id, mail_id) not in linked:
                    linked.add((request_id, mail_id))
                    rows.append(
                        {
                            "request_id": request_id,
                            "mail_message_id": mail_id,
                            "reason": "sent",
                            "linked_at": now,
                        }
                    )
                break
        if rows:
            connection.execute(insert(mail_table), rows)
        return len(rows)


# --- writing -------------------------------------------------------------------------------------


def _tables() -> tuple[Any, Any, Any, Any]:
    from store.bulk import table_of
    from store.models import RequestAction, RequestEvent, RequestMail, ServiceRequest

    return (
        table_of(ServiceRequest),
        table_of(RequestEvent),
        table_of(RequestAction),
        table_of(RequestMail),
    )


def _new_action(connection: Connection, actor: str, now: datetime, kind: str, summary: str) -> int:
    from sqlalchemy import insert

    _requests, _events, actions, _mail = _tables()
    result = connection.execute(
        insert(actions).values(at=now, actor=actor, kind=kind, summary=summary, undone_at=None)
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _event(
    connection: Connection,
    request_id: int,
    action_id: int | None,
    actor: str,
    now: datetime,
    kind: str,
    name: str = "",
    old: str = "",
    new: str = "",
    text: str = "",
) -> int:
    from sqlalchemy import insert

    _requests, events, _actions, _mail = _tables()
    result = connection.execute(
        insert(events).values(
            request_id=request_id,
            action_id=action_id,
            at=now,
            actor=actor,
            kind=kind,
            field=name,
            old=old,
            new=new,
            text=text,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _check_fields(changes: Mapping[str, Any]) -> None:
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValueError(f"not a field a person can change: {', '.join(sorted(unknown))}")


def _apply(
    connection: Connection,
    request_id: int,
    expected_version: int | None,
    changes: Mapping[str, Any],
    *,
    action_id: int,
    actor: str,
    now: datetime,
) -> tuple[RequestRow, RequestRow]:
    """Write ``changes`` to one request if its version is still ``expected_version``; (before, after).

    ``expected_version=None`` skips the check (used by undo, which compares values instead).
    """
    from sqlalchemy import update

    requests, _events, _actions, _mail = _tables()
    before = _fetch_or_fail(connection, request_id)
    if expected_version is not None and before.version != expected_version:
        raise Conflict(before, expected_version, changes, changed_by=_last_actor(connection, request_id))
    changed = {name: value for name, value in changes.items() if not _same(name, value, before.value(name))}
    if not changed:
        return before, before
    condition = requests.c.id == request_id
    if expected_version is not None:
        condition = condition & (requests.c.version == expected_version)
    else:
        condition = condition & (requests.c.version == before.version)
    result = connection.execute(
        update(requests).where(condition).values(**changed, updated_at=now, version=requests.c.version + 1)
    )
    if result.rowcount != 1:  # another instance wrote between our read and our update
        current = _fetch_or_fail(connection, request_id)
        raise Conflict(current, expected_version or before.version, changes)
    for name, value in changed.items():
        _event(
            connection,
            request_id,
            action_id,
            actor,
            now,
            "change",
            name,
            to_text(before.value(name)),
            to_text(value),
        )
    return before, _fetch_or_fail(connection, request_id)


def _last_actor(connection: Connection, request_id: int) -> str:
    from sqlalchemy import text

    row = connection.execute(
        text("SELECT actor FROM request_event WHERE request_id = :id ORDER BY at DESC, id DESC LIMIT 1"),
        {"id": request_id},
    ).first()
    return str(row[0]) if row is not None else ""


def create_request(
    store: Store,
    *,
    year: int,
    title: str,
    actor: str,
    now: datetime,
    values: Mapping[str, Any] | None = None,
    mail: Sequence[tuple[int, str]] = (),
    note: str = "",
) -> RequestRow:
    """A new request with the next reference of ``year`` (OMA-YYYY-NNNN); one undoable action.

    ``values`` sets other fields (category, priority, requester, due_at, ...); ``mail`` links
    messages as (mail message id, reason).
    """
    from sqlalchemy import insert, text
    from sqlalchemy.exc import IntegrityError

    values = dict(values or {})
    _check_fields(values)
    requests, _events, _actions, mail_table = _tables()
    # Two instances may read the same max(seq); the loser's insert breaks UNIQUE and takes the next
    # number. A short random pause keeps two busy writers from colliding on every try.
    for attempt in range(CREATE_ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0.001, 0.02))  # noqa: S311 (jitter, not a secret)
        try:
            with store.session() as session:
                connection = session.connection()
                seq = 1 + int(
                    connection.execute(
                        text("SELECT coalesce(max(seq), 0) FROM service_request WHERE year = :year"),
                        {"year": year},
                    ).scalar_one()
                )
                reference = reference_for(year, seq)
                row: dict[str, Any] = {
                    "reference": reference,
                    "year": year,
                    "seq": seq,
                    "title": title,
                    "description": "",
                    "requester_person_id": None,
                    "requester_email": "",
                    "unit_id": None,
                    "category": "",
                    "priority": None,
                    "status": "uusi",
                    "assignee": "",
                    "due_at": None,
                    "digifinland_ticket": "",
                    "tags": "[]",
                    "notice_id": None,
                    "merged_into_id": None,
                    "created_at": now,
                    "updated_at": now,
                    "first_response_at": None,
                    "resolved_at": None,
                    "closed_at": None,
                    "version": 1,
                    **values,
                }
                result = connection.execute(insert(requests).values(**row))
                key = result.inserted_primary_key
                assert key is not None
                request_id = int(key[0])
                action_id = _new_action(connection, actor, now, "create", reference)
                _event(connection, request_id, action_id, actor, now, "created", text=note or title)
                for mail_id, reason in mail:
                    connection.execute(
                        insert(mail_table).values(
                            request_id=request_id, mail_message_id=mail_id, reason=reason, linked_at=now
                        )
                    )
                return _fetch_or_fail(connection, request_id)
        except IntegrityError as error:
            # Another instance took the same number between our read and our insert: take the next.
            if "seq" not in str(error.orig) and "reference" not in str(error.orig):
                raise StoreError(
                    f"The request could not be saved: {error.orig}.", "Check the linked mail and try again."
                ) from error
    raise StoreError(
        "Could not number the new request; another program kept taking the numbers.", "Try again."
    )


def change_request(
    store: Store,
    request_id: int,
    changes: Mapping[str, Any],
    *,
    expected_version: int,
    actor: str,
    now: datetime,
    summary: str = "",
    kind: str = "change",
    note: str = "",
) -> RequestRow:
    """Change fields of one request as one undoable action; raises :class:`Conflict` on a stale version."""
    _check_fields(changes)
    with store.session() as session:
        connection = session.connection()
        action_id = _new_action(connection, actor, now, kind, summary)
        _before, after = _apply(
            connection, request_id, expected_version, changes, action_id=action_id, actor=actor, now=now
        )
        if note:
            _event(connection, request_id, action_id, actor, now, "note", text=note)
        return after


@dataclass(frozen=True)
class BulkItem:
    request_id: int
    expected_version: int
    changes: Mapping[str, Any]


def bulk_change(
    store: Store, items: Sequence[BulkItem], *, actor: str, now: datetime, summary: str = ""
) -> list[RequestRow]:
    """Change many requests in one transaction and one undo step; any conflict writes nothing."""
    for item in items:
        _check_fields(item.changes)
    conflicts: list[Conflict] = []
    results: list[RequestRow] = []
    with store.session() as session:
        connection = session.connection()
        action_id = _new_action(connection, actor, now, "bulk", summary)
        for item in items:
            try:
                _before, after = _apply(
                    connection,
                    item.request_id,
                    item.expected_version,
                    item.changes,
                    action_id=action_id,
                    actor=actor,
                    now=now,
                )
                results.append(after)
            except Conflict as conflict:
                conflicts.append(conflict)
        if conflicts:
            raise BulkConflict(conflicts)  # the session rolls back everything
    return results


def add_note(store: Store, request_id: int, note: str, *, actor: str, now: datetime) -> int:
    """An internal note on the request (one undoable action); the note event's id.

    A note changes no field, so it needs no version and never conflicts.
    """
    from sqlalchemy import update

    requests, _events, _actions, _mail = _tables()
    with store.session() as session:
        connection = session.connection()
        reference = _fetch_or_fail(connection, request_id).reference
        action_id = _new_action(connection, actor, now, "note", reference)
        event_id = _event(connection, request_id, action_id, actor, now, "note", text=note)
        connection.execute(update(requests).where(requests.c.id == request_id).values(updated_at=now))
        return event_id


def link_mail(
    store: Store, request_id: int, mail_message_id: int, *, reason: str, actor: str, now: datetime
) -> bool:
    """Link a message to a request (False if it was linked already); not an undo step."""
    from sqlalchemy import insert, text

    _requests, _events, _actions, mail_table = _tables()
    with store.session() as session:
        connection = session.connection()
        exists = connection.execute(
            text("SELECT 1 FROM request_mail WHERE request_id = :r AND mail_message_id = :m"),
            {"r": request_id, "m": mail_message_id},
        ).first()
        if exists is not None:
            return False
        connection.execute(
            insert(mail_table).values(
                request_id=request_id, mail_message_id=mail_message_id, reason=reason, linked_at=now
            )
        )
        _event(connection, request_id, None, actor, now, "mail_link", new=str(mail_message_id), text=reason)
        return True


def merge_requests(
    store: Store,
    source_id: int,
    target_id: int,
    *,
    source_version: int,
    target_version: int,
    actor: str,
    now: datetime,
) -> tuple[RequestRow, RequestRow]:
    """Merge ``source`` into ``target`` in one transaction and one undo step: (source, target) after.

    The source's linked mail and its history move to the target; the source closes, pointing to
    the target (``merged_into_id``), and keeps the events of its closing.
    """
    from sqlalchemy import text, update

    if source_id == target_id:
        raise StoreError("A request cannot be merged into itself.", "Choose another request.")
    requests, _events, actions, _mail = _tables()
    with store.session() as session:
        connection = session.connection()
        # Writing first takes the write lock, so both versions checked below stay as read.
        action_id = _new_action(connection, actor, now, "merge", "")
        source = _fetch_or_fail(connection, source_id)
        target = _fetch_or_fail(connection, target_id)
        if source.version != source_version:
            raise Conflict(source, source_version, {"merged_into_id": target_id})
        if target.version != target_version:
            raise Conflict(target, target_version, {})
        if target.merged_into_id is not None:
            raise StoreError(
                f"{target.reference} was itself merged into another request.",
                "Merge into the request it was merged into.",
            )
        connection.execute(
            update(actions)
            .where(actions.c.id == action_id)
            .values(summary=f"{source.reference} → {target.reference}")
        )
        event_ids = [
            int(r[0])
            for r in connection.execute(
                text("SELECT id FROM request_event WHERE request_id = :id"), {"id": source_id}
            )
        ]
        links = [
            (int(r[0]), str(r[1]), str(r[2]), int(r[3]))
            for r in connection.execute(
                text(
                    "SELECT s.mail_message_id, s.reason, s.linked_at, "
                    "(SELECT count(*) FROM request_mail t WHERE t.request_id = :target "
                    "AND t.mail_message_id = s.mail_message_id) "
                    "FROM request_mail s WHERE s.request_id = :source"
                ),
                {"source": source_id, "target": target_id},
            )
        ]
        connection.execute(
            text("UPDATE request_event SET request_id = :target WHERE request_id = :source"),
            {"source": source_id, "target": target_id},
        )
        # A message linked to both stays on the target once; the source's link is remembered for undo.
        connection.execute(
            text(
                "DELETE FROM request_mail WHERE request_id = :source AND mail_message_id IN "
                "(SELECT mail_message_id FROM request_mail WHERE request_id = :target)"
            ),
            {"source": source_id, "target": target_id},
        )
        connection.execute(
            text("UPDATE request_mail SET request_id = :target WHERE request_id = :source"),
            {"source": source_id, "target": target_id},
        )
        record = {
            "source": source_id,
            "events": event_ids,
            "mail": [[mail_id, reason, linked_at, both] for mail_id, reason, linked_at, both in links],
        }
        _event(
            connection,
            target_id,
            action_id,
            actor,
            now,
            "merge_in",
            old=source.reference,
            new=json.dumps(record),
            text=source.title,
        )
        connection.execute(
            update(requests)
            .where(requests.c.id == target_id)
            .values(updated_at=now, version=requests.c.version + 1)
        )
        closing: dict[str, Any] = {"status": "suljettu", "merged_into_id": target_id, "closed_at": now}
        if source.resolved_at is None:
            closing["resolved_at"] = now
        _before, source_after = _apply(
            connection, source_id, source_version, closing, action_id=action_id, actor=actor, now=now
        )
        return source_after, _fetch_or_fail(connection, target_id)


# --- undo ----------------------------------------------------------------------------------------


def last_undoable(store: Store, actor: str) -> ActionRow | None:
    """The newest action of ``actor`` that is not undone (undo steps themselves are not undone)."""
    with reader(store) as read:
        rows = read.rows(
            "SELECT id, at, actor, kind, summary, undone_at, undo_of_id FROM request_action "
            "WHERE actor = :actor AND kind NOT IN ('undo', 'mail_out') AND undone_at IS NULL "
            "ORDER BY id DESC LIMIT 1",
            {"actor": actor},
        )
    if not rows:
        return None
    r = rows[0]
    return ActionRow(r[0], parse_sql_time(r[1]) or datetime.min, r[2], r[3], r[4], parse_sql_time(r[5]), r[6])


@dataclass(frozen=True)
class UndoResult:
    action: ActionRow
    request_ids: list[int] = field(default_factory=list)  # requests changed back (or removed)


def undo_last(store: Store, *, actor: str, now: datetime) -> UndoResult | None:
    """Reverse ``actor``'s last action from its events, as one new action; None if nothing to undo.

    Each field goes back only if it still holds what the action wrote; otherwise
    :class:`CannotUndo` says which request changed since, and nothing is written.
    """
    action = last_undoable(store, actor)
    if action is None:
        return None
    from sqlalchemy import text, update

    requests, _events, actions, _mail = _tables()
    with store.session() as session:
        connection = session.connection()
        # The first statement writes, so the transaction holds the write lock before it reads.
        undo_id = _new_action(connection, actor, now, "undo", action.summary)
        connection.execute(update(actions).where(actions.c.id == undo_id).values(undo_of_id=action.id))
        still_undoable = connection.execute(
            text("SELECT undone_at IS NULL FROM request_action WHERE id = :id"), {"id": action.id}
        ).scalar_one()
        if not still_undoable:  # the same person's other window undid it a moment ago
            raise CannotUndo("That action was undone already.", "")
        events = [
            _event_row(tuple(r))
            for r in connection.execute(
                text(
                    "SELECT id, request_id, at, actor, kind, field, old, new, text, action_id "
                    "FROM request_event WHERE action_id = :action ORDER BY id DESC"
                ),
                {"action": action.id},
            )
        ]
        touched: list[int] = []
        if action.kind == "create":
            created = [event for event in events if event.kind == "created"]
            for event in created:
                row = _fetch(connection, event.request_id)
                if row is None:
                    continue
                # Removable only while nothing else stands on it: every later action on it undone,
                # and no mail or sync event (those have no action).
                later = connection.execute(
                    text(
                        "SELECT count(*) FROM request_event e "
                        "LEFT JOIN request_action a ON a.id = e.action_id "
                        "WHERE e.request_id = :id AND (e.action_id IS NULL OR (e.action_id != :action "
                        "AND a.kind != 'undo' AND a.undone_at IS NULL))"
                    ),
                    {"id": event.request_id, "action": action.id},
                ).scalar_one()
                if int(later):
                    raise CannotUndo(
                        f"{row.reference} has changed since it was created, so it is not removed.",
                        "Close it instead.",
                    )
                connection.execute(
                    text("DELETE FROM service_request WHERE id = :id"), {"id": event.request_id}
                )
                touched.append(event.request_id)
        else:
            # field → (value before the action, value the action left), per request.
            changes: dict[int, dict[str, tuple[str, str]]] = {}
            for event in events:  # newest first
                if event.request_id not in touched:
                    touched.append(event.request_id)
                if event.kind == "change":
                    fields = changes.setdefault(event.request_id, {})
                    left = fields[event.field][1] if event.field in fields else event.new
                    fields[event.field] = (event.old, left)
                elif event.kind == "note":
                    connection.execute(text("DELETE FROM request_event WHERE id = :id"), {"id": event.id})
                    _event(connection, event.request_id, undo_id, actor, now, "note_removed", text=event.text)
                elif event.kind == "merge_in":
                    _undo_merge(connection, event, undo_id, actor, now)
                    connection.execute(
                        update(requests)
                        .where(requests.c.id == event.request_id)
                        .values(updated_at=now, version=requests.c.version + 1)
                    )
            for request_id, fields in changes.items():
                _undo_changes(connection, request_id, fields, undo_id, actor, now)
        connection.execute(update(actions).where(actions.c.id == action.id).values(undone_at=now))
    return UndoResult(action, touched)


def _undo_changes(
    connection: Connection,
    request_id: int,
    fields: Mapping[str, tuple[str, str]],
    undo_id: int,
    actor: str,
    now: datetime,
) -> None:
    row = _fetch_or_fail(connection, request_id)
    for name, (_old, left) in fields.items():
        current = to_text(row.value(name))
        if current != left:
            raise CannotUndo(
                f"{row.reference}: {name} was changed again since (now {current!r}); nothing was undone.",
                "Change it by hand if needed.",
            )
    restore = {name: from_text(name, old) for name, (old, _left) in fields.items()}
    _apply(connection, request_id, None, restore, action_id=undo_id, actor=actor, now=now)


def _undo_merge(connection: Connection, event: EventRow, undo_id: int, actor: str, now: datetime) -> None:
    from sqlalchemy import insert, text

    _requests, _events, _actions, mail_table = _tables()
    record = json.loads(event.new)
    source_id, target_id = int(record["source"]), event.request_id
    moved = [int(i) for i in record["events"]]
    for start in range(0, len(moved), 500):
        chunk = moved[start : start + 500]
        names = {f"e{i}": value for i, value in enumerate(chunk)}
        placeholders = ", ".join(f":{name}" for name in names)
        connection.execute(
            text(
                f"UPDATE request_event SET request_id = :source WHERE request_id = :target "
                f"AND id IN ({placeholders})"
            ),
            {"source": source_id, "target": target_id, **names},
        )
    for mail_id, reason, linked_at, both in record["mail"]:
        if both:
            connection.execute(
                insert(mail_table).values(
                    request_id=source_id,
                    mail_message_id=mail_id,
                    reason=reason,
                    linked_at=parse_sql_time(linked_at) or now,
                )
            )
        else:
            connection.execute(
                text(
                    "UPDATE request_mail SET request_id = :source "
                    "WHERE request_id = :target AND mail_message_id = :mail"
                ),
                {"source": source_id, "target": target_id, "mail": mail_id},
            )
    _event(connection, target_id, undo_id, actor, now, "merge_undone", old=event.old, text=event.text)


# --- the saved views -----------------------------------------------------------------------------

ViewName = Literal["untriaged", "mine", "overdue", "waiting_vendor", "open", "closed_recently", "all"]
# The saved views of the side list, in its order; "all" (every request) is for search and export.
VIEWS: tuple[ViewName, ...] = ("untriaged", "mine", "overdue", "waiting_vendor", "open", "closed_recently")
SortName = Literal["due", "priority", "updated"]
RECENTLY = timedelta(days=14)


def _status_list(values: Sequence[str], prefix: str) -> tuple[str, dict[str, Any]]:
    names = {f"{prefix}{i}": value for i, value in enumerate(values)}
    return ", ".join(f":{name}" for name in names), names


def _view_condition(
    view: ViewName, *, me: str, now: datetime, recently: timedelta = RECENTLY
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause of a saved view over ``service_request r`` and its parameters."""
    open_list, open_params = _status_list(OPEN_STATUSES, "vo")
    run_list, run_params = _status_list(CLOCK_RUNNING_STATUSES, "vr")
    if view == "untriaged":
        return "r.status = 'uusi' AND r.merged_into_id IS NULL", {}
    if view == "mine":
        return f"r.assignee = :me AND r.status IN ({open_list})", {"me": me, **open_params}
    if view == "overdue":
        return f"r.status IN ({run_list}) AND r.due_at < :now", {"now": sql_time(now), **run_params}
    if view == "waiting_vendor":
        return "r.status = 'odottaa DigiFinlandia'", {}
    if view == "open":
        return f"r.status IN ({open_list})", open_params
    if view == "closed_recently":
        return (
            # A request's updated_at is never before its closing, and it has an index: it narrows
            # the scan to the recent rows. "|| ''" keeps the planner off the status index, which
            # would visit every closed request there ever was.
            "r.updated_at >= :recent AND (r.status || '') IN ('ratkaistu', 'suljettu') "
            "AND coalesce(r.closed_at, r.resolved_at) >= :recent",
            {"recent": sql_time(now - recently)},
        )
    if view == "all":
        return "1 = 1", {}
    raise ValueError(f"unknown view {view!r}")


def view_counts(
    store: Store, *, me: str, now: datetime, recently: timedelta = RECENTLY
) -> dict[ViewName, int]:
    """How many requests each saved view holds, in one query."""
    parts, params = [], {}
    for view in VIEWS:
        condition, values = _view_condition(view, me=me, now=now, recently=recently)
        parts.append(f"(SELECT count(*) FROM service_request r WHERE {condition})")
        params.update(values)
    with reader(store) as read:
        row = read.rows("SELECT " + ", ".join(parts), params)[0]
    return {view: int(value or 0) for view, value in zip(VIEWS, row, strict=True)}


@dataclass(frozen=True)
class ListRow:
    """A request as a list row shows it."""

    id: int
    reference: str
    title: str
    status: str
    priority: int | None
    category: str
    assignee: str
    unit: str
    requester: str  # the person's name, else the e-mail address
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    digifinland_ticket: str
    version: int
    cursor: tuple[Any, ...]  # pass as ``after`` to read the rows that follow this one


@dataclass(frozen=True)
class Window:
    rows: list[ListRow]
    more: bool  # there are rows after the last one

    @property
    def after(self) -> tuple[Any, ...] | None:
        return self.rows[-1].cursor if self.rows else None


# Sort keys: (expressions, directions). The last key is always the id, so every key is unique.
_SORTS: dict[SortName, tuple[tuple[str, ...], str]] = {
    "due": (("coalesce(r.due_at, '9999-12-31')", "r.id"), "ASC"),
    "priority": (("coalesce(r.priority, 0)", "coalesce(r.due_at, '9999-12-31')", "r.id"), "ASC"),
    "updated": (("r.updated_at", "r.id"), "DESC"),
}


def view_window(
    store: Store,
    view: ViewName,
    *,
    me: str,
    now: datetime,
    sort: SortName = "due",
    after: tuple[Any, ...] | None = None,
    limit: int = 100,
    match: str = "",
    unit_id: int | None = None,
    recently: timedelta = RECENTLY,
) -> Window:
    """``limit`` rows of a saved view after the row whose cursor is ``after`` (keyset paging).

    ``match`` filters by the full-text index (what the user typed: every word, the last a prefix).
    Untriaged requests come first when sorting by priority, so triage sees them.
    """
    condition, params = _view_condition(view, me=me, now=now, recently=recently)
    keys, direction = _SORTS[sort]
    where = [condition]
    if unit_id is not None:
        where.append("r.unit_id = :unit_id")
        params["unit_id"] = unit_id
    if match:
        query = request_fts_query(match)
        if not query:
            return Window([], False)
        where.append(request_match_condition(drive=view == "all"))
        params["match"] = query
    if after is not None:
        if len(after) != len(keys):
            raise ValueError("the cursor is from another sort order")
        comparison = ">" if direction == "ASC" else "<"
        names = {f"k{i}": value for i, value in enumerate(after)}
        where.append(f"({', '.join(keys)}) {comparison} ({', '.join(':' + n for n in names)})")
        params.update(names)
    order = ", ".join(f"{key} {direction}" for key in keys)
    sql = (
        "SELECT r.id, r.reference, r.title, r.status, r.priority, r.category, r.assignee, "
        "coalesce(u.name, ''), coalesce(p.name, r.requester_email), r.due_at, r.created_at, "
        f"r.updated_at, r.digifinland_ticket, r.version, {', '.join(keys)} "
        "FROM service_request r LEFT JOIN unit u ON u.id = r.unit_id "
        "LEFT JOIN person p ON p.id = r.requester_person_id "
        f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT :limit"
    )
    params["limit"] = limit + 1
    with reader(store) as read:
        rows = read.rows(sql, params)
    out = [
        ListRow(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            parse_sql_time(r[9]),
            parse_sql_time(r[10]) or datetime.min,
            parse_sql_time(r[11]) or datetime.min,
            r[12],
            r[13],
            tuple(r[14:]),
        )
        for r in rows[:limit]
    ]
    return Window(out, len(rows) > limit)


# --- figures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """The cooperation meeting's figures for a period (and a unit)."""

    total: int
    per_month: list[tuple[str, int]]  # (label, count), in the order the months were given
    per_category: list[tuple[str, int]]  # most first; "" = not triaged
    per_unit: list[tuple[str, int]]  # most first; "" = no unit
    median_first_response: timedelta | None
    median_resolution: timedelta | None
    overdue: int  # requests that went (or are) past their due time
    with_due: int  # requests that had a due time
    open: int

    @property
    def overdue_share(self) -> float | None:
        return self.overdue / self.with_due if self.with_due else None


# The partial indexes of revision 0007 that hold the requests in the order of a duration.
_DURATION_INDEXES = {
    "first_response_at": "ix_service_request_first_response_time",
    "resolved_at": "ix_service_request_resolution_time",
}


def _median(read: Reader, later: str, where: str, params: dict[str, Any], count: int) -> timedelta | None:
    """The median of ``later - created_at`` over the period's requests, picked in SQL.

    ``count`` (how many have ``later`` set) comes from the totals, so only the middle one or two
    rows are read, with LIMIT/OFFSET. The duration's own index (0007) gives the order: the scan
    walks half of it and stops, where sorting 50,000 durations took most of the figures' time.
    The ORDER BY is the index's expression, word for word, or SQLite would sort after all.
    """
    if count == 0:
        return None
    days = f"(julianday(r.{later}) - julianday(r.created_at))"
    rows = read.rows(
        f"SELECT {days} FROM service_request r INDEXED BY {_DURATION_INDEXES[later]} "
        f"WHERE {where} AND r.{later} IS NOT NULL ORDER BY {days} LIMIT :take OFFSET :skip",
        {**params, "take": 2 - count % 2, "skip": (count - 1) // 2},
    )
    seconds = sum(float(row[0]) for row in rows) / len(rows) * 86400.0
    return timedelta(seconds=round(seconds))


def request_figures(
    store: Store,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    months: Sequence[tuple[str, datetime, datetime]] = (),
    unit_id: int | None = None,
) -> Figures:
    """Figures over requests created in [since, until), merged duplicates left out.

    ``months`` are (label, start, end) in UTC, as the caller's time zone draws them. One pass
    over the covering index takes the totals and the overdue and open sums, one range of it per
    month counts the months, the groups index counts per (category, unit) in its order, and the
    two duration indexes give the medians (revision 0007): nothing is sorted.
    """
    run_list, run_params = _status_list(CLOCK_RUNNING_STATUSES, "fr")
    open_list, open_params = _status_list(OPEN_STATUSES, "fo")
    kept = "r.merged_into_id IS NULL"  # the requests counted, whatever their time
    unit_params: dict[str, Any] = {}
    if unit_id is not None:
        kept += " AND r.unit_id = :unit_id"
        unit_params["unit_id"] = unit_id
    where = f"r.created_at >= :since AND r.created_at < :until AND {kept}"
    params: dict[str, Any] = {"since": sql_time(since), "until": sql_time(until), **unit_params}
    done = "coalesce(r.resolved_at, r.closed_at)"
    overdue = (
        f"r.due_at IS NOT NULL AND (({done} IS NOT NULL AND {done} > r.due_at)"
        f" OR ({done} IS NULL AND r.status IN ({run_list}) AND r.due_at < :now))"
    )
    # Each month is a range of the covering index (ix_service_request_figures): one count each,
    # in one statement, reads every entry once and sorts nothing. Named, or for one unit SQLite
    # takes the unit's index and reads the unit's rows from the table once per month.
    month_params: dict[str, Any] = {}
    month_counts = []
    for i, (_label, start, end) in enumerate(months):
        month_counts.append(
            f"(SELECT count(*) FROM service_request r INDEXED BY ix_service_request_figures WHERE {kept} "
            f"AND r.created_at >= :ms{i} AND r.created_at < :me{i})"
        )
        # The months as the period clips them: the period's own bounds stay out of these
        # counts, or SQLite would take them as the range to read and read the year each time.
        month_params.update({f"ms{i}": sql_time(max(start, since)), f"me{i}": sql_time(min(end, until))})
    totals_sql = (
        f"SELECT count(*), sum(CASE WHEN {overdue} THEN 1 ELSE 0 END), "
        "sum(CASE WHEN r.due_at IS NOT NULL THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN r.status IN ({open_list}) THEN 1 ELSE 0 END), "
        "count(r.first_response_at), count(r.resolved_at) "
        f"FROM service_request r WHERE {where}"
    )
    # The groups index (0007) gives the rows in (category, unit) order: GROUP BY counts as it
    # reads, where over the created_at range it had to sort a year of requests first.
    groups_sql = (
        "SELECT r.category, r.unit_id, count(*) "
        f"FROM service_request r INDEXED BY ix_service_request_figures_groups WHERE {where} "
        "GROUP BY r.category, r.unit_id"
    )
    with reader(store) as read:
        totals = [
            int(value or 0)
            for value in read.rows(totals_sql, {**params, **run_params, **open_params, "now": sql_time(now)})[
                0
            ]
        ]
        per_month = (
            [
                int(value or 0)
                for value in read.rows(f"SELECT {', '.join(month_counts)}", {**params, **month_params})[0]
            ]
            if months
            else []
        )
        groups = read.rows(groups_sql, params)
        unit_names = {int(r[0]): str(r[1]) for r in read.rows("SELECT id, name FROM unit")}
        per_category: dict[str, int] = {}
        per_unit: dict[str, int] = {}
        for category, unit, number in groups:
            count = int(number)
            per_category[str(category)] = per_category.get(str(category), 0) + count
            name = unit_names.get(int(unit), "") if unit is not None else ""
            per_unit[name] = per_unit.get(name, 0) + count
        total, overdue_count, with_due, open_count, responded, resolved = totals
        first = _median(read, "first_response_at", where, params, responded)
        resolution = _median(read, "resolved_at", where, params, resolved)

    def most_first(counts: dict[str, int]) -> list[tuple[str, int]]:
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    return Figures(
        total=total,
        per_month=[(label, per_month[i]) for i, (label, _start, _end) in enumerate(months)],
        per_category=most_first(per_category),
        per_unit=most_first(per_unit),
        median_first_response=first,
        median_resolution=resolution,
        overdue=overdue_count,
        with_due=with_due,
        open=open_count,
    )


def unit_list(store: Store) -> list[tuple[int, str]]:
    """(id, name) of every unit, by name: the choices of the Figures view's unit filter."""
    with reader(store) as read:
        rows = read.rows("SELECT id, name FROM unit ORDER BY name, id")
    return [(int(r[0]), str(r[1])) for r in rows]


# --- export --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRow:
    reference: str
    title: str
    status: str
    priority: int | None
    category: str
    requester: str  # the person's name and address, or the address alone
    requester_email: str
    unit: str
    assignee: str
    created: datetime
    due: datetime | None
    first_response: datetime | None
    resolved: datetime | None


def export_rows(
    store: Store, *, unit_id: int | None = None, since: datetime | None = None, batch: int = 2000
) -> Iterator[ExportRow]:
    """Every request (of a unit, created since a moment), oldest first, read in batches."""
    where: list[str] = ["1 = 1"]
    params: dict[str, Any] = {}
    if unit_id is not None:
        where.append("r.unit_id = :unit_id")
        params["unit_id"] = unit_id
    if since is not None:
        where.append("r.created_at >= :since")
        params["since"] = sql_time(since)
    last_id = 0
    while True:
        with reader(store) as read:
            rows = _export_batch(read, where, {**params, "last": last_id, "limit": batch})
        for r in rows:
            yield ExportRow(
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6] or "",
                r[7] or "",
                r[8],
                r[9],
                parse_sql_time(r[10]) or datetime.min,
                parse_sql_time(r[11]),
                parse_sql_time(r[12]),
                parse_sql_time(r[13]),
            )
        if len(rows) < batch:
            return
        last_id = int(rows[-1][0])


def _export_batch(read: Reader, where: list[str], params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return read.rows(
        "SELECT r.id, r.reference, r.title, r.status, r.priority, r.category, coalesce(p.name, ''), "
        "coalesce(nullif(r.requester_email, ''), p.email, ''), coalesce(u.name, ''), r.assignee, "
        "r.created_at, r.due_at, r.first_response_at, r.resolved_at "
        "FROM service_request r LEFT JOIN unit u ON u.id = r.unit_id "
        "LEFT JOIN person p ON p.id = r.requester_person_id "
        f"WHERE {' AND '.join(where)} AND r.id > :last ORDER BY r.id LIMIT :limit",
        params,
    )


def unit_id_by_name(store: Store, name: str) -> int | None:
    """A unit's id by its name (case-insensitive) or by its number; None if there is none."""
    wanted = name.strip()
    with reader(store) as read:
        if wanted.isdigit():
            rows = read.rows("SELECT id FROM unit WHERE id = :id", {"id": int(wanted)})
            return int(rows[0][0]) if rows else None
        units = read.rows("SELECT id, name FROM unit ORDER BY id")
    # SQLite's lower() folds ASCII only; the units are few, so Python compares them (Ä, Ö).
    for unit_id, unit_name in units:
        if str(unit_name).casefold() == wanted.casefold():
            return int(unit_id)
    return None


# --- for the Requests screen ---------------------------------------------------------------------


def view_count(
    store: Store,
    view: ViewName,
    *,
    me: str,
    now: datetime,
    match: str = "",
    unit_id: int | None = None,
    recently: timedelta = RECENTLY,
) -> int:
    """How many rows :func:`view_window` would page through for the same view, filter and unit."""
    condition, params = _view_condition(view, me=me, now=now, recently=recently)
    where = [condition]
    if unit_id is not None:
        where.append("r.unit_id = :unit_id")
        params["unit_id"] = unit_id
    if match:
        query = request_fts_query(match)
        if not query:
            return 0
        where.append(request_match_condition(drive=view == "all"))
        params["match"] = query
    with reader(store) as read:
        rows = read.rows(f"SELECT count(*) FROM service_request r WHERE {' AND '.join(where)}", params)
    return int(rows[0][0] or 0)


def known_assignees(store: Store, limit: int = 20) -> list[str]:
    """The names requests are assigned to, the most used first (for the assign picker)."""
    with reader(store) as read:
        rows = read.rows(
            "SELECT assignee FROM service_request WHERE assignee != '' "
            "GROUP BY assignee ORDER BY count(*) DESC, assignee LIMIT :limit",
            {"limit": limit},
        )
    return [str(r[0]) for r in rows]


def unit_and_requester(store: Store, request_id: int) -> tuple[str, str]:
    """(unit name, requester's name or address) of a request, for its detail pane."""
    with reader(store) as read:
        rows = read.rows(
            "SELECT coalesce(u.name, ''), coalesce(p.name, r.requester_email) FROM service_request r "
            "LEFT JOIN unit u ON u.id = r.unit_id LEFT JOIN person p ON p.id = r.requester_person_id "
            "WHERE r.id = :id",
            {"id": request_id},
        )
    return (str(rows[0][0]), str(rows[0][1] or "")) if rows else ("", "")


def requester_for_email(store: Store, email: str) -> tuple[int, int | None] | None:
    """(person id, unit id) of the active directory person with this e-mail address, or None.

    Addresses compare without case; when two people share one, the earliest entry wins.
    """
    wanted = email.strip()
    if not wanted:
        return None
    with reader(store) as read:
        rows = read.rows(
            "SELECT id, unit_id FROM person WHERE lower(email) = lower(:email) AND active "
            "ORDER BY id LIMIT 1",
            {"email": wanted},
        )
    if not rows:
        return None
    return int(rows[0][0]), None if rows[0][1] is None else int(rows[0][1])


# --- incoming mail linked by the sync ------------------------------------------------------------

WAITING_ON_REQUESTER = "odottaa pyytäjää"
REOPENED_STATUS = "käsittelyssä"
_IN_CHUNK = 400  # values per IN (...) list: far below SQLite's limit on bound parameters
_MERGE_DEPTH = 20  # merged-into links followed to the surviving request


@dataclass(frozen=True)
class IncomingMail:
    """What may tie a newly stored message (by its folder UID) to a request."""

    uid: int
    message_id: str
    sender: str  # the From address: the "who" of the mail_in event
    header_ids: tuple[str, ...]  # In-Reply-To and References, nearest first
    references: tuple[str, ...]  # request references found in the subject, normalised


@dataclass(frozen=True)
class IncomingLink:
    mail_message_id: int
    request_id: int
    reference: str
    reason: str  # "header" or "subject_tag"
    reopened: bool  # the request went from waiting on its requester back to käsittelyssä


def _in_rows(connection: Connection, sql: str, values: Sequence[Any], **params: Any) -> list[Any]:
    """``sql`` with ``:values`` standing for an IN list, run over ``values`` in chunks."""
    from sqlalchemy import bindparam, text

    found: list[Any] = []
    unique = list(dict.fromkeys(values))
    statement = text(sql).bindparams(bindparam("values", expanding=True))
    for start in range(0, len(unique), _IN_CHUNK):
        found.extend(connection.execute(statement, {**params, "values": unique[start : start + _IN_CHUNK]}))
    return found


def link_incoming_mail(
    store: Store, folder_id: int, mails: Sequence[IncomingMail], *, now: datetime
) -> list[IncomingLink]:
    """Link newly stored messages of a folder to the requests they belong to; what was linked.

    A message whose In-Reply-To/References name a message linked to a request joins that request
    (reason ``header``); else one whose subject names an existing request's reference joins it
    (``subject_tag``). A merged request's mail goes to the request it was merged into. Each link
    writes a ``mail_in`` event (actor: the sender, ``new``: the Message-ID, ``text``: the reason)
    and marks the request updated; a request waiting on its requester goes back to käsittelyssä
    as a change event (its version goes up). Never twice: a message already linked, or one whose
    Message-ID already came in on that request (a copy in another folder), gets no new event.

    A handful of queries per call whatever the number of messages (one transaction).
    """
    from sqlalchemy import insert, update

    wanted = [mail for mail in mails if mail.header_ids or mail.references]
    if not wanted:
        return []
    requests, events, _actions, mail_table = _tables()
    with store.session() as session:
        connection = session.connection()
        row_ids = {
            int(uid): int(row_id)
            for uid, row_id in _in_rows(
                connection,
                "SELECT uid, id FROM mail_message WHERE folder_id = :folder AND uid IN :values",
                [mail.uid for mail in wanted],
                folder=folder_id,
            )
        }
        wanted = [mail for mail in wanted if mail.uid in row_ids]
        if not wanted:
            return []
        # Message-ID → the request it is linked to (the newest request where there are several).
        # In two steps: request_mail has no index by message, and a join would scan it per id.
        header_rows: dict[int, str] = {
            int(row_id): str(message_id)
            for row_id, message_id in _in_rows(
                connection,
                "SELECT id, message_id FROM mail_message WHERE message_id IN :values",
                [found for mail in wanted for found in mail.header_ids],
            )
        }
        by_header: dict[str, int] = {}
        for request_id, row_id in sorted(
            (int(request_id), int(row_id))
            for request_id, row_id in _in_rows(
                connection,
                "SELECT request_id, mail_message_id FROM request_mail WHERE mail_message_id IN :values",
                sorted(header_rows),
            )
        ):
            by_header[header_rows[row_id]] = request_id
        _answers_to_our_replies(connection, wanted, by_header)
        by_reference: dict[str, int] = {
            str(reference): int(request_id)
            for reference, request_id in _in_rows(
                connection,
                "SELECT reference, id FROM service_request WHERE reference IN :values",
                [found.upper() for mail in wanted for found in mail.references],
            )
        }
        if not by_header and not by_reference:
            return []
        # Each request's row (for merges, the reference and the status), following merges.
        info: dict[int, tuple[str, int | None, str]] = {}
        missing = set(by_header.values()) | set(by_reference.values())
        for _ in range(_MERGE_DEPTH):
            if not missing:
                break
            for request_id, reference, merged_into_id, status in _in_rows(
                connection,
                "SELECT id, reference, merged_into_id, status FROM service_request WHERE id IN :values",
                sorted(missing),
            ):
                info[int(request_id)] = (
                    str(reference),
                    None if merged_into_id is None else int(merged_into_id),
                    str(status),
                )
            missing = {into for _ref, into, _status in info.values() if into is not None and into not in info}

        def survivor(request_id: int) -> int | None:
            seen: set[int] = set()
            while request_id in info and request_id not in seen:
                seen.add(request_id)
                into = info[request_id][1]
                if into is None:
                    return request_id
                request_id = into
            return request_id if request_id in info and info[request_id][1] is None else None

        # Links and mail_in events the candidate requests have already (by request: indexed).
        survivors = {found for found in map(survivor, info) if found is not None}
        new_rows = {row_ids[mail.uid] for mail in wanted}
        linked = {
            (int(request_id), int(mail_id))
            for request_id, mail_id in _in_rows(
                connection,
                "SELECT request_id, mail_message_id FROM request_mail WHERE request_id IN :values",
                sorted(survivors),
            )
            if int(mail_id) in new_rows
        }
        new_ids = {mail.message_id or f"#{row_ids[mail.uid]}" for mail in wanted}
        came_in = {
            (int(request_id), str(message_id))
            for request_id, message_id in _in_rows(
                connection,
                "SELECT request_id, new FROM request_event WHERE kind = 'mail_in' AND request_id IN :values",
                sorted(survivors),
            )
            if str(message_id) in new_ids
        }

        links: list[IncomingLink] = []
        link_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        reopen: list[tuple[int, str, str]] = []
        touched: set[int] = set()
        for mail in wanted:  # in UID order: a reply in the same batch follows its original
            mail_id = row_ids[mail.uid]
            match: tuple[int, str] | None = None
            for message_id in mail.header_ids:
                if message_id in by_header:
                    target = survivor(by_header[message_id])
                    if target is not None:
                        match = (target, "header")
                        break
            if match is None:
                for reference in mail.references:
                    if reference.upper() in by_reference:
                        target = survivor(by_reference[reference.upper()])
                        if target is not None:
                            match = (target, "subject_tag")
                            break
            if match is None:
                continue
            request_id, reason = match
            if mail.message_id:
                by_header.setdefault(mail.message_id, request_id)
            if (request_id, mail_id) in linked:
                continue
            linked.add((request_id, mail_id))
            link_rows.append(
                {"request_id": request_id, "mail_message_id": mail_id, "reason": reason, "linked_at": now}
            )
            event_key = mail.message_id or f"#{mail_id}"
            reference, _into, status = info[request_id]
            if (request_id, event_key) in came_in:
                # The same message came in before (a copy in another folder): linked, no news.
                links.append(IncomingLink(mail_id, request_id, reference, reason, False))
                continue
            came_in.add((request_id, event_key))
            event_rows.append(
                {
                    "request_id": request_id,
                    "action_id": None,
                    "at": now,
                    "actor": mail.sender,
                    "kind": "mail_in",
                    "field": "",
                    "old": "",
                    "new": event_key,
                    "text": reason,
                }
            )
            touched.add(request_id)
            reopened = status == WAITING_ON_REQUESTER
            if reopened:
                reopen.append((request_id, mail.sender, reference))
                info[request_id] = (reference, None, REOPENED_STATUS)
            links.append(IncomingLink(mail_id, request_id, reference, reason, reopened))
        if link_rows:
            connection.execute(insert(mail_table), link_rows)
        if event_rows:
            connection.execute(insert(events), event_rows)
        for request_id, sender, reference in reopen:  # after the mail_in events, as in time
            action_id = _new_action(connection, sender, now, "mail_in", reference)
            _apply(
                connection,
                request_id,
                None,
                {"status": REOPENED_STATUS},
                action_id=action_id,
                actor=sender,
                now=now,
            )
        if touched:
            for start in range(0, len(touched), _IN_CHUNK):
                chunk = sorted(touched)[start : start + _IN_CHUNK]
                connection.execute(update(requests).where(requests.c.id.in_(chunk)).values(updated_at=now))
        return links


# A reply sent from a request carries its reference in the Message-ID's left part
# (``<1764140000.123.456.OMA-2026-0042@example.fi>``, see ``reply_message_id`` of the service).
_REFERENCE_IN_MESSAGE_ID = re.compile(rf"\.({REFERENCE_PREFIX}-\d{{4}}-\d{{4,6}})@", re.IGNORECASE)


def reference_in_message_id(message_id: str) -> str | None:
    """The request reference a Message-ID of ours carries, or None."""
    found = _REFERENCE_IN_MESSAGE_ID.search(message_id)
    return found.group(1).upper() if found else None


def _answers_to_our_replies(
    connection: Connection, mails: Sequence[IncomingMail], by_header: dict[str, int]
) -> None:
    """Add to ``by_header`` the Message-IDs of replies sent from requests that the new mail answers.

    An answer to our reply finds its request this way even before the Sent copy is synced and
    linked. The reference in the Message-ID only names the candidate: the request must have a
    ``mail_out`` event with exactly that Message-ID (by request: indexed), so a made-up
    In-Reply-To links nothing.
    """
    candidates: dict[str, str] = {}
    for mail in mails:
        for message_id in mail.header_ids:
            if message_id not in by_header and (reference := reference_in_message_id(message_id)):
                candidates[message_id] = reference
    if not candidates:
        return
    ids = {
        str(reference): int(request_id)
        for reference, request_id in _in_rows(
            connection,
            "SELECT reference, id FROM service_request WHERE reference IN :values",
            sorted(set(candidates.values())),
        )
    }
    if not ids:
        return
    for request_id, message_id in _in_rows(
        connection,
        "SELECT request_id, new FROM request_event WHERE kind = 'mail_out' AND request_id IN :values",
        sorted(set(ids.values())),
    ):
        reference = candidates.get(str(message_id))
        if reference is not None and ids.get(reference) == int(request_id):
            by_header.setdefault(str(message_id), int(request_id))
