"""Queueing a version of a notice and sending it: one SMTP connection per batch, every recipient counted.

- :func:`queue` builds the version's email (``notices.compose``) and commits the notice, the version
  and the outbox row with its recipient list and Message-ID in one transaction, before any byte
  goes out.
- :func:`send_version` sends it: recipients in chunks of at most ``max_per_message`` (fewer when
  the server answers 452 "too many recipients"), each recipient's answer recorded; 4xx answers are
  retried with backoff, 5xx recorded; a connection that drops before the text is sent is opened
  again and the batch goes on where it stopped. Before a chunk's text is sent its recipients are
  recorded "unknown", so a crash or a dropped connection during DATA leaves them unknown, never
  silently sent again; ``coordinator_tui.outgoing.recover_interrupted`` at start-up turns the row
  "unknown" (only a row whose sender is gone: the sender holds ``outgoing.sending_lock``).
- :func:`resume_version` sends to the recipients still waiting (never to the unknown ones).
After a send that reached someone: the copy in Sent over IMAP and the Atom feed.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coordinator_tui.i18n import _, ngettext
from coordinator_tui.mail.send import SmtpError, _close_quietly, _network_error, _reply_text, connect
from coordinator_tui.notices import compose
from coordinator_tui.notices import recipients as recipients_module
from coordinator_tui.outgoing import sending_lock
from store import notices as notice_store
from store import outbox as outbox_store

if TYPE_CHECKING:
    from coordinator_tui.config import ImapSection, SmtpSection
    from store.engine import Store

log = logging.getLogger(__name__)

MAX_PER_MESSAGE = 100
ATTEMPTS = 3  # rounds for 4xx answers, and connections opened for one batch
BACKOFF_SECONDS = 5.0  # doubled after each round


@dataclass
class NoticeSendResult:
    outbox_id: int
    version_id: int
    message_id: str
    state: str = "failed"  # sent, failed, unknown (as the outbox row)
    error: str = ""
    accepted: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # 5xx: address → the server's reply
    deferred: dict[str, str] = field(default_factory=dict)  # still 4xx after every retry
    unknown: list[str] = field(default_factory=list)  # the text was on its way when the line broke
    waiting: list[str] = field(default_factory=list)  # never reached: resume later
    messages: int = 0  # messages (chunks) the server accepted
    connections: int = 0
    sent_copy_error: str = ""
    feed_error: str = ""


def queue(
    store: Store,
    notice_id: int | None,
    draft: compose.NoticeDraft,
    choice: recipients_module.Choice,
    *,
    from_address: str,
    from_name: str = "",
    to_address: str = "",
    now: datetime | None = None,
    scheduled_at: datetime | None = None,
    demo: bool = False,
    message_id: str = "",
) -> tuple[notice_store.QueuedVersion, compose.BuiltVersion]:
    """Build the next version of ``notice_id`` (None: a new notice) and commit it to the outbox.

    ``scheduled_at``: not before then (:func:`send_due` sends it); ``demo``: stored as "demo", never
    sent. Raises ``compose.NoticeRefused`` with every reason when it cannot go.
    """
    resolution = recipients_module.resolve(store, choice)
    thread = thread_state(store, notice_id)
    message_id = message_id or compose.new_message_id(from_address, demo=demo)
    built = compose.build_version(
        draft,
        thread,
        resolution.addresses,
        from_address=from_address,
        from_name=from_name,
        to_address=to_address,
        message_id=message_id,
        now=now,
        bilingual_lists=resolution.bilingual_lists,
    )
    assert draft.start_at is not None
    fields = notice_store.NoticeFields(
        kind=draft.kind,
        services=list(draft.services),
        units=list(choice.units),
        status=draft.status,
        start_at=draft.start_at,
        expected_end_at=draft.expected_end_at,
        actual_end_at=draft.actual_end_at,
        impact=draft.impact,
        instructions=draft.instructions,
        contact=draft.contact,
        text_fi=built.text_fi,
        text_sv=draft.text_sv,
    )
    queued = notice_store.queue_version(
        store,
        notice_id,
        fields,
        number=thread.number,
        thread_subject=built.thread_subject,
        version_subject=built.subject,
        body_fi=built.body_fi,
        body_sv=built.body_sv,
        changes=draft.changes,
        message_id=built.message_id,
        raw=built.message.as_bytes(),
        recipients=resolution.addresses,
        scheduled_at=scheduled_at,
        outbox_state="demo" if demo else "queued",
    )
    return queued, built


@dataclass
class Preview:
    """What the compose screen shows before sending: the exact email, or why it cannot go yet."""

    thread: compose.ThreadState
    resolution: recipients_module.Resolution
    built: compose.BuiltVersion | None  # None while there are problems
    problems: list[str] = field(default_factory=list)  # block sending
    warnings: list[str] = field(default_factory=list)  # shown; do not block


def preview(
    store: Store,
    notice_id: int | None,
    draft: compose.NoticeDraft,
    choice: recipients_module.Choice,
    *,
    from_address: str,
    from_name: str = "",
    to_address: str = "",
    now: datetime | None = None,
    message_id: str = "",
) -> Preview:
    """The next version as it would go out now, without storing anything (for the live preview).

    Give the same ``message_id`` (``compose.new_message_id``) to :func:`queue` to send exactly this.
    """
    resolution = recipients_module.resolve(store, choice)
    thread = thread_state(store, notice_id)
    return preview_from(
        thread,
        resolution,
        draft,
        from_address=from_address,
        from_name=from_name,
        to_address=to_address,
        now=now,
        message_id=message_id,
    )


def preview_from(
    thread: compose.ThreadState,
    resolution: recipients_module.Resolution,
    draft: compose.NoticeDraft,
    *,
    from_address: str,
    from_name: str = "",
    to_address: str = "",
    now: datetime | None = None,
    message_id: str = "",
    template_list: list[Any] | None = None,
) -> Preview:
    """:func:`preview` from a thread and recipients already read (no IO: the compose screen calls
    it on every key press)."""
    warnings: list[str] = []
    if resolution.invalid:
        shown = ", ".join(f"{name} <{address}>" for name, address in resolution.invalid)
        warnings.append(_("These addresses cannot be sent to and are left out: {list}.").format(list=shown))
    if resolution.unknown_lists:
        warnings.append(
            _("These lists are not in the directory: {lists}.").format(
                lists=", ".join(resolution.unknown_lists)
            )
        )
    try:
        built = compose.build_version(
            draft,
            thread,
            resolution.addresses,
            from_address=from_address,
            from_name=from_name,
            to_address=to_address,
            message_id=message_id,
            now=now,
            bilingual_lists=resolution.bilingual_lists,
            template_list=template_list,
        )
    except compose.NoticeRefused as refused:
        return Preview(thread, resolution, None, refused.problems, warnings)
    return Preview(thread, resolution, built, [], [*warnings, *built.warnings])


def confirmation(result: Preview, chosen: str = "") -> str:
    """The question before sending: how many people, which lists, which languages.

    ``chosen`` names what was picked (lists, units, everyone) when the caller knows more than the
    lists' names; by default the lists."""
    assert result.built is not None
    languages = _("Finnish and Swedish") if result.built.body_sv else _("Finnish only")
    chosen = chosen or ", ".join(result.resolution.lists) or _("the chosen units")
    return ngettext(
        "Send version {number} to {count} person ({lists}), in {languages}?",
        "Send version {number} to {count} people ({lists}), in {languages}?",
        result.resolution.count,
    ).format(number=result.thread.number, count=result.resolution.count, lists=chosen, languages=languages)


