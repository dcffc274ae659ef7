"""The store's tables: one SQLModel class per table, for the whole product.

Conventions kept by every table:
- times are aware datetimes, stored and returned in UTC (``utcnow()``); screens convert to
  Europe/Helsinki for display. SQLite holds them as text ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC, no
  offset) and compares them as text: raw SQL must use that form (``store.queries.sql_time``);
- Message-ID columns keep the angle brackets, as in the header (``<abc@example.fi>``);
- lists of short values (roles, tags, services) are stored as JSON text, since they are read whole
  and never queried by element in SQL;
- a row that people refer to by name in the UI keeps a stable integer ``id``.
Changing a table means a new Alembic migration in ``store/migrations/versions``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlmodel import Field, Index, SQLModel, UniqueConstraint


def utcnow() -> datetime:
    """Now in UTC, the one form of time kept in the store."""
    return datetime.now(UTC)


# --- The network directory -------------------------------------------------------------------


class Unit(SQLModel, table=True):
    """A unit (yksikkö) of the county: a health centre, a social services office, ..."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    area: str = ""  # municipality or area
    code: str = ""  # cost centre or the county's own code, optional
    created_at: datetime = Field(default_factory=utcnow)


class UnitService(SQLModel, table=True):
    """An Omaolo service deployed in a unit; the deployment date schedules cooperation meetings."""

    __tablename__ = "unit_service"
    __table_args__ = (UniqueConstraint("unit_id", "service"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True, ondelete="CASCADE")
    service: str
    deployed_on: date | None = None


class Person(SQLModel, table=True):
    """A person in the network. Minimal personal data by design: no identity code, no address."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    email: str = Field(index=True)
    phone: str = ""
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True, ondelete="SET NULL")
    roles: str = "[]"  # JSON list of role names, e.g. ["vastuukäyttäjä"]
    language: str = "fi"  # the language notices go to this person in: fi or sv
    active: bool = True  # False = left; kept for history, drops out of every list
    left_on: date | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class MailingList(SQLModel, table=True):
    """A named distribution list: static members, or a rule resolved against the directory."""

    __tablename__ = "mailing_list"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True)
    description: str = ""
    rule: str = ""  # JSON rule, e.g. {"role": "vastuukäyttäjä", "service": "työjonolähetys"}; "" = static
    bilingual: bool = False  # warn when a notice to it has no Swedish text
    created_at: datetime = Field(default_factory=utcnow)


class ListMember(SQLModel, table=True):
    """A static member of a list."""

    __tablename__ = "list_member"

    list_id: int = Field(foreign_key="mailing_list.id", primary_key=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")


# --- The shared mailbox ----------------------------------------------------------------------


class MailFolder(SQLModel, table=True):
    """An IMAP folder and the sync state that makes the next sync incremental."""

    __tablename__ = "mail_folder"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)  # the server's folder name
    role: str = ""  # inbox, sent, archive, trash, or "" for an ordinary folder
    uidvalidity: int | None = None
    uidnext: int | None = None
    highest_uid: int = 0
    highest_modseq: int | None = None
    last_sync_at: datetime | None = None
    last_error: str = ""


class MailMessage(SQLModel, table=True):
    """One message in one folder, with its text parts; attachments are listed, fetched on demand."""

    __tablename__ = "mail_message"
    __table_args__ = (
        UniqueConstraint("folder_id", "uid"),
        Index("ix_mail_message_unseen", "seen", "folder_id"),  # the Today count
        Index("ix_mail_message_folder_date", "folder_id", "date"),  # a folder, newest first
    )

    id: int | None = Field(default=None, primary_key=True)
    folder_id: int = Field(foreign_key="mail_folder.id", index=True, ondelete="CASCADE")
    uid: int
    message_id: str = Field(default="", index=True)
    in_reply_to: str = ""
    references: str = ""  # space-separated Message-IDs
    thread_key: str = Field(default="", index=True)  # the Message-ID at the root of its thread
    subject: str = ""
    from_name: str = ""
    from_addr: str = Field(default="", index=True)
    to_addrs: str = ""
    cc_addrs: str = ""
    date: datetime = Field(default_factory=utcnow, index=True)
    seen: bool = False
    flagged: bool = False
    answered: bool = False
    size: int = 0
    has_attachments: bool = False
    snippet: str = ""
    body_text: str = ""  # the readable text, capped; the raw source stays on the server
    parse_note: str = ""  # set when the message could not be parsed cleanly
    modseq: int | None = None
    # The header block as received (capped), for the full-headers view; "" for older rows.
    headers: str = Field(default="", sa_column_kwargs={"server_default": ""})


class MailAttachment(SQLModel, table=True):
    """An attachment as listed by BODYSTRUCTURE; its bytes are fetched when written to a file."""

    __tablename__ = "mail_attachment"

    id: int | None = Field(default=None, primary_key=True)
    mail_message_id: int = Field(foreign_key="mail_message.id", index=True, ondelete="CASCADE")
    part: str = ""  # IMAP body part number, e.g. "2" or "1.3"
    filename: str = ""
    content_type: str = ""
    size: int = 0


# --- Newsletter feeds ------------------------------------------------------------------------


class Feed(SQLModel, table=True):
    """A followed feed and what the next conditional GET needs."""

    id: int | None = Field(default=None, primary_key=True)
    name: str
    url: str = Field(unique=True)
    title: str = ""
    etag: str = ""
    last_modified: str = ""
    last_fetch_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str = ""
    warning: str = ""  # e.g. ill-formed XML that still gave items
    from_config: bool = False
    # The address as written in [[feeds]], while ``url`` follows a remembered permanent redirect.
    config_url: str = ""
    # A 429/503 Retry-After: no request before this time, also across processes (cron and the app).
    retry_after_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class FeedItem(SQLModel, table=True):
    """An item of a feed, de-duplicated by ``dedup_key`` (GUID, else link, else title+date hash)."""

    __tablename__ = "feed_item"
    __table_args__ = (UniqueConstraint("feed_id", "dedup_key"),)

    id: int | None = Field(default=None, primary_key=True)
    feed_id: int = Field(foreign_key="feed.id", index=True, ondelete="CASCADE")
    dedup_key: str
    guid: str = ""
    link: str = ""
    title: str = ""
    summary: str = ""
    content_text: str = ""  # the item's words, for search; the reader renders content_html when set
    # The item's HTML (links made absolute), rendered to text when the item is opened: rendering
    # at fetch time was most of a cold refresh, for items mostly never read (migration 0008).
    content_html: str = Field(default="", sa_column_kwargs={"server_default": ""})
    published_at: datetime = Field(default_factory=utcnow, index=True)
    first_seen_at: datetime = Field(default_factory=utcnow)
    read: bool = Field(default=False, index=True)
    starred: bool = False
    mail_message_id: int | None = Field(
        default=None, foreign_key="mail_message.id", ondelete="SET NULL"
    )  # for newsletters that arrive as mail


class FeedForward(SQLModel, table=True):
    """A record of passing a feed item on to a list, so it is not sent twice by accident."""

    __tablename__ = "feed_forward"

    id: int | None = Field(default=None, primary_key=True)
    feed_item_id: int = Field(foreign_key="feed_item.id", index=True, ondelete="CASCADE")
    list_id: int | None = Field(default=None, foreign_key="mailing_list.id", ondelete="SET NULL")
    outbox_id: int | None = Field(default=None, foreign_key="outbox.id", ondelete="SET NULL")
    sent_at: datetime = Field(default_factory=utcnow)


# --- Service requests ------------------------------------------------------------------------


class ServiceRequest(SQLModel, table=True):
    """A service request (palvelupyyntö). ``version`` guards against lost updates between instances."""

    __tablename__ = "service_request"
    __table_args__ = (
        UniqueConstraint("year", "seq"),
        Index("ix_service_request_open_due", "status", "due_at"),  # overdue and due-today counts
        # Covers every column the Figures view reads, so a year of 50,000 requests is counted
        # from the index alone, without reading the rows' text.
        Index(
            "ix_service_request_figures",
            "created_at",
            "merged_into_id",
            "unit_id",
            "category",
            "status",
            "due_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
        ),
        # Per category and unit in GROUP BY order (0007); the duration indexes of 0007 are on
        # expressions, which the models cannot declare (see that migration).
        Index(
            "ix_service_request_figures_groups",
            "category",
            "unit_id",
            "created_at",
            sqlite_where=text("merged_into_id IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True)  # OMA-2026-0042
    year: int
    seq: int
    title: str
    description: str = ""
    requester_person_id: int | None = Field(
        default=None, foreign_key="person.id", index=True, ondelete="SET NULL"
    )
    requester_email: str = ""
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True, ondelete="SET NULL")
    category: str = ""  # "" = not yet triaged
    priority: int | None = None  # 1..4; None = not yet triaged
    status: str = Field(default="uusi", index=True)
    assignee: str = ""
    due_at: datetime | None = Field(default=None, index=True)
    digifinland_ticket: str = ""
    tags: str = "[]"  # JSON list
    notice_id: int | None = Field(default=None, foreign_key="notice.id", ondelete="SET NULL")
    merged_into_id: int | None = Field(default=None, foreign_key="service_request.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow, index=True)
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    version: int = 1


class RequestAction(SQLModel, table=True):
    """One thing a person did to requests (a change, a bulk change, a merge, a note, ...): one undo step.

    Its events (``RequestEvent.action_id``) say exactly what changed, so undo reverses them.
    """

    __tablename__ = "request_action"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    actor: str = Field(default="", index=True)
    kind: str = "change"  # create, change, bulk, merge, note, undo
    summary: str = ""  # what was done, in plain words, for "undo …" and the history
    undone_at: datetime | None = None
    undo_of_id: int | None = Field(default=None, foreign_key="request_action.id", ondelete="SET NULL")


class RequestEvent(SQLModel, table=True):
    """One change to a request (who, when, field, old → new), a note, or a mail in or out."""

    __tablename__ = "request_event"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id", index=True, ondelete="CASCADE")
    # The person's action this event belongs to; None for what the system did (mail in, sync).
    action_id: int | None = Field(
        default=None, foreign_key="request_action.id", index=True, ondelete="SET NULL"
    )
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = ""
    kind: str = "change"  # change, note, mail_in, mail_out, created, merged
    field: str = ""
    old: str = ""
    new: str = ""
    text: str = ""  # a note's text


class RequestMail(SQLModel, table=True):
    """A mail message linked to a request, and why (header match, subject tag, by hand)."""

    __tablename__ = "request_mail"
    # By message: the sync looks up a new reply's thread, and an expunge's cascade finds its links.
    __table_args__ = (Index("ix_request_mail_mail_message_id", "mail_message_id"),)

    request_id: int = Field(foreign_key="service_request.id", primary_key=True, ondelete="CASCADE")
    mail_message_id: int = Field(foreign_key="mail_message.id", primary_key=True, ondelete="CASCADE")
    reason: str = "manual"  # manual (by hand), created (made from it), subject_tag, header
    linked_at: datetime = Field(default_factory=utcnow)


# --- Disruption notices ----------------------------------------------------------------------


class Notice(SQLModel, table=True):
    """A disruption or maintenance notice: one email thread, many versions."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = "häiriö"  # häiriö, katko, hidastelu, huoltokatko, tiedote
    services: str = "[]"  # JSON list of affected services
    units: str = "[]"  # JSON list of unit ids; [] = all units
    status: str = Field(default="tutkitaan", index=True)
    start_at: datetime = Field(default_factory=utcnow)
    expected_end_at: datetime | None = None
    actual_end_at: datetime | None = None
    impact: str = ""
    instructions: str = ""
    contact: str = ""
    text_fi: str = ""
    text_sv: str = ""
    subject: str = ""  # fixed for the thread
    thread_message_id: str = ""  # the first version's Message-ID
    is_open: bool = Field(default=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class NoticeVersion(SQLModel, table=True):
    """One sent (or scheduled) version of a notice."""

    __tablename__ = "notice_version"
    __table_args__ = (UniqueConstraint("notice_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True, ondelete="CASCADE")
    number: int
    status: str
    subject: str
    body_fi: str = ""
    body_sv: str = ""
    changes: str = ""  # what changed since the previous version
    message_id: str = ""
    outbox_id: int | None = Field(default=None, foreign_key="outbox.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    scheduled_at: datetime | None = None
    sent_at: datetime | None = None


class Outbox(SQLModel, table=True):
    """Outgoing mail, committed before the first byte goes to SMTP, so nothing is sent twice."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = "mail"  # reply, forward, notice, digest, mail
    message_id: str = Field(unique=True)
    subject: str = ""
    raw: bytes = b""  # the exact message that goes out
    recipients: str = "[]"  # JSON list of envelope recipients
    state: str = Field(default="queued", index=True)  # queued, sending, sent, failed, unknown, demo
    error: str = ""
    scheduled_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class Delivery(SQLModel, table=True):
    """The result for one recipient of one outbox message."""

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outbox.id", index=True, ondelete="CASCADE")
    recipient: str
    status: str = "pending"  # pending, accepted, refused, retry
    smtp_reply: str = ""
    at: datetime | None = None


# --- Onboarding ------------------------------------------------------------------------------


class ChecklistTemplate(SQLModel, table=True):
    """A version of a checklist template; editing makes a new version, runs keep theirs."""

    __tablename__ = "checklist_template"
    __table_args__ = (UniqueConstraint("family", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    family: str  # stable name shared by all versions, e.g. "vastuukäyttäjä-perehdytys"
    version: int = 1
    name: str
    kind: str = "onboarding"  # onboarding or offboarding
    is_current: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class ChecklistTemplateItem(SQLModel, table=True):
    """An item of a template version; due as working days from the start date."""

    __tablename__ = "checklist_template_item"

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="checklist_template.id", index=True, ondelete="CASCADE")
    position: int
    text: str
    who: str = "koordinaattori"  # koordinaattori, uusi käyttäjä, esihenkilö, ICT
    due_offset_days: int = 0  # negative = before start
    link: str = ""


class ChecklistRun(SQLModel, table=True):
    """A checklist started for one person with a start date."""

    __tablename__ = "checklist_run"

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="checklist_template.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    start_date: date
    status: str = Field(default="open", index=True)  # open, done, cancelled
    created_at: datetime = Field(default_factory=utcnow)
    completed_at: datetime | None = None


class ChecklistRunItem(SQLModel, table=True):
    """An item of a run, copied from the template version with a real due date."""

    __tablename__ = "checklist_run_item"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="checklist_run.id", index=True, ondelete="CASCADE")
    position: int
    text: str
    who: str = ""
    due_on: date | None = Field(default=None, index=True)
    link: str = ""
    done_at: datetime | None = None
    done_by: str = ""
    note: str = ""
    request_id: int | None = Field(default=None, foreign_key="service_request.id", ondelete="SET NULL")


# --- Cooperation meetings --------------------------------------------------------------------


class Meeting(SQLModel, table=True):
    """A held cooperation meeting (yhteistyöpalaveri) with a unit."""

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True, ondelete="CASCADE")
    held_on: date
    participants: str = "[]"  # JSON list of person ids
    notes: str = ""
    actions: str = ""
    haipro_count: int | None = None  # counts only, never content
