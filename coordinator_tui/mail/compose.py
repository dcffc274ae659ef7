"""Drafts of new mail, replies and forwards, and the message built from a draft.

Rules kept here:
- a reply never quotes the original (customer feedback may carry health data); it threads by
  In-Reply-To and References instead;
- "Re: " is added once, whatever reply prefixes (Re, RE, VS, Sv, AW, ...) the subject had;
- reply-all goes to the sender, To and Cc, less our own addresses and duplicates;
- the text about to leave is checked for a henkilötunnus (coordinator_tui.hetu) before it is queued.
No Textual here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from typing import TYPE_CHECKING, Literal

from coordinator_tui.hetu import HetuMatch, find_hetus
from coordinator_tui.i18n import _
from coordinator_tui.textclean import clean_line, clean_text
from coordinator_tui.timefmt import fi_datetime

if TYPE_CHECKING:
    from coordinator_tui.config import Config
    from store.engine import Store

DraftKind = Literal["new", "reply", "reply_all", "forward"]

# The outbox's ``kind`` for each draft kind.
OUTBOX_KIND = {"new": "mail", "reply": "reply", "reply_all": "reply", "forward": "forward"}

# Reply prefixes in the languages a Finnish mailbox meets: Re, VS (fi), Sv (sv), AW (de), Antw (nl),
# Odp (pl), with Outlook's "RE[2]:" counters and full-width colons.
_REPLY_PREFIX = re.compile(r"^\s*(?:re|vs|sv|aw|antw|odp|ynt)(?:\s*\[\d+\]|\s*\(\d+\))?\s*[:：]\s*", re.I)
_FORWARD_PREFIX = re.compile(r"^\s*(?:fwd?|vl|vb|wg|tr|doorst)\s*[:：]\s*", re.I)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# References kept in a reply: the thread's root and the newest ones (RFC 5322 3.6.4 allows trimming;
# a thread of hundreds of replies would otherwise make a header of tens of kilobytes).
REFERENCES_KEPT = 20
# A mailbox address as accepted in To/Cc: something@domain, no spaces or brackets.
_ADDR_SPEC = re.compile(r"^[^\s@<>,;:\"()\[\]]+@[^\s@<>,;:\"()\[\]]+$")


@dataclass
class Draft:
    """What the compose screen edits. ``to`` and ``cc`` are comma-separated address lists."""

    kind: DraftKind = "new"
    to: str = ""
    cc: str = ""
    subject: str = ""
    body: str = ""
    in_reply_to: str = ""
    references: str = ""  # space-separated Message-IDs
    source_message_id: int | None = None  # the store's MailMessage.id replied to or forwarded
    # Forward: the original had attachments; they travel only inside the attached original.
    source_has_attachments: bool = False
    # Values for canned-reply placeholders, e.g. {"name": "Päivi", "reference": "OMA-2026-0042"}.
    placeholder_values: dict[str, str] = field(default_factory=dict)


class DraftError(ValueError):
    """The draft cannot be sent as it is; ``str()`` tells the user what to change."""


# --- subjects and threading -------------------------------------------------------------------


def reply_subject(subject: str) -> str:
    """``Re: `` once, in front of the subject with every earlier reply prefix removed."""
    rest = clean_line(subject, limit=998)
    while True:
        stripped = _REPLY_PREFIX.sub("", rest, count=1)
        if stripped == rest:
            break
        rest = stripped
    return f"Re: {rest.strip()}".rstrip()


def forward_subject(subject: str) -> str:
    """``Fwd: `` once, replacing an earlier forward prefix (Fwd, Fw, VL, VB, WG, ...)."""
    rest = clean_line(subject, limit=998)
    while True:
        stripped = _FORWARD_PREFIX.sub("", rest, count=1)
        if stripped == rest:
            break
        rest = stripped
    return f"Fwd: {rest.strip()}".rstrip()


def message_ids(text: str) -> list[str]:
    """The ``<id>`` tokens of a Message-ID, In-Reply-To or References value, in order."""
    return _MESSAGE_ID.findall(text or "")


def reply_references(references: str, in_reply_to: str, message_id: str) -> str:
    """The References of a reply: the original's References (or In-Reply-To) plus its Message-ID.

    Duplicates go; a long chain keeps its root and the newest ids, REFERENCES_KEPT in all.
    """
    chain: list[str] = []
    seen: set[str] = set()
    for item in [*(message_ids(references) or message_ids(in_reply_to)), *message_ids(message_id)]:
        if item not in seen:
            seen.add(item)
            chain.append(item)
    if len(chain) > REFERENCES_KEPT:
        chain = [chain[0], *chain[-(REFERENCES_KEPT - 1) :]]
    return " ".join(chain)


# --- addresses --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    name: str
    addr: str

    @property
    def display(self) -> str:
        return format_recipient(self.name, self.addr)


def format_recipient(name: str, addr: str) -> str:
    """``Name <addr>`` for the To/Cc fields, the name quoted when it has a comma or the like."""
    name = clean_line(name, limit=200).strip()
    if not name or name.casefold() == addr.casefold():
        return addr
    if re.search(r'[,;:<>@"()\[\]\\.]', name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{addr}>"


def parse_recipients(text: str) -> list[Recipient]:
    """The addresses of a To/Cc field; raises :class:`DraftError` naming an entry that is not one."""
    recipients: list[Recipient] = []
    for entry in _split_entries(text):
        name, addr = parseaddr(entry)
        name, addr = name.strip(), addr.strip()
        if not _ADDR_SPEC.match(addr) or (not name and addr != entry.strip().strip("<>").strip()):
            shown = clean_line(entry.strip(), limit=80)
            raise DraftError(_("{entry!r} is not an e-mail address.").format(entry=shown))
        recipients.append(Recipient(name, addr))
    return recipients


def _split_entries(text: str) -> list[str]:
    """Split an address field on commas and semicolons that are not inside quotes or <...>."""
    entries: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    angle = 0
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            angle += 1
        elif char == ">" and not quoted and angle:
            angle -= 1
        elif char in ",;" and not quoted and not angle:
            entries.append("".join(current))
            current = []
            continue
        current.append(char)
    entries.append("".join(current))
    return [entry for entry in entries if entry.strip()]


def unique_recipients(*groups: Iterable[Recipient], exclude: Iterable[str] = ()) -> list[Recipient]:
    """The recipients of all groups in order, each address once, none of ``exclude``."""
    seen = {addr.casefold() for addr in exclude if addr}
    result: list[Recipient] = []
    for group in groups:
        for recipient in group:
            key = recipient.addr.casefold()
            if key and key not in seen:
                seen.add(key)
                result.append(recipient)
    return result


def envelope_recipients(draft: Draft) -> list[str]:
    """Every address the message goes to (To, then Cc), each once."""
    recipients = unique_recipients(parse_recipients(draft.to), parse_recipients(draft.cc))
    return [recipient.addr for recipient in recipients]


def _header_value(headers: str, name: str) -> str | None:
    """One header of a stored header block, unfolded; None when absent or unreadable."""
    if not headers:
        return None
    try:
        from email.parser import HeaderParser
        from email.policy import default

        parsed = HeaderParser(policy=default).parsestr(headers)
        value = parsed.get(name)
        return None if value is None else str(value)
    except Exception:  # a mangled header block falls back to the stored columns
        return None


def _addresses(value: str) -> list[Recipient]:
    """Addresses of a stored or received header value; entries without an address are dropped."""
    result = []
    for name, addr in getaddresses([value]):
        if _ADDR_SPEC.match(addr.strip()):
            result.append(Recipient(clean_line(name, limit=200), addr.strip()))
    return result


def own_addresses(config: Config, *, demo: bool = False) -> list[str]:
    """Our own addresses, left out of reply-all: [smtp] from_address and username, [imap] username."""
    candidates = [config.smtp.from_address, config.smtp.username, config.imap.username]
    if demo:
        from coordinator_tui.demo.data import SHARED_MAILBOX

        candidates.append(SHARED_MAILBOX)
    return list(dict.fromkeys(address for address in candidates if address and "@" in address))


# --- drafts from stored messages --------------------------------------------------------------


@dataclass(frozen=True)
class _Original:
    id: int
    message_id: str
    in_reply_to: str
    references: str
    subject: str
    from_name: str
    from_addr: str
    to_addrs: str
    cc_addrs: str
    date: datetime
    body_text: str
    headers: str
    has_attachments: bool


def _original(store: Store, message_id: int) -> _Original:
    from store.models import MailMessage

    with store.session() as session:
        row = session.get(MailMessage, message_id)
        if row is None:
            raise LookupError(f"no message {message_id} in the store")
        return _Original(
            id=message_id,
            message_id=row.message_id,
            in_reply_to=row.in_reply_to,
            references=row.references,
            subject=row.subject,
            from_name=row.from_name,
            from_addr=row.from_addr,
            to_addrs=row.to_addrs,
            cc_addrs=row.cc_addrs,
            date=row.date,
            body_text=row.body_text,
            headers=row.headers or "",
            has_attachments=row.has_attachments,
        )


_REFERENCE_TAG = re.compile(r"\b([A-ZÅÄÖ]{2,6}-\d{4}-\d{2,6})\b")


def placeholder_values_for(original: _Original, recipient: Recipient | None) -> dict[str, str]:
    values = {"subject": clean_line(original.subject)}
    name = recipient.name if recipient is not None else original.from_name
    if name:
        values["name"] = clean_line(name, limit=200)
    tag = _REFERENCE_TAG.search(original.subject)
    if tag:
        values["reference"] = tag.group(1)
    return values


def reply_draft(store: Store, message_id: int, *, reply_all: bool, own_addresses: Sequence[str]) -> Draft:
    """A reply to the stored message ``message_id``: threaded, addressed, and not quoting it."""
    original = _original(store, message_id)
    own = [addr for addr in own_addresses if addr]
    reply_to = _header_value(original.headers, "Reply-To")
    senders = _addresses(reply_to) if reply_to else []
    if not senders:
        from_header = _header_value(original.headers, "From")
        senders = _addresses(from_header) if from_header else []
    if not senders and original.from_addr:
        senders = [Recipient(clean_line(original.from_name, limit=200), original.from_addr)]
    to = unique_recipients(senders, exclude=own)
    cc: list[Recipient] = []
    if reply_all:
        original_to = _header_value(original.headers, "To")
        original_cc = _header_value(original.headers, "Cc")
        to_list = _addresses(original_to if original_to is not None else original.to_addrs)
        cc_list = _addresses(original_cc if original_cc is not None else original.cc_addrs)
        cc = unique_recipients(to_list, cc_list, exclude=[*own, *(r.addr for r in to)])
        if not to and cc:  # our own message replied to all: its recipients become the To
            to, cc = cc, []
    return Draft(
        kind="reply_all" if reply_all else "reply",
        to=", ".join(recipient.display for recipient in to),
        cc=", ".join(recipient.display for recipient in cc),
        subject=reply_subject(original.subject),
        body="",
        in_reply_to=" ".join(message_ids(original.message_id)[:1]),
        references=reply_references(original.references, original.in_reply_to, original.message_id),
        source_message_id=message_id,
        placeholder_values=placeholder_values_for(original, to[0] if to else None),
    )


def forward_draft(store: Store, message_id: int) -> Draft:
    """A forward of ``message_id``: a short header block and the original text, no recipients yet."""
    original = _original(store, message_id)
    sender = format_recipient(original.from_name, original.from_addr) or original.from_name
    lines = [
        "",
        "",
        _("---------- Forwarded message ----------"),
        _("From: {sender}").format(sender=clean_line(sender)),
        _("Date: {date}").format(date=fi_datetime(original.date)),
        _("Subject: {subject}").format(subject=clean_line(original.subject)),
    ]
    if original.to_addrs:
        lines.append(_("To: {recipients}").format(recipients=clean_line(original.to_addrs)))
    if original.cc_addrs:
        lines.append(_("Cc: {recipients}").format(recipients=clean_line(original.cc_addrs)))
    lines += ["", clean_text(original.body_text).rstrip()]
    return Draft(
        kind="forward",
        subject=forward_subject(original.subject),
        body="\n".join(lines) + "\n",
        source_message_id=message_id,
        source_has_attachments=original.has_attachments,
        placeholder_values=placeholder_values_for(original, None),
    )


# --- checks and the message -------------------------------------------------------------------


def hetu_in_draft(draft: Draft) -> list[HetuMatch]:
    """Every valid henkilötunnus in the text that would leave: subject, body and the address fields."""
    matches: list[HetuMatch] = []
    for text in (draft.subject, draft.body, draft.to, draft.cc):
        matches.extend(find_hetus(text))
    return matches


def hetu_block_message(matches: Sequence[HetuMatch]) -> str:
    """The user's explanation of why nothing was sent, with the codes masked."""
    masked = ", ".join(dict.fromkeys(match.masked for match in matches))
    return _(
        "The message contains a personal identity code (henkilötunnus): {codes}. Nothing was sent. "
        "Remove the code: identity codes are never sent by e-mail."
    ).format(codes=masked)


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().strip(">") if "@" in address else ""


