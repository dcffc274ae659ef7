"""The rules of a request's life: statuses and the moves between them, categories, priorities P1–P4."""

from __future__ import annotations

from dataclasses import dataclass

from coordinator_tui.i18n import N_, _
from store.vocabulary import (
    CLOCK_RUNNING_STATUSES,
    OPEN_STATUSES,
    REQUEST_CATEGORIES,
    REQUEST_STATUSES,
)

NEW, IN_PROGRESS, WAITING_REQUESTER, WAITING_VENDOR, RESOLVED, CLOSED = REQUEST_STATUSES
STATUSES = REQUEST_STATUSES
OPEN = OPEN_STATUSES
CLOCK_RUNNING = CLOCK_RUNNING_STATUSES
DEFAULT_CATEGORIES = REQUEST_CATEGORIES
PRIORITIES = (1, 2, 3, 4)

# Stored values are Finnish (the store's vocabulary); the UI shows these, translated.
STATUS_LABELS = {
    NEW: N_("New"),
    IN_PROGRESS: N_("In progress"),
    WAITING_REQUESTER: N_("Waiting on requester"),
    WAITING_VENDOR: N_("Waiting on DigiFinland"),
    RESOLVED: N_("Resolved"),
    CLOSED: N_("Closed"),
}
CATEGORY_LABELS = {
    "käyttöoikeus": N_("Access rights"),
    "taustamääritys": N_("Configuration"),
    "vika tai häiriö": N_("Fault"),
    "käyttöönoton tuki": N_("Deployment support"),
    "asiakaspalaute": N_("Customer feedback"),
    "muu": N_("Other"),
}
PRIORITY_LABELS = {
    1: N_("P1 critical"),
    2: N_("P2 high"),
    3: N_("P3 normal"),
    4: N_("P4 low"),
}

# Where a request may go from each status. The main path runs uusi → käsittelyssä → (waiting) →
# ratkaistu → suljettu; a resolved or closed request can be reopened, and nothing goes back to uusi.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    NEW: (IN_PROGRESS, WAITING_REQUESTER, WAITING_VENDOR, RESOLVED, CLOSED),
    IN_PROGRESS: (WAITING_REQUESTER, WAITING_VENDOR, RESOLVED, CLOSED),
    WAITING_REQUESTER: (IN_PROGRESS, WAITING_VENDOR, RESOLVED, CLOSED),
    WAITING_VENDOR: (IN_PROGRESS, WAITING_REQUESTER, RESOLVED, CLOSED),
    RESOLVED: (IN_PROGRESS, CLOSED),
    CLOSED: (IN_PROGRESS,),
}


class RuleError(ValueError):
    """A change the rules do not allow; ``str()`` is a sentence for the user (already translated)."""


def status_label(status: str) -> str:
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def category_label(category: str) -> str:
    return _(CATEGORY_LABELS[category]) if category in CATEGORY_LABELS else category


def priority_label(priority: int | None) -> str:
    return _(PRIORITY_LABELS[priority]) if priority in PRIORITY_LABELS else ""


def allowed_next(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def check_transition(old: str, new: str) -> None:
    if new not in STATUSES:
        raise RuleError(_("Unknown status: {status}.").format(status=new))
    if old == new:
        return
    if new not in allowed_next(old):
        raise RuleError(
            _("A request cannot move from “{old}” to “{new}”.").format(
                old=status_label(old), new=status_label(new)
            )
        )


def check_priority(priority: int) -> None:
    if priority not in PRIORITIES:
        raise RuleError(_("Priority must be 1–4, not {priority}.").format(priority=priority))


def check_category(category: str, categories: tuple[str, ...]) -> None:
    if category not in categories:
        raise RuleError(_("Unknown category: {category}.").format(category=category))


def is_open(status: str) -> bool:
    return status in OPEN


def clock_runs(status: str) -> bool:
    return status in CLOCK_RUNNING


def is_triaged(priority: int | None, category: str, assignee: str) -> bool:
    return priority is not None and bool(category) and bool(assignee)


@dataclass(frozen=True)
class StatusEffects:
    """The time fields a status change sets besides the status itself (only the ones that change)."""

    first_response: bool = False  # set first_response_at (it was empty)
    resolved: bool = False  # set resolved_at to now
    clear_resolved: bool = False  # reopened: resolved_at back to empty
    closed: bool = False  # set closed_at to now
    clear_closed: bool = False
    pauses: bool = False  # the due-time clock stops (waiting on the requester)
    resumes: bool = False  # the clock starts again: the due time moves out by the pause


def status_effects(old: str, new: str, *, has_first_response: bool, has_resolved: bool) -> StatusEffects:
    """What else changes when a request moves from ``old`` to ``new``."""
    return StatusEffects(
        # The first time a person moves a request on from "uusi", the requester has been answered.
        first_response=old == NEW and new != NEW and not has_first_response,
        resolved=new in (RESOLVED, CLOSED) and not has_resolved,
        clear_resolved=old in (RESOLVED, CLOSED) and new in OPEN and has_resolved,
        closed=new == CLOSED,
        clear_closed=old == CLOSED and new != CLOSED,
        pauses=new == WAITING_REQUESTER and old != WAITING_REQUESTER,
        resumes=old == WAITING_REQUESTER and new in CLOCK_RUNNING,
    )
