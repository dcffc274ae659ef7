"""The operations the Requests screen calls: each one applies the rules, then one store transaction.

Every method is blocking (the screen calls it from a thread worker) and returns plain objects.
A change names the ``version`` of the row the user saw; when someone else changed the request
meanwhile, ``store.requests.Conflict`` comes back with both values and nothing was written.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal

from coordinator_tui.i18n import _
from coordinator_tui.requests import rules
from coordinator_tui.requests.duetime import DueSpan, DueState, OfficeCalendar, due_spans
from coordinator_tui.textclean import clean_line, clean_text
from store import requests as db

if TYPE_CHECKING:
    from email.message import EmailMessage

    from coordinator_tui.config import RequestsSection
    from coordinator_tui.mail.compose import Draft
    from store.engine import Store
    from store.queries import OpenNotice

Verb = Literal["priority", "category", "assignee", "status", "notice"]
# Why a message is linked to a request, as request_mail.reason keeps it.
REASON_CREATED = "created"  # the request was made from this message (C on the Mail screen)
REASON_BY_HAND = "manual"  # linked by hand (L on the Mail screen)
# Reply and forward prefixes of the mail clients the network uses (Outlook in Finnish writes VS:,
# in Swedish SV:, in German AW:), possibly repeated, with or without a count ("Re[2]:").
# Our own reference tag ("[OMA-2026-0042] ...") goes too: the new request gets its own.
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|vs|sv|aw|fw|fwd|vl|tr)(?:\s*\[\d+\])?\s*:|\[OMA-\d{4}-\d{4,}\])\s*", re.IGNORECASE
)


@dataclass(frozen=True)
class Selected:
    """A request the user picked, with the version they saw."""

    request_id: int
    version: int


class RequestService:
    """The request queue's operations for one person (``actor``) on one store."""

    def __init__(
        self,
        store: Store,
        settings: RequestsSection | None = None,
        *,
        actor: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        from coordinator_tui.config import RequestsSection

        self.store = store
        self.settings = settings or RequestsSection()
        self.calendar = OfficeCalendar.from_settings(
            self.settings.office_hours,
            time_zone=self.settings.time_zone,
            country=self.settings.holidays,
            extra_closed=self.settings.closed_days,
        )
        self.spans: dict[int, DueSpan] = due_spans(dict(self.settings.due))
        self.categories: tuple[str, ...] = tuple(self.settings.categories)
        self.recently = timedelta(days=self.settings.recently_days)
        self.actor = actor or self.settings.me or _login_name()
        self._clock = clock or (lambda: datetime.now(UTC))

    # --- time ---

    def now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def due_for(self, start: datetime, priority: int | None) -> datetime:
        """The due time of a request that started at ``start``; untriaged ones get P2's time for triage."""
        return self.calendar.due_at(start, self.spans[priority if priority is not None else 2])

    def due_state(self, row: db.RequestRow | db.ListRow, now: datetime | None = None) -> DueState | None:
        """Office time left (or overdue) for an open request; None for a closed one or no due time."""
        if row.due_at is None or not rules.is_open(row.status):
            return None
        paused = db.paused_since(self.store, row.id) if row.status == rules.WAITING_REQUESTER else None
        return self.calendar.state(row.due_at, now or self.now(), paused)

    # --- reading ---

    def get(self, request_id: int) -> db.RequestRow | None:
        return db.get_request(self.store, request_id)

    def history(self, request_id: int) -> list[db.EventRow]:
        return db.history(self.store, request_id)

    def counts(self) -> dict[db.ViewName, int]:
        return db.view_counts(self.store, me=self.actor, now=self.now(), recently=self.recently)

    def window(
        self,
        view: db.ViewName,
        *,
        sort: db.SortName = "due",
        after: tuple[Any, ...] | None = None,
        limit: int = 100,
        match: str = "",
        unit_id: int | None = None,
    ) -> db.Window:
        return db.view_window(
            self.store,
            view,
            me=self.actor,
            now=self.now(),
            sort=sort,
            after=after,
            limit=limit,
            match=match,
            unit_id=unit_id,
            recently=self.recently,
        )

    def count(self, view: db.ViewName, *, match: str = "", unit_id: int | None = None) -> int:
        """How many rows ``window`` pages through for the same view and filter."""
        return db.view_count(
            self.store,
            view,
            me=self.actor,
            now=self.now(),
            match=match,
            unit_id=unit_id,
            recently=self.recently,
        )

    def assignee_choices(self) -> list[str]:
        """Who a request can be assigned to: you, the configured people, then names already in use."""
        names = [self.actor, *self.settings.assignees, *db.known_assignees(self.store)]
        return list(dict.fromkeys(name for name in names if name.strip()))

    def figures(self, since: date, until: date, unit_id: int | None = None) -> db.Figures:
        """Figures for requests created from ``since`` up to and including ``until`` (local dates)."""
        zone = self.calendar.zone
        start = datetime.combine(since, time(0), tzinfo=zone)
        end = datetime.combine(until + timedelta(days=1), time(0), tzinfo=zone)
        months = []
        first = date(since.year, since.month, 1)
        while first <= until:
            following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
            months.append(
                (
                    f"{first.year}-{first.month:02d}",
                    max(start, datetime.combine(first, time(0), tzinfo=zone)),
                    min(end, datetime.combine(following, time(0), tzinfo=zone)),
                )
            )
            first = following
        return db.request_figures(
            self.store, since=start, until=end, now=self.now(), months=months, unit_id=unit_id
        )

    # --- changing ---

    def create(
        self,
        title: str,
        *,
        description: str = "",
        requester_person_id: int | None = None,
        requester_email: str = "",
        unit_id: int | None = None,
        category: str = "",
        priority: int | None = None,
        assignee: str = "",
        mail: Sequence[tuple[int, str]] = (),
        note: str = "",
    ) -> db.RequestRow:
        """A new request (from mail or by hand), numbered OMA-YYYY-NNNN by the local year."""
        # Cleaned as stored: a title or text pasted from anywhere may carry escapes, bidi controls
        # or a lone surrogate (which SQLite cannot even store).
        title = " ".join(clean_line(title, 500).split())
        description = clean_text(description)
        if not title:
            raise rules.RuleError(_("A request needs a title."))
        if category:
            rules.check_category(category, self.categories)
        if priority is not None:
            rules.check_priority(priority)
        now = self.now()
        values: dict[str, Any] = {
            "description": description,
            "requester_person_id": requester_person_id,
            "requester_email": requester_email,
            "unit_id": unit_id,
            "category": category,
            "priority": priority,
            "assignee": assignee,
            "due_at": self.due_for(now, priority),
        }
        if rules.is_triaged(priority, category, assignee):
            values.update(status=rules.IN_PROGRESS, first_response_at=now)
        year = now.astimezone(self.calendar.zone).year
        return db.create_request(
            self.store, year=year, title=title, actor=self.actor, now=now, values=values, mail=mail, note=note
        )

    def create_from_mail(
        self,
        mail_message_id: int,
        *,
        subject: str,
        sender: str,
        category: str = "",
        priority: int | None = None,
    ) -> db.RequestRow:
        """A request from a message: its subject as the title, its sender as the requester (the
        directory person with that address, if there is one), and the message linked."""
        sender = sender.strip()
        person = db.requester_for_email(self.store, sender) if sender else None
        title = mail_title(subject, sender)
        return self.create(
            title,
            requester_person_id=person[0] if person else None,
            requester_email=sender,
            unit_id=person[1] if person else None,
            category=category,
            priority=priority,
            mail=[(mail_message_id, REASON_CREATED)],
        )

    def link_mail(self, request_id: int, mail_message_id: int, reason: str = REASON_BY_HAND) -> bool:
        """Link a message to a request; False when it was linked to it already."""
        if self.get(request_id) is None:
            raise db.NotFound(request_id)
        return db.link_mail(
            self.store, request_id, mail_message_id, reason=reason, actor=self.actor, now=self.now()
        )

    def _changes(self, row: db.RequestRow, verb: Verb, value: Any, now: datetime) -> dict[str, Any]:
        """The fields a verb changes on ``row``, with what the rules make follow from it."""
        changes: dict[str, Any] = {}
        if verb == "priority":
            rules.check_priority(int(value))
            changes["priority"] = int(value)
            changes["due_at"] = self.due_for(row.created_at, int(value))
        elif verb == "category":
            rules.check_category(str(value), self.categories)
            changes["category"] = str(value)
        elif verb == "assignee":
            changes["assignee"] = str(value).strip()
        elif verb == "status":
            return self._status_changes(row, str(value), now)
        elif verb == "notice":
            return {"notice_id": None if value is None else int(value)}
        merged = {**_fields(row), **changes}
        if row.status == rules.NEW and rules.is_triaged(
            merged["priority"], merged["category"], merged["assignee"]
        ):
            # Fully triaged: the request leaves the untriaged view in the same step.
            changes.update(self._status_changes(row, rules.IN_PROGRESS, now))
        return changes

    def _status_changes(self, row: db.RequestRow, status: str, now: datetime) -> dict[str, Any]:
        rules.check_transition(row.status, status)
        if status == row.status:
            return {}
        effects = rules.status_effects(
            row.status,
            status,
            has_first_response=row.first_response_at is not None,
            has_resolved=row.resolved_at is not None,
        )
        changes: dict[str, Any] = {"status": status}
        if effects.first_response:
            changes["first_response_at"] = now
        if effects.resolved:
            changes["resolved_at"] = now
        if effects.clear_resolved:
            changes["resolved_at"] = None
        if effects.closed:
            changes["closed_at"] = now
        if effects.clear_closed:
            changes["closed_at"] = None
        if effects.resumes and row.due_at is not None:
            paused = db.paused_since(self.store, row.id)
            if paused is not None:
                changes["due_at"] = self.calendar.resume(row.due_at, paused, now)
        return changes

    def _change(self, request_id: int, version: int, verb: Verb, value: Any) -> db.RequestRow:
        row = self._current(request_id)
        now = self.now()
        changes = self._changes(row, verb, value, now)
        return db.change_request(
            self.store,
            request_id,
            changes,
            expected_version=version,
            actor=self.actor,
            now=now,
            summary=f"{row.reference}: {verb}",
        )

    def _current(self, request_id: int) -> db.RequestRow:
        row = db.get_request(self.store, request_id)
        if row is None:
            raise db.NotFound(request_id)
        return row

    def set_priority(self, request_id: int, version: int, priority: int) -> db.RequestRow:
        return self._change(request_id, version, "priority", priority)

    def set_category(self, request_id: int, version: int, category: str) -> db.RequestRow:
        return self._change(request_id, version, "category", category)

    def assign(self, request_id: int, version: int, assignee: str) -> db.RequestRow:
        return self._change(request_id, version, "assignee", assignee)

    def set_status(self, request_id: int, version: int, status: str) -> db.RequestRow:
        return self._change(request_id, version, "status", status)

    def link_notice(self, request_id: int, version: int, notice_id: int | None) -> db.RequestRow:
        """Link the request to a disruption notice (None: unlink); one undoable change."""
        return self._change(request_id, version, "notice", notice_id)

    def open_notices(self) -> list[OpenNotice]:
        """The notices still open (newest first): what `i` can link a request to."""
        from store.queries import open_notices

        return open_notices(self.store)

    def notice_subject(self, notice_id: int) -> tuple[str, bool] | None:
        return db.notice_subject(self.store, notice_id)

    def escalate(self, request_id: int, version: int, ticket: str) -> db.RequestRow:
        """Waiting on DigiFinland, with DigiFinland's ticket number."""
        ticket = ticket.strip()
        if not ticket:
            raise rules.RuleError(_("Give DigiFinland's ticket number."))
        row = self._current(request_id)
        now = self.now()
        changes = self._status_changes(row, rules.WAITING_VENDOR, now)
        changes["digifinland_ticket"] = ticket
        return db.change_request(
            self.store,
            request_id,
            changes,
            expected_version=version,
            actor=self.actor,
            now=now,
            summary=f"{row.reference}: escalate",
        )

    def add_note(self, request_id: int, text: str) -> int:
        text = text.strip()
        if not text:
            raise rules.RuleError(_("The note is empty."))
        return db.add_note(self.store, request_id, text, actor=self.actor, now=self.now())

    def merge(self, source: Selected, target: Selected) -> tuple[db.RequestRow, db.RequestRow]:
        """Merge ``source`` into ``target``: its mail and history move, it closes pointing there."""
        return db.merge_requests(
            self.store,
            source.request_id,
            target.request_id,
            source_version=source.version,
            target_version=target.version,
            actor=self.actor,
            now=self.now(),
        )

    def bulk(self, selection: Sequence[Selected], verb: Verb, value: Any) -> list[db.RequestRow]:
        """One verb on many requests: one transaction, one undo step; any conflict changes nothing."""
        now = self.now()
        items = []
        for picked in selection:
            row = self._current(picked.request_id)
            items.append(db.BulkItem(picked.request_id, picked.version, self._changes(row, verb, value, now)))
        return db.bulk_change(self.store, items, actor=self.actor, now=now, summary=f"{verb} × {len(items)}")

    # --- mail out ---

    def linked_messages(self, request_id: int) -> list[db.LinkedMessage]:
        return db.linked_messages(self.store, request_id)

    def unanswered(self, request_id: int) -> list[db.LinkedMessage]:
        """Linked incoming mail with no reply after it: asked about before closing or resolving."""
        return unanswered_messages(
            db.linked_messages(self.store, request_id), db.last_reply_at(self.store, request_id)
        )

    def reply_draft(self, request_id: int) -> Draft:
        """A reply from the request to its requester (`r`): the reference in the subject, threaded
        to the latest message of the conversation, the original not quoted, canned-reply
        placeholders filled from the request."""
        from coordinator_tui.mail.compose import Draft, format_recipient, message_ids, reply_references

        row = self._current(request_id)
        contact = db.requester_contact(self.store, request_id) or db.RequesterContact("", "", "")
        messages = db.linked_messages(self.store, request_id)
        latest = conversation_latest(messages, contact.email)
        incoming = [m for m in messages if m.folder_role != SENT_ROLE]
        answered = conversation_latest(incoming, contact.email) if incoming else None
        address, name = contact.email, contact.name
        if not address and answered is not None:
            address, name = answered.from_addr, answered.from_name
        if not name and answered is not None and answered.from_addr.casefold() == address.casefold():
            name = answered.from_name
        topic = title_from_subject(latest.subject) if latest is not None else ""
        subject = reply_subject_for(row.reference, topic or row.title)
        values = {"reference": row.reference, "subject": subject}
        if name.strip():
            values["name"] = " ".join(name.split())
        return Draft(
            kind="reply",
            to=format_recipient(name, address) if address else "",
            subject=subject,
            body="",
            in_reply_to=" ".join(message_ids(latest.message_id)[:1]) if latest is not None else "",
            references=(
                reply_references(latest.references, latest.in_reply_to, latest.message_id)
                if latest is not None
                else ""
            ),
            source_message_id=answered.mail_message_id if answered is not None else None,
            placeholder_values=values,
        )

    def record_reply(self, request_id: int, message: EmailMessage) -> db.RequestRow:
        """The reply ``message`` went out (or into the demo outbox): the request's ``mail_out``
        event, and its first response time when it is the first."""
        from email.utils import getaddresses

        headers = [str(value) for name in ("To", "Cc") for value in message.get_all(name, [])]
        recipients = [addr for _name, addr in getaddresses(headers)]
        return db.record_reply(
            self.store,
            request_id,
            message_id=str(message.get("Message-ID", "")).strip(),
            recipients=", ".join(addr for addr in recipients if addr),
            subject=str(message.get("Subject", "")),
            actor=self.actor,
            now=self.now(),
        )

    def undo(self) -> db.UndoResult | None:
        """Undo this person's last action (None when there is nothing to undo)."""
        return db.undo_last(self.store, actor=self.actor, now=self.now())

    def last_action(self) -> db.ActionRow | None:
        return db.last_undoable(self.store, self.actor)


SENT_ROLE = "sent"  # the folder role of our own sent mail


def reply_subject_for(reference: str, topic: str) -> str:
    """``[OMA-2026-0042] topic``: the reference tag threads the answer back to the request."""
    return f"[{reference}] {title_from_subject(topic)}".strip()


def reply_message_id(reference: str, domain: str) -> str:
    """A Message-ID for a reply from a request, carrying its reference (``<...OMA-2026-0042@domain>``),
    so that an answer to it finds the request by In-Reply-To even before the Sent copy is synced."""
    from email.utils import make_msgid

    return make_msgid(idstring=reference, domain=domain or None)


def tag_message_id(message: EmailMessage, reference: str) -> None:
    """Give a built reply the request's Message-ID form, in the domain its Message-ID already had."""
    current = str(message.get("Message-ID", ""))
    domain = current.rsplit("@", 1)[1].rstrip(">") if "@" in current else ""
    if "Message-ID" in message:
        del message["Message-ID"]
    message["Message-ID"] = reply_message_id(reference, domain)


def conversation_latest(messages: Sequence[db.LinkedMessage], requester: str) -> db.LinkedMessage | None:
    """The newest message of the conversation with the requester: from them or ours (Sent);
    any linked message when none is (e.g. a request made from a forwarded message)."""
    if not messages:
        return None
    wanted = requester.strip().casefold()
    ours = [
        m for m in messages if m.folder_role == SENT_ROLE or (wanted and m.from_addr.casefold() == wanted)
    ]
    return max(ours or messages, key=lambda m: (m.date, m.mail_message_id))


def unanswered_messages(
    messages: Sequence[db.LinkedMessage], last_reply: datetime | None
) -> list[db.LinkedMessage]:
    """Incoming linked messages after the last reply (from the request, or a linked copy in Sent)
    that are not marked answered.

    A message counts from when it was written or linked, whichever is later: a sender's Date
    header may be wrong or old, and asking once too often beats closing over an open question.
    """
    replies = [m.date for m in messages if m.folder_role == SENT_ROLE]
    if last_reply is not None:
        replies.append(last_reply)
    latest = max(replies) if replies else None
    return [
        m
        for m in messages
        if m.folder_role != SENT_ROLE
        and not m.answered
        and (latest is None or max(m.date, m.linked_at) > latest)
    ]


def title_from_subject(subject: str) -> str:
    """A request title from a mail subject: whitespace folded, reply/forward prefixes (Re:, VS:,
    Fwd: ...) and our reference tag removed however often they repeat; the rest kept literally."""
    title = " ".join(subject.split())
    while True:
        shorter = _SUBJECT_PREFIX.sub("", title, count=1)
        if shorter == title:
            return title
        title = shorter


def mail_title(subject: str, sender: str) -> str:
    """The title of a request made from a message; a message without a subject is named by its sender."""
    return title_from_subject(subject) or _("Message from {sender}").format(sender=sender.strip() or "?")


def _fields(row: db.RequestRow) -> dict[str, Any]:
    return {"priority": row.priority, "category": row.category, "assignee": row.assignee}


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "koordinaattori"