def build_message(
    draft: Draft,
    *,
    from_address: str,
    from_name: str = "",
    now: datetime | None = None,
    message_id_domain: str | None = None,
    attachment: bytes | None = None,
) -> EmailMessage:
    """The message to send for ``draft`` (validated: raises :class:`DraftError` with the reason).

    UTF-8 text, quoted-printable; Date in local time; a Message-ID in the sender's domain.
    ``attachment`` is the raw original of a forward, attached as message/rfc822.
    """
    to = parse_recipients(draft.to)
    cc = parse_recipients(draft.cc)
    if not to and not cc:
        raise DraftError(_("Add at least one recipient (To)."))
    if not _ADDR_SPEC.match(from_address or ""):
        raise DraftError(_("No sender address: set [smtp] from_address in the config file."))
    subject = clean_line(draft.subject, limit=998).strip()
    if not subject:
        raise DraftError(_("Write a subject."))
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(display_name=from_name, addr_spec=from_address)
    try:
        if to:
            message["To"] = [Address(display_name=r.name, addr_spec=r.addr) for r in to]
        if cc:
            message["Cc"] = [Address(display_name=r.name, addr_spec=r.addr) for r in cc]
    except (ValueError, IndexError) as error:
        raise DraftError(_("An address cannot be used: {error}").format(error=error)) from error
    message["Subject"] = subject
    moment = (now or datetime.now(UTC)).astimezone()  # the machine's local time, as mail clients do
    message["Date"] = format_datetime(moment)
    message["Message-ID"] = make_msgid(domain=message_id_domain or domain_of(from_address))
    if draft.in_reply_to:
        message["In-Reply-To"] = draft.in_reply_to
    if draft.references:
        message["References"] = draft.references
    body = draft.body.replace("\r\n", "\n")
    if not body.endswith("\n"):
        body += "\n"
    message.set_content(body, charset="utf-8", cte="quoted-printable")
    if attachment is not None:
        _attach_original(message, attachment)
    return message


