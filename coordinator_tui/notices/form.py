"""The compose form's rules, without Textual: times as typed, the text from its template, what changed.

- Times are typed the Finnish way (``23.11.2026 10.15``, ``23.11.2026 klo 10.15``, ``23.11. 10.15``
  this year, ``10.15`` today, ``nyt``/``now``) and read as Helsinki time.
- The Finnish and Swedish texts are templates the coordinator may edit: their placeholders
  ({services}, {start}, …) are filled from the form's fields, and an unknown placeholder or an
  empty required one is a problem that blocks sending (:func:`render_text`).
- An update says what changed since the last version (:func:`describe_changes`), in Finnish and
  Swedish, unless the coordinator writes it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from coordinator_tui.i18n import _
from coordinator_tui.notices import model, templates
from coordinator_tui.notices.compose import NoticeDraft, mail_time, template_values
from coordinator_tui.timefmt import HELSINKI, local

Mode = str  # "new", "update" or "resolve"
_DATE_TIME = re.compile(
    r"^(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4})?\s*(?:klo|kl\.?|at)?\s*"
    r"(?P<hour>\d{1,2})[.:](?P<minute>\d{2})$",
    re.IGNORECASE,
)
_TIME_ONLY = re.compile(r"^(?:klo\s*)?(?P<hour>\d{1,2})[.:](?P<minute>\d{2})$", re.IGNORECASE)
_ISO = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})[ T](?P<hour>\d{2}):(?P<minute>\d{2})$")
NOW_WORDS = ("nyt", "now", "nu")


class TimeError(ValueError):
    """A time the form cannot read; ``str()`` says how to write it."""


def parse_time(text: str, now: datetime) -> datetime | None:
    """The moment typed in ``text`` (None when empty); raises :class:`TimeError`."""
    typed = " ".join(text.split())
    if not typed:
        return None
    if typed.casefold() in NOW_WORDS:
        return local(now).replace(second=0, microsecond=0)
    today = local(now)
    found = _DATE_TIME.match(typed) or _ISO.match(typed)
    try:
        if found:
            year = int(found["year"]) if found["year"] else today.year
            return datetime(
                year,
                int(found["month"]),
                int(found["day"]),
                int(found["hour"]),
                int(found["minute"]),
                tzinfo=HELSINKI,
            )
        only = _TIME_ONLY.match(typed)
        if only:
            return today.replace(hour=int(only["hour"]), minute=int(only["minute"]), second=0, microsecond=0)
    except ValueError:
        pass
    raise TimeError(
        _("{text!r} is not a time; write e.g. 23.11.2026 10.15, 10.15 (today) or nyt.").format(text=typed)
    )


def format_time(moment: datetime | None) -> str:
    """A moment as the form shows it for editing: ``23.11.2026 10.15``."""
    if moment is None:
        return ""
    when = local(moment)
    return f"{when.day}.{when.month}.{when.year} {when.hour}.{when.minute:02d}"


@dataclass
class RenderedText:
    text: str  # the filled-in text ("" when it cannot be filled)
    problems: list[str] = field(default_factory=list)


def render_text(source: str, draft: NoticeDraft, language: str) -> RenderedText:
    """``source`` (a template as the coordinator left it) filled from ``draft``'s fields."""
    if not source.strip():
        return RenderedText("")
    try:
        return RenderedText(templates.render(source, template_values(draft, language)))
    except templates.TemplateError as error:
        label = _("Finnish text") if language == "fi" else _("Swedish text")
        return RenderedText("", [f"{label}: {problem}" for problem in error.problems])


_PLACEHOLDER = re.compile(r"(?<!\{)\{([^{}]*)\}(?!\})")


def display_text(source: str, draft: NoticeDraft, language: str) -> str:
    """``source`` filled as far as it can be, for the preview of a text that cannot be sent yet:
    an empty or unknown placeholder shows as ``⟨name⟩``."""
    values = template_values(draft, language)

    def fill(found: re.Match[str]) -> str:
        value = values.get(found[1], "").strip()
        return value if value else f"⟨{found[1]}⟩"

    kept = []
    for line in source.split("\n"):
        names = _PLACEHOLDER.findall(line)
        if names and all(name in templates.OPTIONAL and not values.get(name, "").strip() for name in names):
            continue  # as templates.render leaves it out
        kept.append(_PLACEHOLDER.sub(fill, line))
    return "\n".join(kept).replace("{{", "{").replace("}}", "}")


