"""The email of each version of a notice, and the guards that refuse to queue a bad one.

Rules kept here:
- the thread's subject is fixed at the first version: ``HÄIRIÖTIEDOTE: Omaolo – <services> –
  <start>``; later versions prefix it with ``PÄIVITYS:`` or ``KORJATTU:`` (``model.subject_prefix``);
- the body's first line is the stage; an update says what changed since the last version; a
  resolved version states how long it lasted; the Swedish part follows the Finnish when given;
- recipients go in the envelope only (Bcc): the To header is the sender or a list address;
- ``Auto-Submitted: auto-generated``, a Date, UTF-8 quoted-printable text; the first version's
  Message-ID is the thread's, and every later one has In-Reply-To and References to it;
- refused, with the reasons in words: a henkilötunnus anywhere, no recipients, an end before the
  start, placeholders left open, no Finnish text, a stage that does not follow the last one.
The words of the email are Finnish and Swedish whatever the UI language; errors follow the UI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from coordinator_tui.hetu import find_hetus
from coordinator_tui.i18n import _
from coordinator_tui.notices import model, templates
from coordinator_tui.textclean import clean_line
from coordinator_tui.timefmt import fi_date, local

SWEDISH_DIVIDER = "---- På svenska ----"
MAX_SUBJECT_SERVICES = 3


@dataclass
class NoticeDraft:
    """What the compose screen edits for one version. Times are aware datetimes (any zone)."""

    kind: str = "häiriö"
    services: list[str] = field(default_factory=list)
    status: str = "tutkitaan"
    start_at: datetime | None = None
    expected_end_at: datetime | None = None
    actual_end_at: datetime | None = None
    impact: str = ""
    instructions: str = ""
    contact: str = ""
    text_fi: str = ""  # the Finnish body; "" = filled in from the template
    text_sv: str = ""  # the Swedish body; "" = no Swedish part
    changes: str = ""  # what changed since the last version, in Finnish (updates only)
    changes_sv: str = ""  # the same in Swedish, optional


@dataclass(frozen=True)
class ThreadState:
    """Where the thread stands before this version: nothing yet (``number`` 1) or its first version."""

    number: int = 1  # the number the new version gets
    subject: str = ""  # the thread's fixed subject ("" before the first version)
    root_message_id: str = ""  # the first version's Message-ID ("" before it)
    previous_status: str | None = None


class NoticeRefused(ValueError):
    """The version cannot be sent as it is; ``problems`` are the reasons, in words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


@dataclass
class BuiltVersion:
    message: EmailMessage
    subject: str  # this version's subject (with its prefix)
    thread_subject: str  # the thread's fixed subject
    body_fi: str
    body_sv: str
    message_id: str
    text_fi: str  # the Finnish text as written or filled in from the template (no stage line)
    warnings: list[str] = field(default_factory=list)  # shown, but do not block sending


# --- words and times as the email writes them (Finnish or Swedish, never the UI's language) --------


def mail_time(moment: datetime, language: str = "fi") -> str:
    """``23.11.2026 klo 10.15`` (Swedish ``23.11.2026 kl. 10.15``), in Helsinki time."""
    when = local(moment)
    word = "kl." if language == "sv" else "klo"
    return f"{fi_date(when.date())} {word} {when.hour}.{when.minute:02d}"


def mail_duration(span: timedelta, language: str = "fi") -> str:
    """``2 h 15 min``, ``1 vrk 3 h`` (Swedish ``1 dygn 3 h``)."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} {'dygn' if language == 'sv' else 'vrk'} {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def thread_subject(kind: str, services: Sequence[str], start_at: datetime) -> str:
    """``HÄIRIÖTIEDOTE: Omaolo – työjonolähetys – 23.11.2026 klo 10.15``; fixed for the thread."""
    names = [clean_line(name, limit=80).strip() for name in services if name.strip()]
    if len(names) > MAX_SUBJECT_SERVICES:
        names = [*names[:MAX_SUBJECT_SERVICES], "…"]
    return f"{model.subject_label(kind)}: Omaolo – {', '.join(names)} – {mail_time(start_at)}"


def version_subject(subject: str, number: int, status: str) -> str:
    return model.subject_prefix(number, status) + subject


def template_values(draft: NoticeDraft, language: str, *, now: datetime | None = None) -> dict[str, str]:
    """The placeholders' values for ``draft`` in ``language``."""
    values = {
        "services": ", ".join(name.strip() for name in draft.services if name.strip()),
        "impact": draft.impact.strip(),
        "instructions": templates.bullets(draft.instructions),
        "contact": draft.contact.strip(),
        "start": mail_time(draft.start_at, language) if draft.start_at else "",
        "expected_end": mail_time(draft.expected_end_at, language) if draft.expected_end_at else "",
        "end": mail_time(draft.actual_end_at, language) if draft.actual_end_at else "",
        "duration": "",
    }
    if draft.start_at and draft.actual_end_at:
        values["duration"] = mail_duration(draft.actual_end_at - draft.start_at, language)
    return values


