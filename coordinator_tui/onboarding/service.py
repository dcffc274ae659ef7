"""The operations the Onboarding screen calls: templates (seeded when missing, versioned on edit),
starting a run with real due dates, ticking items, notes. Every method blocks (call it from a worker)."""

from __future__ import annotations

import getpass
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from coordinator_tui.directory.validation import RESPONSIBLE_USER
from coordinator_tui.hetu import contains_hetu
from coordinator_tui.i18n import _
from coordinator_tui.onboarding.schedule import due_date
from coordinator_tui.onboarding.templates import DEFAULTS, is_access_item
from coordinator_tui.requests.duetime import OfficeCalendar
from store import onboarding as db

if TYPE_CHECKING:
    from coordinator_tui.config import RequestsSection
    from store.engine import Store

NOTE_LIMIT = 1000


class OnboardingError(Exception):
    """A request the rules refuse; the words are for the user."""


@dataclass(frozen=True)
class RunView:
    run: db.RunRow
    items: list[db.RunItemRow]


class OnboardingService:
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
        self.zone = ZoneInfo(self.settings.time_zone)
        self.actor = actor or self.settings.me or _login_name()
        self._clock = clock or (lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def today(self) -> date:
        return self.now().astimezone(self.zone).date()

    # --- templates ---

    def ensure_defaults(self) -> int:
        """Seed the default templates the store lacks; how many were added."""
        return sum(db.ensure_template(self.store, *spec) for spec in DEFAULTS)

    def templates(self) -> list[db.TemplateRow]:
        self.ensure_defaults()
        return db.current_templates(self.store)

    def edit_template(self, family: str, name: str, items: Sequence[db.ItemSpec]) -> int:
        """A new version of the template; runs under way keep the version they started from."""
        if not items:
            raise OnboardingError(_("A checklist needs at least one item."))
        for item in items:
            if contains_hetu(item.text) or contains_hetu(item.link):
                raise OnboardingError(
                    _("A checklist item contains a Finnish personal identity code; remove it.")
                )
        return db.new_version(self.store, family, name, items)

    # --- runs ---

    def schedule(self, template: db.TemplateRow, start: date) -> list[tuple[db.ItemSpec, date]]:
        return [(item, due_date(self.calendar, start, item.offset)) for item in template.items]

    def next_working_day(self) -> date:
        """The default start date: the first working day after today."""
        return due_date(self.calendar, self.today() + timedelta(days=1), 0)

    def start(self, template_id: int, person_id: int, start: date, *, request_id: int | None = None) -> int:
        """Start a run; started from a request, the access-rights items link to it."""
        template = db.template(self.store, template_id)
        if template is None:
            raise OnboardingError(_("The checklist template is no longer in the store."))
        linked = (
            [position for position, item in enumerate(template.items, start=1) if is_access_item(item.text)]
            if request_id is not None
            else []
        )
        try:
            return db.start_run(
                self.store,
                template.id,
                person_id,
                start,
                self.schedule(template, start),
                now=self.now(),
                request_id=request_id,
                request_items=linked,
            )
        except KeyError:
            raise OnboardingError(_("The person is no longer in the directory.")) from None

    def runs(self) -> list[db.RunRow]:
        return db.runs(self.store, self.today())

    def view(self, run_id: int) -> RunView | None:
        run = next((row for row in self.runs() if row.id == run_id), None)
        if run is None:
            return None
        return RunView(run, db.run_items(self.store, run_id))

    def toggle(self, item_id: int, done: bool) -> db.Toggled:
        return db.set_done(
            self.store, item_id, done, by=self.actor, now=self.now(), completion_role=RESPONSIBLE_USER
        )

    def note(self, item_id: int, text: str) -> db.RunItemRow:
        text = text.strip()
        if contains_hetu(text):
            raise OnboardingError(_("The note contains a Finnish personal identity code; it was not saved."))
        if len(text) > NOTE_LIMIT:
            raise OnboardingError(_("The note is longer than {limit} characters.").format(limit=NOTE_LIMIT))
        return db.set_note(self.store, item_id, text)


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "koordinaattori"
