"""The operations the Network screen calls: read the directory, check and save a person, mark one
left, resolve a list, preview and apply a CSV import. Every method blocks (call it from a worker)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from coordinator_tui.directory.validation import (
    Draft,
    Problem,
    check_draft,
    email_key,
    fold,
    known_roles,
)
from coordinator_tui.i18n import _
from store import directory as db

if TYPE_CHECKING:
    from coordinator_tui.directory import csvimport
    from coordinator_tui.directory.units import ListDraft, UnitDraft
    from coordinator_tui.meetings.figures import MeetingFigures
    from coordinator_tui.meetings.record import MeetingDraft
    from coordinator_tui.meetings.schedule import DueMeeting
    from coordinator_tui.notices.recipients import Resolution
    from store.engine import Store
    from store.meetings import HeldMeeting

HELSINKI = ZoneInfo("Europe/Helsinki")


class NotSaved(Exception):
    """The form's fields did not pass; ``problems`` say why, field by field."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(" ".join(problem.text for problem in problems))


class StaleImport(Exception):
    """The directory changed between the preview and the confirmation; nothing was written."""


@dataclass(frozen=True)
class ImportDone:
    added: int
    changed: int


class DirectoryService:
    def __init__(self, store: Store, *, clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self._clock = clock or (lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def today(self) -> date:
        return self.now().astimezone(HELSINKI).date()

    def load(self) -> db.Directory:
        return db.load_directory(self.store)

    # --- people ---

    def check(
        self, draft: Draft, directory: db.Directory, person_id: int | None = None
    ) -> tuple[db.PersonValues | None, list[Problem]]:
        units = {fold(unit.name): unit.id for unit in directory.units}
        roles = known_roles(role for person in directory.people for role in person.roles)
        emails: dict[str, list[int]] = {}
        labels: dict[int, str] = {}
        current: db.PersonRow | None = None
        for person in directory.people:
            emails.setdefault(email_key(person.email), []).append(person.id)
            labels[person.id] = person.name
            if person.id == person_id:
                current = person
        checked, problems = check_draft(
            draft, units=units, roles=roles, emails=emails, person_id=person_id, labels=labels
        )
        if checked is None:
            return None, problems
        return (
            db.PersonValues(
                name=checked.name,
                email=checked.email,
                phone=checked.phone,
                unit_id=checked.unit_id,
                roles=checked.roles,
                language=checked.language,
                active=current.active if current is not None else True,
                left_on=current.left_on if current is not None else None,
            ),
            [],
        )

    def save(self, draft: Draft, person_id: int | None = None) -> int:
        """Add (``person_id`` None) or change a person; raises NotSaved with the problems."""
        directory = self.load()
        values, problems = self.check(draft, directory, person_id)
        if values is None:
            raise NotSaved(problems)
        if person_id is None:
            return db.add_person(self.store, values, now=self.now())
        if not db.update_person(self.store, person_id, values, now=self.now()):
            raise NotSaved([Problem("gone", _("The person is no longer in the directory."))])
        return person_id

    def set_active(self, person_id: int, active: bool) -> None:
        db.set_active(self.store, person_id, active, on=self.today(), now=self.now())

    # --- units and lists ---

    def save_unit(self, draft: UnitDraft, unit_id: int | None = None) -> int:
        from coordinator_tui.directory.units import check_unit

        directory = self.load()
        values, problems = check_unit(
            draft, names={fold(unit.name): unit.id for unit in directory.units}, unit_id=unit_id
        )
        if values is None:
            raise NotSaved(problems)
        try:
            return db.update_unit(self.store, unit_id, values.name, values.area, values.code, values.services)
        except KeyError:
            raise NotSaved([Problem("gone", _("The unit is no longer in the directory."))]) from None

    def save_list(self, draft: ListDraft, list_id: int | None = None) -> int:
        from coordinator_tui.directory.units import check_list

        directory = self.load()
        values, problems = check_list(
            draft,
            names={fold(info.name): info.id for info in directory.lists},
            roles=known_roles(role for person in directory.people for role in person.roles),
            services={service.service for unit in directory.units for service in unit.services},
            list_id=list_id,
        )
        if values is None:
            raise NotSaved(problems)
        try:
            return db.update_list(
                self.store,
                list_id,
                values.name,
                description=values.description,
                rule=values.rule,
                bilingual=values.bilingual,
            )
        except KeyError:
            raise NotSaved([Problem("gone", _("The list is no longer in the directory."))]) from None

    def set_member(self, list_id: int, person_id: int, member: bool) -> None:
        db.set_member(self.store, list_id, person_id, member)

    def resolve(self, list_id: int, directory: db.Directory | None = None) -> Resolution:
        """Who a notice to this list goes to now (the notices' rules, on the directory read once)."""
        from coordinator_tui.directory.lists import resolve_in

        return resolve_in(directory if directory is not None else self.load(), list_id)

    # --- cooperation meetings ---

    def meetings(self, directory: db.Directory | None = None) -> tuple[list[DueMeeting], list[HeldMeeting]]:
        """Every unit's next meeting (earliest first) and the meetings held (newest first)."""
        from coordinator_tui.meetings.schedule import schedule
        from store.meetings import held_meetings

        held = held_meetings(self.store)
        units = (directory if directory is not None else self.load()).units
        return schedule(units, held, self.today()), held

    def meeting_figures(self, unit_id: int, held: list[HeldMeeting] | None = None) -> MeetingFigures:
        """What the unit's next meeting looks at: its requests since the last meeting (or over the
        last 12 months) by category with the median resolution time, and the HaiPro counts."""
        from coordinator_tui.meetings.figures import meeting_figures
        from store.meetings import held_meetings

        return meeting_figures(
            self.store,
            unit_id,
            held if held is not None else held_meetings(self.store),
            self.today(),
            now=self.now(),
            zone=HELSINKI,
        )

    def record_meeting(self, unit_id: int, draft: MeetingDraft) -> int:
        """Record a held meeting; raises NotSaved with the problems."""
        from coordinator_tui.meetings.record import check_meeting
        from store.meetings import record_meeting

        values, problems = check_meeting(draft, self.load().people, self.today())
        if values is None:
            raise NotSaved(problems)
        return record_meeting(
            self.store,
            unit_id,
            values.held_on,
            values.participants,
            values.notes,
            values.actions,
            values.haipro_count,
        )

    # --- import ---

    def preview_import(self, data: bytes) -> csvimport.ImportPreview:
        from coordinator_tui.directory.csvimport import preview

        return preview(data, self.load(), today=self.today())

    def apply_import(self, preview: csvimport.ImportPreview) -> ImportDone:
        """Write the preview's added and changed rows in one transaction.

        Refused (StaleImport, nothing written) when someone changed the people meanwhile: an address
        the preview would add is taken now, or a person it would change is gone.
        """
        directory = self.load()
        ids = {person.id for person in directory.people}
        taken = {email_key(person.email) for person in directory.people}
        adds = [row.values for row in preview.rows if row.status == "added" and row.values is not None]
        updates = [
            (row.person_id, row.values)
            for row in preview.rows
            if row.status == "changed" and row.values is not None and row.person_id is not None
        ]
        if any(email_key(values.email) in taken for values in adds) or any(
            person_id not in ids for person_id, _values in updates
        ):
            raise StaleImport(
                _("The directory changed after the preview; nothing was imported. Preview the file again.")
            )
        added, changed = db.apply_people(self.store, adds, updates, now=self.now())
        return ImportDone(added, changed)