def fill_text(
    draft: NoticeDraft, language: str, template_list: list[templates.NoticeTemplate] | None = None
) -> str:
    """The body text of ``language`` from the template for the draft's kind and stage.

    Raises :class:`templates.TemplateError` listing unknown or empty required placeholders; the
    compose screen shows those at once.
    """
    found = templates.load_templates()[0] if template_list is None else template_list
    template = templates.find_template(found, draft.kind, draft.status, language)
    return templates.render(template.text, template_values(draft, language))


# --- the body -----------------------------------------------------------------------------------


def _stage_line(draft: NoticeDraft, number: int, now: datetime, language: str) -> str:
    words = model.STAGE_SV if language == "sv" else model.STAGE_FI
    label = "LÄGE" if language == "sv" else "TILANNE"
    stage = words.get(draft.status, draft.status)
    if draft.status in model.RESOLVED_STAGES and draft.start_at and draft.actual_end_at:
        span = mail_duration(draft.actual_end_at - draft.start_at, language)
        lasted = "varade" if language == "sv" else "kesti"
        what = "" if language == "sv" else ("huoltokatko " if model.is_maintenance(draft.kind) else "häiriö ")
        if language == "sv":
            what = "serviceavbrottet " if model.is_maintenance(draft.kind) else "störningen "
        return f"{label}: {stage.upper()} – {what}{lasted} {span}"
    if number > 1:
        update = "uppdatering" if language == "sv" else "päivitys"
        return f"{label}: {stage.upper()} ({update} {number}, {mail_time(now, language)})"
    return f"{label}: {stage.upper()} ({mail_time(now, language)})"


def _changes_block(changes: str, language: str) -> str:
    if not changes.strip():
        return ""
    title = (
        "Ändringar sedan förra meddelandet:" if language == "sv" else "Muutokset edelliseen tiedotteeseen:"
    )
    return f"{title}\n{templates.bullets(changes)}\n\n"


def _part(draft: NoticeDraft, text: str, changes: str, number: int, now: datetime, language: str) -> str:
    head = _stage_line(draft, number, now, language) + "\n\n"
    if number > 1:
        head += _changes_block(changes, language)
    return head + text.replace("\r\n", "\n").strip() + "\n"


# --- guards -------------------------------------------------------------------------------------


def problems_of(
    draft: NoticeDraft, thread: ThreadState, recipients: Sequence[str], *, text_fi: str, text_sv: str
) -> list[str]:
    """Every reason the version cannot be sent, in words ("" problems = it can go)."""
    problems: list[str] = []
    try:
        model.check_kind(draft.kind)
        model.check_transition(draft.kind, thread.previous_status, draft.status)
    except model.NoticeRuleError as error:
        problems.append(str(error))
    if not [name for name in draft.services if name.strip()]:
        problems.append(_("Choose at least one affected service."))
    if draft.start_at is None:
        problems.append(_("Give the start time."))
    else:
        if draft.expected_end_at is not None and draft.expected_end_at < draft.start_at:
            problems.append(_("The expected end is before the start."))
        if draft.actual_end_at is not None and draft.actual_end_at < draft.start_at:
            problems.append(_("The end is before the start."))
    if draft.status in model.RESOLVED_STAGES and draft.actual_end_at is None:
        problems.append(_("Give the time it ended: a resolved notice states how long it lasted."))
    if not text_fi.strip():
        problems.append(_("The Finnish text is empty; it is required."))
    if not recipients:
        problems.append(_("Choose at least one recipient (a list, a unit or everyone)."))
    left_open = templates.open_placeholders("\n".join((text_fi, text_sv, draft.changes, draft.changes_sv)))
    if left_open:
        problems.append(
            _("Placeholders are still open: {placeholders}. Fill them in before sending.").format(
                placeholders=", ".join(left_open)
            )
        )
    fields = (
        text_fi,
        text_sv,
        draft.changes,
        draft.changes_sv,
        draft.impact,
        draft.instructions,
        draft.contact,
        *draft.services,
        thread.subject,
    )
    matches = [match for text in fields for match in find_hetus(text)]
    if matches:
        masked = ", ".join(dict.fromkeys(match.masked for match in matches))
        problems.append(
            _(
                "The notice contains a personal identity code (henkilötunnus): {codes}. Nothing was sent. "
                "Remove the code: identity codes are never sent by e-mail."
            ).format(codes=masked)
        )
    return problems


