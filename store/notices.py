"""Notices and their versions: every read and write of the notice tables, and the directory reads they need.

A version is queued in one transaction with its outbox row and the notice's new state, so a
version exists only together with the exact message and recipient list that go out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from store.models import (
    ListMember,
    MailingList,
    Notice,
    NoticeVersion,
    Outbox,
    Person,
    UnitService,
    utcnow,
)

if TYPE_CHECKING:
    from store.engine import Store

FINAL_STATUSES = ("korjattu", "päättynyt", "peruttu")


@dataclass(frozen=True)
class NoticeRecord:
    id: int
    kind: str
    services: list[str]
    units: list[int]
    status: str
    start_at: datetime
    expected_end_at: datetime | None
    actual_end_at: datetime | None
    impact: str
    instructions: str
    contact: str
    text_fi: str
    text_sv: str
    subject: str
    thread_message_id: str
    is_open: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class VersionRecord:
    id: int
    notice_id: int
    number: int
    status: str
    subject: str
    body_fi: str
    body_sv: str
    changes: str
    message_id: str
    outbox_id: int | None
    outbox_state: str  # queued, sending, sent, failed, unknown, demo; "" without a row
    outbox_error: str
    created_at: datetime
    scheduled_at: datetime | None
    sent_at: datetime | None


@dataclass(frozen=True)
class NoticeFields:
    """The notice's columns as the version being queued leaves them."""

    kind: str
    services: list[str]
    units: list[int]
    status: str
    start_at: datetime
    expected_end_at: datetime | None
    actual_end_at: datetime | None
    impact: str
    instructions: str
    contact: str
    text_fi: str
    text_sv: str


@dataclass(frozen=True)
class QueuedVersion:
    notice_id: int
    version_id: int
    outbox_id: int
    number: int
    message_id: str


@dataclass(frozen=True)
class DirectoryPerson:
    id: int
    name: str
    email: str
    language: str
    unit_id: int | None
    roles: list[str]
    unit_services: list[str]


@dataclass(frozen=True)
class ListInfo:
    id: int
    name: str
    rule: str
    bilingual: bool
    member_ids: list[int]