def template_source(
    template_list: Sequence[templates.NoticeTemplate], kind: str, stage: str, language: str
) -> str:
    """The template text a new version of ``kind`` at ``stage`` starts from ("" when there is none)."""
    try:
        return templates.find_template(list(template_list), kind, stage, language).text.rstrip("\n")
    except templates.TemplateError:
        return ""


def next_draft(
    kind: str,
    services: Sequence[str],
    status: str,
    start_at: datetime,
    expected_end_at: datetime | None,
    actual_end_at: datetime | None,
    impact: str,
    instructions: str,
    contact: str,
    *,
    mode: Mode,
    now: datetime,
) -> NoticeDraft:
    """The draft an update (``U``) or a resolve (``K``) starts from: the notice as last sent, with
    the resolved stage and the end set to now for a resolve."""
    draft = NoticeDraft(
        kind=kind,
        services=list(services),
        status=status,
        start_at=start_at,
        expected_end_at=expected_end_at,
        actual_end_at=actual_end_at,
        impact=impact,
        instructions=instructions,
        contact=contact,
    )
    if mode == "resolve":
        end = local(now).replace(second=0, microsecond=0)
        draft = replace(draft, status=model.resolved_stage(kind), actual_end_at=actual_end_at or end)
    return draft


@dataclass(frozen=True)
class Previous:
    """The notice as its last version left it, for :func:`describe_changes`."""

    status: str
    services: Sequence[str]
    expected_end_at: datetime | None
    actual_end_at: datetime | None
    impact: str
    instructions: str


_WORDS = {
    "fi": {
        "stage": "Tilanne",
        "services": "Palvelut",
        "expected": "Arvioitu päättymisaika",
        "none": "ei arviota",
        "end": "Päättyi",
        "lasted": "kesto",
        "impact": "Vaikutuksen kuvausta on päivitetty.",
        "instructions": "Toimintaohjetta on päivitetty.",
    },
    "sv": {
        "stage": "Läge",
        "services": "Tjänster",
        "expected": "Beräknad sluttid",
        "none": "ingen uppskattning",
        "end": "Upphörde",
        "lasted": "längd",
        "impact": "Beskrivningen av konsekvenserna har uppdaterats.",
        "instructions": "Anvisningarna har uppdaterats.",
    },
}


def describe_changes(previous: Previous, draft: NoticeDraft, language: str = "fi") -> str:
    """What changed since the last version, one line each, in the email's language ("" = nothing)."""
    from coordinator_tui.notices.compose import mail_duration

    words = _WORDS["sv" if language == "sv" else "fi"]
    stages = model.STAGE_SV if language == "sv" else model.STAGE_FI
    lines = []
    if draft.status != previous.status:
        old, new = stages.get(previous.status, previous.status), stages.get(draft.status, draft.status)
        lines.append(f"{words['stage']}: {old} → {new}")
    if [s.strip() for s in draft.services] != [s.strip() for s in previous.services]:
        lines.append(f"{words['services']}: {', '.join(draft.services)}")
    # Compared as written (to the minute): a stored time's seconds are not a change.
    old = mail_time(previous.expected_end_at, language) if previous.expected_end_at else words["none"]
    new = mail_time(draft.expected_end_at, language) if draft.expected_end_at else words["none"]
    if old != new and draft.status not in model.RESOLVED_STAGES:
        lines.append(f"{words['expected']}: {old} → {new}")
    written_end = mail_time(draft.actual_end_at, language) if draft.actual_end_at else ""
    if written_end and written_end != (
        mail_time(previous.actual_end_at, language) if previous.actual_end_at else ""
    ):
        end = f"{words['end']}: {written_end}"
        if draft.start_at is not None and draft.actual_end_at is not None:
            span = mail_duration(draft.actual_end_at - draft.start_at, language)
            end += f" ({words['lasted']} {span})"
        lines.append(end)
    if draft.impact.strip() != previous.impact.strip():
        lines.append(words["impact"])
    if draft.instructions.strip() != previous.instructions.strip():
        lines.append(words["instructions"])
    return "\n".join(lines)


def lasted(start: datetime, end: datetime | None, now: datetime) -> timedelta:
    """How long a notice has lasted (until its end, or until now while it is open)."""
    return max(timedelta(0), (end or now) - start)
