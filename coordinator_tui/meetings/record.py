"""Checking and recording a held cooperation meeting: date, participants from the directory, notes,
agreed actions and the HaiPro report count (a count only; the notes never carry identity codes)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from coordinator_tui.directory.validation import Problem, fold, parse_day, split_roles
from coordinator_tui.hetu import contains_hetu
from coordinator_tui.i18n import _
from store.directory import PersonRow

TEXT_LIMIT = 4000


@dataclass(frozen=True)
class MeetingDraft:
    held_on: str
    participants: str  # names or e-mail addresses, separated by commas
    notes: str = ""
    actions: str = ""
    haipro: str = ""


@dataclass(frozen=True)
class MeetingValues:
    held_on: date
    participants: tuple[int, ...]
    notes: str
    actions: str
    haipro_count: int | None


def check_meeting(
    draft: MeetingDraft, people: Sequence[PersonRow], today: date
) -> tuple[MeetingValues | None, list[Problem]]:
    problems: list[Problem] = []
    held_on: date | None = None
    with contextlib.suppress(ValueError):
        held_on = parse_day(draft.held_on)
    if held_on is None:
        problems.append(Problem("date_invalid", _("Give the day it was held, e.g. 26.11.2026."), "held_on"))
    elif held_on > today:
        problems.append(
            Problem("date_future", _("A meeting to record was held already: not a future day."), "held_on")
        )
    by_key: dict[str, list[int]] = {}
    for person in people:
        by_key.setdefault(person.email.strip().casefold(), []).append(person.id)
        by_key.setdefault(fold(person.name), []).append(person.id)
    participants: list[int] = []
    for wanted in split_roles(draft.participants):
        found = by_key.get(wanted.casefold()) or by_key.get(fold(wanted)) or []
        if len(set(found)) != 1:
            problems.append(
                Problem(
                    "participant_unknown" if not found else "participant_ambiguous",
                    (
                        _("{name} is not in the directory; add them on the Network screen first.")
                        if not found
                        else _("{name} matches several people; give the e-mail address.")
                    ).format(name=wanted),
                    "participants",
                )
            )
        elif found[0] not in participants:
            participants.append(found[0])
    for field, label, text in (
        ("notes", _("notes"), draft.notes),
        ("actions", _("agreed actions"), draft.actions),
    ):
        if contains_hetu(text):
            problems.append(
                Problem(
                    "hetu",
                    _("The {field} contain a Finnish personal identity code; remove it.").format(field=label),
                    field,
                )
            )
        elif len(text) > TEXT_LIMIT:
            problems.append(
                Problem(
                    "too_long",
                    _("The {field} are longer than {limit} characters.").format(
                        field=label, limit=TEXT_LIMIT
                    ),
                    field,
                )
            )
    haipro: int | None = None
    if draft.haipro.strip():
        try:
            haipro = int(draft.haipro.strip())
        except ValueError:
            haipro = -1
        if haipro < 0:
            problems.append(
                Problem("haipro_invalid", _("The HaiPro count is a whole number, 0 or more."), "haipro")
            )
    if problems or held_on is None:
        return None, problems
    return MeetingValues(held_on, tuple(participants), draft.notes.strip(), draft.actions.strip(), haipro), []