def _record(row: Notice) -> NoticeRecord:
    assert row.id is not None
    return NoticeRecord(
        id=row.id,
        kind=row.kind,
        services=json.loads(row.services or "[]"),
        units=json.loads(row.units or "[]"),
        status=row.status,
        start_at=row.start_at,
        expected_end_at=row.expected_end_at,
        actual_end_at=row.actual_end_at,
        impact=row.impact,
        instructions=row.instructions,
        contact=row.contact,
        text_fi=row.text_fi,
        text_sv=row.text_sv,
        subject=row.subject,
        thread_message_id=row.thread_message_id,
        is_open=row.is_open,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def get_notice(store: Store, notice_id: int) -> NoticeRecord:
    with store.session() as session:
        row = session.get(Notice, notice_id)
        if row is None:
            raise LookupError(f"no notice {notice_id}")
        return _record(row)


def list_notices(store: Store, limit: int = 200) -> list[NoticeRecord]:
    """Open notices first, then the rest; newest start first within each."""
    from sqlmodel import col, select

    with store.session() as session:
        rows = session.exec(
            select(Notice)
            .order_by(col(Notice.is_open).desc(), col(Notice.start_at).desc(), col(Notice.id).desc())
            .limit(limit)
        ).all()
        return [_record(row) for row in rows]


def versions(store: Store, notice_id: int) -> list[VersionRecord]:
    from sqlmodel import col, select

    with store.session() as session:
        rows = session.exec(
            select(NoticeVersion, Outbox)
            .join(Outbox, col(Outbox.id) == col(NoticeVersion.outbox_id), isouter=True)
            .where(col(NoticeVersion.notice_id) == notice_id)
            .order_by(col(NoticeVersion.number))
        ).all()
        return [_version(version, outbox) for version, outbox in rows]


def version(store: Store, version_id: int) -> VersionRecord:
    from sqlmodel import col, select

    with store.session() as session:
        found = session.exec(
            select(NoticeVersion, Outbox)
            .join(Outbox, col(Outbox.id) == col(NoticeVersion.outbox_id), isouter=True)
            .where(col(NoticeVersion.id) == version_id)
        ).first()
        if found is None:
            raise LookupError(f"no notice version {version_id}")
        return _version(*found)


def _version(row: NoticeVersion, outbox: Outbox | None) -> VersionRecord:
    assert row.id is not None
    return VersionRecord(
        id=row.id,
        notice_id=row.notice_id,
        number=row.number,
        status=row.status,
        subject=row.subject,
        body_fi=row.body_fi,
        body_sv=row.body_sv,
        changes=row.changes,
        message_id=row.message_id,
        outbox_id=row.outbox_id,
        outbox_state=outbox.state if outbox is not None else "",
        outbox_error=outbox.error if outbox is not None else "",
        created_at=row.created_at,
        scheduled_at=row.scheduled_at,
        sent_at=row.sent_at,
    )


def queue_version(
    store: Store,
    notice_id: int | None,
    fields: NoticeFields,
    *,
    number: int,
    thread_subject: str,
    version_subject: str,
    body_fi: str,
    body_sv: str,
    changes: str,
    message_id: str,
    raw: bytes,
    recipients: list[str],
    scheduled_at: datetime | None = None,
    outbox_state: str = "queued",
) -> QueuedVersion:
    """One transaction: the notice (new or updated), its version ``number`` and the outbox row.

    The version's number is unique per notice, so two instances queueing the same update cannot
    both succeed (the second gets an IntegrityError). The first version's Message-ID becomes the
    thread's.
    """
    now = utcnow()
    with store.session() as session:
        notice = Notice(created_at=now) if notice_id is None else session.get(Notice, notice_id)
        if notice is None:
            raise LookupError(f"no notice {notice_id}")
        notice.kind = fields.kind
        notice.services = json.dumps(fields.services, ensure_ascii=False)
        notice.units = json.dumps(fields.units)
        notice.status = fields.status
        notice.start_at = fields.start_at
        notice.expected_end_at = fields.expected_end_at
        notice.actual_end_at = fields.actual_end_at
        notice.impact = fields.impact
        notice.instructions = fields.instructions
        notice.contact = fields.contact
        notice.text_fi = fields.text_fi
        notice.text_sv = fields.text_sv
        notice.subject = notice.subject or thread_subject
        notice.thread_message_id = notice.thread_message_id or message_id
        notice.is_open = fields.status not in FINAL_STATUSES
        notice.updated_at = now
        session.add(notice)
        outbox = Outbox(
            kind="notice",
            message_id=message_id,
            subject=version_subject,
            raw=raw,
            recipients=json.dumps(recipients, ensure_ascii=False),
            state=outbox_state,
            scheduled_at=scheduled_at,
            created_at=now,
        )
        session.add(outbox)
        session.flush()
        assert notice.id is not None and outbox.id is not None
        row = NoticeVersion(
            notice_id=notice.id,
            number=number,
            status=fields.status,
            subject=version_subject,
            body_fi=body_fi,
            body_sv=body_sv,
            changes=changes,
            message_id=message_id,
            outbox_id=outbox.id,
            created_at=now,
            scheduled_at=scheduled_at,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return QueuedVersion(notice.id, row.id, outbox.id, number, message_id)


def due_versions(store: Store, now: datetime) -> list[int]:
    """Versions whose outbox row is queued and due (no time set, or the time has come), oldest first."""
    from datetime import UTC

    from sqlmodel import col, or_, select

    now = now.astimezone(UTC)  # the store's times are UTC and compare as text
    with store.session() as session:
        rows = session.exec(
            select(NoticeVersion.id)
            .join(Outbox, col(Outbox.id) == col(NoticeVersion.outbox_id))
            .where(
                col(Outbox.state) == "queued",
                or_(col(Outbox.scheduled_at).is_(None), col(Outbox.scheduled_at) <= now),
            )
            .order_by(col(NoticeVersion.id))
        ).all()
        return [row for row in rows if row is not None]


def mark_version_sent(store: Store, version_id: int, at: datetime | None = None) -> None:
    with store.session() as session:
        row = session.get(NoticeVersion, version_id)
        if row is not None and row.sent_at is None:
            row.sent_at = at or utcnow()
            session.add(row)


def sent_versions(store: Store, limit: int = 50) -> list[tuple[NoticeRecord, VersionRecord]]:
    """The newest sent versions with their notices, for the status feed."""
    from sqlmodel import col, select

    with store.session() as session:
        rows = session.exec(
            select(NoticeVersion, Notice, Outbox)
            .join(Notice, col(Notice.id) == col(NoticeVersion.notice_id))
            .join(Outbox, col(Outbox.id) == col(NoticeVersion.outbox_id), isouter=True)
            .where(col(NoticeVersion.sent_at).is_not(None))
            .order_by(col(NoticeVersion.sent_at).desc(), col(NoticeVersion.id).desc())
            .limit(limit)
        ).all()
        return [(_record(notice), _version(row, outbox)) for row, notice, outbox in rows]


# --- the directory, as recipients are resolved from it ------------------------------------------


def active_people(store: Store) -> list[DirectoryPerson]:
    """Every active person, with their unit's deployed services (for rule lists)."""
    from sqlmodel import col, select

    with store.session() as session:
        services: dict[int, list[str]] = {}
        for unit_id, service in session.exec(select(UnitService.unit_id, UnitService.service)).all():
            services.setdefault(unit_id, []).append(service)
        people = session.exec(select(Person).where(col(Person.active)).order_by(col(Person.id))).all()
        result = []
        for person in people:
            assert person.id is not None
            try:
                roles = [str(role) for role in json.loads(person.roles or "[]")]
            except ValueError:
                roles = []
            result.append(
                DirectoryPerson(
                    id=person.id,
                    name=person.name,
                    email=person.email,
                    language=person.language,
                    unit_id=person.unit_id,
                    roles=roles,
                    unit_services=services.get(person.unit_id, []) if person.unit_id is not None else [],
                )
            )
        return result


def mailing_lists(store: Store) -> list[ListInfo]:
    from sqlmodel import col, select

    with store.session() as session:
        members: dict[int, list[int]] = {}
        for list_id, person_id in session.exec(select(ListMember.list_id, ListMember.person_id)).all():
            members.setdefault(list_id, []).append(person_id)
        rows = session.exec(select(MailingList).order_by(col(MailingList.name))).all()
        return [
            ListInfo(row.id or 0, row.name, row.rule, row.bilingual, members.get(row.id or 0, []))
            for row in rows
        ]


# --- what the Notices screen lists, and the requests linked to a notice ---------------------------


@dataclass(frozen=True)
class NoticeSummary:
    """A row of the Notices list: the notice and how its versions stand."""

    notice: NoticeRecord
    versions: int
    last_sent_at: datetime | None
    unknown: int  # versions whose delivery is unknown (the coordinator must decide)
    failed: int  # versions that failed or still have recipients waiting
    scheduled: int  # versions queued for later


def notice_summaries(store: Store, limit: int = 200, match: str = "") -> list[NoticeSummary]:
    """Open notices first, newest start first; ``match``: words that must all occur (any case) in
    the subject, services, kind, status, impact or Finnish text."""
    from sqlmodel import col, select

    found = list_notices(store, limit=limit if not match.strip() else 5000)
    if match.strip():
        words = match.casefold().split()

        def hit(record: NoticeRecord) -> bool:
            text = " ".join(
                (
                    record.subject,
                    " ".join(record.services),
                    record.kind,
                    record.status,
                    record.impact,
                    record.text_fi,
                    record.text_sv,
                )
            ).casefold()
            return all(word in text for word in words)

        found = [record for record in found if hit(record)][:limit]
    if not found:
        return []
    ids = [record.id for record in found]
    with store.session() as session:
        rows = session.exec(
            select(NoticeVersion.notice_id, NoticeVersion.sent_at, Outbox.state)
            .join(Outbox, col(Outbox.id) == col(NoticeVersion.outbox_id), isouter=True)
            .where(col(NoticeVersion.notice_id).in_(ids))
        ).all()
    counts = dict.fromkeys(ids, 0)
    last_sent: dict[int, datetime] = {}
    states: dict[int, dict[str, int]] = {notice_id: {} for notice_id in ids}
    for notice_id, sent_at, state in rows:
        counts[notice_id] += 1
        if sent_at is not None and (notice_id not in last_sent or sent_at > last_sent[notice_id]):
            last_sent[notice_id] = sent_at
        if state:
            states[notice_id][state] = states[notice_id].get(state, 0) + 1
    result = [
        NoticeSummary(
            notice=record,
            versions=counts[record.id],
            last_sent_at=last_sent.get(record.id),
            unknown=states[record.id].get("unknown", 0),
            failed=states[record.id].get("failed", 0),
            scheduled=states[record.id].get("queued", 0),
        )
        for record in found
    ]
    return result


@dataclass(frozen=True)
class LinkedRequest:
    """An open request linked to a notice ("is Omaolo down?"), with what a reply to it needs."""

    id: int
    reference: str
    title: str
    status: str
    version: int
    requester_email: str
    last_message_id: str  # the newest linked mail's Message-ID ("" without mail)
    last_references: str
    last_subject: str


def linked_requests(store: Store, notice_id: int, *, open_only: bool = True) -> list[LinkedRequest]:
    """The requests linked to ``notice_id`` (open ones only, by default), oldest first."""
    from sqlmodel import col, select

    from store.models import MailMessage, RequestMail, ServiceRequest
    from store.vocabulary import OPEN_STATUSES

    with store.session() as session:
        query = select(ServiceRequest).where(
            col(ServiceRequest.notice_id) == notice_id, col(ServiceRequest.merged_into_id).is_(None)
        )
        if open_only:
            query = query.where(col(ServiceRequest.status).in_(OPEN_STATUSES))
        requests = session.exec(query.order_by(col(ServiceRequest.created_at), col(ServiceRequest.id))).all()
        result = []
        for row in requests:
            assert row.id is not None
            mail = session.exec(
                select(MailMessage)
                .join(RequestMail, col(RequestMail.mail_message_id) == col(MailMessage.id))
                .where(col(RequestMail.request_id) == row.id)
                .order_by(col(MailMessage.date).desc())
                .limit(1)
            ).first()
            result.append(
                LinkedRequest(
                    id=row.id,
                    reference=row.reference,
                    title=row.title,
                    status=row.status,
                    version=row.version,
                    requester_email=row.requester_email,
                    last_message_id=mail.message_id if mail is not None else "",
                    last_references=mail.references if mail is not None else "",
                    last_subject=mail.subject if mail is not None else "",
                )
            )
        return result


@dataclass(frozen=True)
class UnitInfo:
    id: int
    name: str
    people: int  # active people in the unit


def units_with_people(store: Store) -> list[UnitInfo]:
    """Every unit with how many active people it has, by name (for the recipient picker)."""
    from sqlalchemy import func
    from sqlmodel import col, select

    from store.models import Unit

    with store.session() as session:
        counts = dict(
            session.exec(
                select(Person.unit_id, func.count())
                .where(col(Person.active), col(Person.unit_id).is_not(None))
                .group_by(col(Person.unit_id))
            ).all()
        )
        rows = session.exec(select(Unit).order_by(col(Unit.name))).all()
        return [UnitInfo(row.id or 0, row.name, int(counts.get(row.id, 0))) for row in rows]