def thread_state(store: Store, notice_id: int | None) -> compose.ThreadState:
    if notice_id is None:
        return compose.ThreadState()
    notice = notice_store.get_notice(store, notice_id)
    existing = notice_store.versions(store, notice_id)
    return compose.ThreadState(
        number=len(existing) + 1,
        subject=notice.subject,
        root_message_id=notice.thread_message_id,
        previous_status=existing[-1].status if existing else None,
    )


# --- sending -------------------------------------------------------------------------------------


def _after_data(outbox_id: int, chunk: Sequence[str]) -> None:
    """The moment between the server's "250 queued" and the store's record (a seam for the crash test)."""


def _status(code: int) -> str:
    return "accepted" if 200 <= code < 300 else "retry" if 400 <= code < 500 else "refused"


class _Dropped(Exception):
    """The connection broke; ``text_sent`` says whether a chunk's text was on its way."""

    def __init__(self, error: BaseException, text_sent: bool, dealt: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.text_sent = text_sent
        self.dealt = dealt


def send_version(
    store: Store,
    version_id: int,
    section: SmtpSection,
    password: str,
    *,
    max_per_message: int = MAX_PER_MESSAGE,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    imap: ImapSection | None = None,
    imap_password: str = "",
    atom_path: Path | None = None,
    timeout: float | None = None,  # None: [smtp] timeout
    resume: bool = False,
    after_unknown: bool = False,
) -> NoticeSendResult:
    """Send the queued version ``version_id``; the outbox row and its deliveries record everything.

    Raises ``store.outbox.OutboxStateError`` when the row is not queued (with ``resume``: when it has
    nobody waiting), so a version is never sent twice.
    """
    version = notice_store.version(store, version_id)
    if version.outbox_id is None:
        raise LookupError(f"notice version {version_id} has no outbox row")
    outbox_id = version.outbox_id
    # Held from before the row turns "sending" until it has ended: a recovery elsewhere leaves it be.
    with sending_lock(store, outbox_id):
        if resume:
            row = outbox_store.resume_sending(store, outbox_id, from_unknown=after_unknown)
            todo = outbox_store.waiting_recipients(store, outbox_id)
        else:
            row = outbox_store.start_sending(store, outbox_id)  # committed before the first byte
            todo = list(row.recipients)
        result = NoticeSendResult(outbox_id, version_id, row.message_id)
        sender = section.from_address or section.username
        where = f"{section.host}:{section.effective_port()}"
        client: smtplib.SMTP | None = None
        failures = 0
        rounds = 1
        later: list[str] = []
        last_error = ""
        try:
            while todo or later:
                if not todo:
                    if rounds >= attempts:
                        break
                    sleep(backoff * 2 ** (rounds - 1))
                    rounds += 1
                    todo, later = later, []
                    for address in todo:
                        result.deferred.pop(address, None)
                if client is None:
                    if failures >= attempts:
                        break
                    try:
                        client = connect(section, password, timeout=timeout)
                        result.connections += 1
                    except SmtpError as error:
                        failures += 1
                        last_error = str(error)
                        if failures < attempts:
                            sleep(backoff * 2 ** (failures - 1))
                        continue
                chunk = todo[:max_per_message]
                try:
                    done = _send_chunk(store, client, outbox_id, sender, row.raw, chunk, result, later)
                except _Dropped as dropped:
                    failures += 1
                    last_error = str(_network_error(where, dropped.error))
                    _close_quietly(client)
                    client = None
                    if dropped.text_sent:
                        todo = todo[dropped.dealt :]
                    answered = {*result.refused, *result.deferred, *result.unknown}
                    todo = [address for address in todo if address not in answered]
                    continue
                todo = todo[done:]
            result.waiting = list(todo)  # never reached: the connection could not be opened again
            return _finish(store, result, last_error, imap, imap_password, atom_path)
        except Exception:
            # Unforeseen: the row must not stay "sending" in a running app; unknown is the safe word.
            _end(store, outbox_id, "unknown", _("Sending stopped unexpectedly; delivery is unknown."))
            raise
        finally:
            _close_quietly(client)


def _send_chunk(
    store: Store,
    client: smtplib.SMTP,
    outbox_id: int,
    sender: str,
    raw: bytes,
    chunk: list[str],
    result: NoticeSendResult,
    later: list[str],
) -> int:
    """One message to ``chunk`` (or its first part, if the server caps recipients); returns how many
    of ``chunk`` were dealt with. Raises :class:`_Dropped` when the connection breaks."""
    text_sent = False
    taken: list[str] = []
    dealt = len(chunk)
    try:
        code, reply = client.mail(sender, [] if raw.isascii() else ["BODY=8BITMIME"])
        if code != 250:
            text = _reply_text(code, reply)
            outbox_store.record_deliveries(store, outbox_id, {a: (_status(code), text) for a in chunk})
            for address in chunk:
                if 400 <= code < 500:
                    result.deferred[address] = text
                    later.append(address)
                else:
                    result.refused[address] = text
            client.rset()
            return len(chunk)
        answers: dict[str, tuple[str, str]] = {}
        for index, address in enumerate(chunk):
            code, reply = client.rcpt(address)
            text = _reply_text(code, reply)
            if 200 <= code < 300:
                taken.append(address)
            elif code == 452 and taken:  # "too many recipients": the rest go in the next message
                dealt = index
                break
            elif 400 <= code < 500:
                answers[address] = ("retry", text)
                result.deferred[address] = text
                later.append(address)
            else:
                answers[address] = ("refused", text)
                result.refused[address] = text
        if not taken:
            outbox_store.record_deliveries(store, outbox_id, answers)
            client.rset()
            return dealt
        # Recorded before the text goes: a crash from here on leaves these "unknown", never resent.
        answers.update({address: ("unknown", "") for address in taken})
        outbox_store.record_deliveries(store, outbox_id, answers)
        text_sent = True
        data_reply: bytes | str
        try:
            code, data_reply = client.data(raw)
        except smtplib.SMTPDataError as error:  # DATA itself refused: no text was sent
            code, data_reply = error.smtp_code, error.smtp_error
            client.rset()
        text = _reply_text(code, data_reply)
        if code == 250:
            _after_data(outbox_id, taken)
            outbox_store.record_deliveries(store, outbox_id, {a: ("accepted", text) for a in taken})
            result.accepted.extend(taken)
            result.messages += 1
        elif 400 <= code < 500:
            outbox_store.record_deliveries(store, outbox_id, {a: ("retry", text) for a in taken})
            for address in taken:
                result.deferred[address] = text
                later.append(address)
        else:
            outbox_store.record_deliveries(store, outbox_id, {a: ("refused", text) for a in taken})
            result.refused.update({address: text for address in taken})
        return dealt
    except (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException) as error:
        if text_sent:
            result.unknown.extend(taken)
        else:
            # Nothing of this message reached anyone: its recipients wait for the next connection.
            outbox_store.record_deliveries(store, outbox_id, {a: ("pending", "") for a in taken})
        raise _Dropped(error, text_sent, dealt) from error


def _end(store: Store, outbox_id: int, state: str, error: str) -> None:
    with contextlib.suppress(outbox_store.OutboxStateError):  # already ended (e.g. by _finish)
        outbox_store.finish_sending(store, outbox_id, state, error)


def _list(addresses: dict[str, str] | list[str]) -> str:
    if isinstance(addresses, dict):
        return "; ".join(f"{address} ({reply})" for address, reply in addresses.items())
    return ", ".join(addresses)


def _finish(
    store: Store,
    result: NoticeSendResult,
    last_error: str,
    imap: ImapSection | None,
    imap_password: str,
    atom_path: Path | None,
) -> NoticeSendResult:
    notes: list[str] = []
    unknown = [a for a in dict.fromkeys(result.unknown) if a not in result.accepted]
    result.unknown = unknown
    if unknown:
        notes.append(
            _(
                "The connection broke while the text was on its way to {count} recipients; they may or may "
                "not have it, so they are not sent to again: {list}."
            ).format(count=len(unknown), list=_list(unknown))
        )
    if result.refused:
        notes.append(_("Refused by the server: {list}.").format(list=_list(result.refused)))
    if result.deferred:
        notes.append(
            _("Put off by the server after every retry: {list}.").format(list=_list(result.deferred))
        )
    if result.waiting:
        notes.append(
            _("{count} recipients were not reached ({error}); resume the send to reach them.").format(
                count=len(result.waiting), error=last_error or _("no connection")
            )
        )
    state = "unknown" if unknown else "sent" if result.accepted else "failed"
    if state == "failed" and last_error and not notes:
        notes.append(last_error)
    result.state, result.error = state, " ".join(notes)
    _end(store, result.outbox_id, state, result.error)
    log.info(
        "notice outbox %s: %s (%d accepted, %d refused, %d put off, %d unknown, %d waiting, %d messages)",
        result.outbox_id,
        state,
        len(result.accepted),
        len(result.refused),
        len(result.deferred),
        len(unknown),
        len(result.waiting),
        result.messages,
    )
    if result.accepted:
        version = notice_store.version(store, result.version_id)
        first_time = version.sent_at is None
        notice_store.mark_version_sent(store, result.version_id)
        if first_time and imap is not None:
            from coordinator_tui.mail.send import file_sent_copy

            raw = outbox_store.outgoing_message(store, result.outbox_id).raw
            result.sent_copy_error = file_sent_copy(store, imap, imap_password, raw)
            if result.sent_copy_error:
                outbox_store.note_outbox_error(store, result.outbox_id, result.sent_copy_error)
        if atom_path is not None:
            from coordinator_tui.notices.atom import write_feed

            result.feed_error = write_feed(store, atom_path)
    return result


def resume_version(
    store: Store, version_id: int, section: SmtpSection, password: str, **options: Any
) -> NoticeSendResult:
    """Send to the recipients of ``version_id`` still waiting after an earlier attempt.

    ``after_unknown=True`` is the coordinator's decision for a version whose delivery is unknown:
    the recipients never offered get it; those whose delivery is unknown still do not.
    """
    return send_version(store, version_id, section, password, resume=True, **options)


def send_due(
    store: Store, section: SmtpSection, password: str, *, now: datetime | None = None, **options: Any
) -> list[NoticeSendResult]:
    """Send every queued notice version whose time has come (``coordinator-tui outbox send-due``, the app).

    A version another sender has just taken is skipped, never sent twice.
    """
    results = []
    for version_id in notice_store.due_versions(store, now or datetime.now(UTC)):
        try:
            results.append(send_version(store, version_id, section, password, **options))
        except outbox_store.OutboxStateError:
            continue
    return results
