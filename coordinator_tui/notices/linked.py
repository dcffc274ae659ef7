"""Requests linked to a notice ("is Omaolo down?"): when the notice is resolved, one reply to each
requester with the resolved text, and the request closed.

Each reply goes through the outbox like any mail (``coordinator_tui.outgoing``), threaded to the
request's newest linked message and tagged with the request's reference, so the requester's
answer lands on the request again; a copy goes to Sent when IMAP is set up. A note and the
status change go through ``RequestService``; a request whose reply did not go stays open.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING

from coordinator_tui.hetu import find_hetus
from coordinator_tui.i18n import _
from coordinator_tui.mail.compose import domain_of, reply_references, reply_subject
from coordinator_tui.notices.recipients import valid_address
from coordinator_tui.requests import rules
from coordinator_tui.textclean import clean_line
from coordinator_tui.timefmt import local
from store import notices as notice_store

if TYPE_CHECKING:
    from coordinator_tui.config import Config
    from coordinator_tui.requests.service import RequestService
    from store.engine import Store

log = logging.getLogger(__name__)
CLOSED_STATUS = rules.CLOSED


@dataclass
class LinkedOutcome:
    replied: list[str] = field(default_factory=list)  # references answered
    closed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # per request, in words

    def summary(self) -> str:
        text = _("Replied to {replied} and closed {closed} linked request(s).").format(
            replied=len(self.replied), closed=len(self.closed)
        )
        return " ".join([text, *self.problems])


def reply_body(reference: str, resolved_text: str) -> str:
    """The reply: one line on why it comes, then the resolved notice as it was sent."""
    return (
        "Hei,\n\n"
        f"palvelupyyntönne {reference} koski Omaolon häiriötä, joka on nyt korjattu. Alla korjaustiedote.\n\n"
        f"{resolved_text.strip()}\n\n"
        "Suljemme palvelupyynnön. Jos asia ei ratkennut, vastatkaa tähän viestiin.\n"
    )


def reply_message(
    request: notice_store.LinkedRequest,
    resolved_text: str,
    *,
    from_address: str,
    from_name: str = "",
    now: datetime,
    message_id_domain: str | None = None,
) -> EmailMessage:
    """The reply to one linked request (raises ValueError when it has no usable address)."""
    address = request.requester_email.strip()
    if not valid_address(address):
        raise ValueError(
            _("{reference}: no requester address to reply to.").format(reference=request.reference)
        )
    base = request.last_subject or request.title
    subject = reply_subject(base) if request.last_subject else clean_line(base, limit=900)
    if request.reference not in subject:
        rest = subject[4:] if subject.startswith("Re: ") else subject
        subject = ("Re: " if rest is not subject else "") + f"[{request.reference}] {rest}"
    if find_hetus(subject):  # the subject came from a stranger's mail; the resolved text is checked apart
        raise ValueError(
            _(
                "{reference}: the request's subject contains a personal identity code (henkilötunnus), "
                "so no reply was sent; the request stays open. Reply to it by hand without the code."
            ).format(reference=request.reference)
        )
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(display_name=from_name, addr_spec=from_address)
    message["To"] = Address(addr_spec=address)
    message["Subject"] = subject
    message["Date"] = format_datetime(local(now))
    message["Message-ID"] = make_msgid(domain=message_id_domain or domain_of(from_address))
    if request.last_message_id:
        message["In-Reply-To"] = request.last_message_id
        message["References"] = reply_references(request.last_references, "", request.last_message_id)
    message.set_content(reply_body(request.reference, resolved_text), charset="utf-8", cte="quoted-printable")
    return message


def reply_and_close(
    store: Store,
    notice_id: int,
    resolved_text: str,
    service: RequestService,
    config: Config,
    *,
    smtp_password: str,
    demo: bool,
    now: datetime,
    imap_password: str = "",
) -> LinkedOutcome:
    """Reply to every open request linked to ``notice_id`` and close it; each one on its own, so one
    failure leaves the others done. A reply that did not go leaves its request open."""
    from coordinator_tui.outgoing import DEMO_DOMAIN, queue_message
    from store.requests import Conflict

    outcome = LinkedOutcome()
    if find_hetus(resolved_text):
        outcome.problems.append(
            _("The resolved text contains a personal identity code (henkilötunnus); no replies were sent.")
        )
        return outcome
    from_address = config.smtp.from_address
    if demo and not from_address:
        from coordinator_tui.demo.data import SHARED_MAILBOX

        from_address = SHARED_MAILBOX
    for request in notice_store.linked_requests(store, notice_id):
        try:
            message = reply_message(
                request,
                resolved_text,
                from_address=from_address,
                from_name=config.smtp.from_name,
                now=now,
                message_id_domain=DEMO_DOMAIN if demo else None,
            )
        except ValueError as error:
            outcome.problems.append(str(error))
            continue
        outbox_id = queue_message(store, message, [request.requester_email.strip()], kind="reply", demo=demo)
        if not demo:
            from coordinator_tui.mail.send import send_outbox

            result = send_outbox(store, outbox_id, config.smtp, smtp_password)
            if result.state != "sent":
                outcome.problems.append(
                    _("{reference}: the reply was not sent ({error}); the request stays open.").format(
                        reference=request.reference, error=result.error or result.state
                    )
                )
                continue
            if imap_password and config.imap.host:  # colleagues see the reply in the shared Sent
                from coordinator_tui.mail.send import file_sent_copy
                from store.outbox import note_outbox_error

                copy_error = file_sent_copy(store, config.imap, imap_password, message.as_bytes())
                if copy_error:
                    note_outbox_error(store, outbox_id, copy_error)
        outcome.replied.append(request.reference)
        try:
            service.add_note(
                request.id,
                _("Replied with the resolved notice and closed: {subject}").format(
                    subject=message["Subject"]
                ),
            )
            current = service.get(request.id)
            version = current.version if current is not None else request.version
            service.set_status(request.id, version, CLOSED_STATUS)
        except (Conflict, rules.RuleError) as error:
            outcome.problems.append(
                _("{reference}: replied, but not closed: {error}").format(
                    reference=request.reference, error=error
                )
            )
            continue
        outcome.closed.append(request.reference)
    log.info(
        "linked requests of notice %s: %d replied, %d closed",
        notice_id,
        len(outcome.replied),
        len(outcome.closed),
    )
    return outcome