def _attach_original(message: EmailMessage, raw: bytes) -> None:
    """The forwarded original, whole, as message/rfc822 (its own attachments travel inside it)."""
    from email import message_from_bytes
    from email.policy import default

    original = message_from_bytes(raw, policy=default)
    # message/rfc822 may only be 7bit or 8bit (RFC 2046 5.2.1); 8bit needs the server's 8BITMIME.
    cte = "7bit" if raw.isascii() else "8bit"
    message.add_attachment(original, cte=cte, disposition="attachment", filename="original.eml")


def hetu_in_original(raw: bytes) -> list[HetuMatch]:
    """Codes in a forwarded original's headers, text parts and file names (what can be read of it).

    The attached original leaves as it is, so a code there would go even when the user has removed
    it from the text of the forward; binary attachments (PDF, images) cannot be read here.
    """
    from email import message_from_bytes
    from email.policy import default

    texts: list[str] = []
    try:
        message = message_from_bytes(raw, policy=default)
        for part in message.walk():
            for _name, value in part.items():
                texts.append(str(value))
            filename = part.get_filename()
            if filename:
                texts.append(filename)
            if part.get_content_maintype() == "text":
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    charset = part.get_content_charset() or "utf-8"
                    try:
                        texts.append(payload.decode(charset, "replace"))
                    except LookupError:
                        texts.append(payload.decode("utf-8", "replace"))
    except Exception:  # an unparseable original is scanned as bytes below
        texts = []
    texts.append(raw.decode("utf-8", "replace"))
    matches: list[HetuMatch] = []
    for text in texts:
        matches.extend(find_hetus(text))
    return matches