# --- the message --------------------------------------------------------------------------------


def new_message_id(from_address: str, *, demo: bool = False) -> str:
    """A Message-ID in the sender's domain (in the demo, a domain that can never be delivered to)."""
    from coordinator_tui.outgoing import DEMO_DOMAIN

    domain = DEMO_DOMAIN if demo else from_address.rsplit("@", 1)[-1] if "@" in from_address else None
    return make_msgid(idstring="notice", domain=domain)


def build_version(
    draft: NoticeDraft,
    thread: ThreadState,
    recipients: Sequence[str],
    *,
    from_address: str,
    from_name: str = "",
    to_address: str = "",
    message_id: str = "",
    now: datetime | None = None,
    bilingual_lists: Sequence[str] = (),
    template_list: list[templates.NoticeTemplate] | None = None,
) -> BuiltVersion:
    """The email for the next version of a thread; raises :class:`NoticeRefused` with every reason.

    ``recipients`` are checked, not written: they travel in the envelope only. ``bilingual_lists``
    names the chosen lists that expect Swedish, for the warning when there is no Swedish text.
    """
    moment = now or datetime.now(UTC)
    text_fi = draft.text_fi
    warnings: list[str] = []
    problems: list[str] = []
    if not text_fi.strip():
        try:
            text_fi = fill_text(draft, "fi", template_list)
        except templates.TemplateError as error:
            problems.extend(error.problems)
    problems.extend(problems_of(draft, thread, recipients, text_fi=text_fi or " ", text_sv=draft.text_sv))
    if not from_address or "@" not in from_address:
        problems.append(_("No sender address: set [smtp] from_address in the config file."))
    if problems:
        raise NoticeRefused(list(dict.fromkeys(problems)))
    if not draft.text_sv.strip() and bilingual_lists:
        warnings.append(
            _("No Swedish text, but these lists expect one: {lists}.").format(
                lists=", ".join(bilingual_lists)
            )
        )
    assert draft.start_at is not None
    subject_of_thread = thread.subject or thread_subject(draft.kind, draft.services, draft.start_at)
    subject = version_subject(subject_of_thread, thread.number, draft.status)
    body_fi = _part(draft, text_fi, draft.changes, thread.number, moment, "fi")
    body_sv = (
        _part(draft, draft.text_sv, draft.changes_sv, thread.number, moment, "sv")
        if draft.text_sv.strip()
        else ""
    )
    body = body_fi + (f"\n\n{SWEDISH_DIVIDER}\n\n{body_sv}" if body_sv else "")
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(display_name=from_name, addr_spec=from_address)
    message["To"] = Address(
        display_name=from_name if not to_address else "", addr_spec=to_address or from_address
    )
    message["Subject"] = subject
    message["Date"] = format_datetime(local(moment))
    message["Message-ID"] = message_id or new_message_id(from_address)
    if thread.number > 1 and thread.root_message_id:
        message["In-Reply-To"] = thread.root_message_id
        message["References"] = thread.root_message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"  # Outlook: no out-of-office replies to a notice
    message.set_content(body, charset="utf-8", cte="quoted-printable")
    message["Content-Language"] = "fi, sv" if body_sv else "fi"  # after set_content, which clears it
    return BuiltVersion(
        message=message,
        subject=subject,
        thread_subject=subject_of_thread,
        body_fi=body_fi,
        body_sv=body_sv,
        message_id=str(message["Message-ID"]),
        text_fi=text_fi,
        warnings=warnings,
    )
