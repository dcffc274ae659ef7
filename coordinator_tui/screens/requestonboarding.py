"""`o` on a request: start an onboarding checklist for the person the request is about.

The person is the requester when they are in the directory (the request's linked person, else the
active person with the requester's address). A small picker asks for the checklist and the start
date (the next working day unless changed); the run's access-rights items link back to the request.
Everything that reads or writes runs in a thread worker; the result is told in a notification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from coordinator_tui.i18n import N_, _
from coordinator_tui.screens.base import translated
from coordinator_tui.textclean import clean_line
from coordinator_tui.timefmt import fi_date
from coordinator_tui.widgets.safe import plain

if TYPE_CHECKING:
    from coordinator_tui.app import CoordinatorApp
    from coordinator_tui.onboarding.service import OnboardingService
    from store.engine import Store
    from store.onboarding import TemplateRow


@dataclass
class Ready(Message):
    """The person, the templates and the default start date, read in the worker."""

    service: OnboardingService
    person_id: int
    person: str  # "name <address>"
    templates: list[TemplateRow]
    start: date


@dataclass
class Refused(Message):
    text: str


@dataclass
class Started(Message):
    text: str


def requester_person(store: Store, request_id: int) -> tuple[int, str] | str:
    """(person id, "name <address>") of the directory person a request is about, or why there is none."""
    from store import directory as directory_db
    from store import requests as requests_db

    row = requests_db.get_request(store, request_id)
    if row is None:
        return _("The request is no longer in the store.")
    person_id = row.requester_person_id
    if person_id is None and row.requester_email.strip():
        found = requests_db.requester_for_email(store, row.requester_email)
        person_id = found[0] if found is not None else None
    person = directory_db.person(store, person_id) if person_id is not None else None
    if person is None:
        who = row.requester_email.strip() or _("unknown")
        return _(
            "The requester ({who}) is not in the directory: add them on the Network screen (7), "
            "then press o again."
        ).format(who=who)
    return person.id, f"{person.name} <{person.email}>"


class RequestOnboardingScreen(ModalScreen[None]):
    """Choose the checklist and the start date for the request's person; ctrl+s (or enter) starts."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding(
            "ctrl+s", "start", N_("Start checklist"), id="reqonboard.start", tooltip=N_("Start the checklist")
        ),
        Binding(
            "escape", "cancel", N_("Cancel"), id="reqonboard.cancel", tooltip=N_("Close without starting")
        ),
    ]
    DEFAULT_CSS = """
    RequestOnboardingScreen { align: center middle; }
    RequestOnboardingScreen > Vertical {
        width: 84; height: auto; max-height: 90%; border: round $accent; background: $surface; padding: 1 2;
    }
    RequestOnboardingScreen OptionList { height: auto; max-height: 6; margin-top: 1; }
    RequestOnboardingScreen Input { margin-top: 1; }
    RequestOnboardingScreen #reqonboard-problem { color: $text-error; }
    """

    def __init__(self, request_id: int, reference: str) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.request_id = request_id
        self.reference = reference
        self.ready: Ready | None = None
        self.starting = False

    @property
    def coordinator(self) -> CoordinatorApp:
        from coordinator_tui.app import CoordinatorApp

        assert isinstance(self.app, CoordinatorApp)
        return self.app

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Content.assemble((_("Start a checklist"), "bold"), " · ", plain(self.reference, limit=40)),
                classes="heading",
            )
            yield Static(Content(_("Reading…")), id="reqonboard-person")
            yield OptionList(id="reqonboard-template")
            yield Input(placeholder=_("Start date, e.g. 30.11.2026"), id="reqonboard-date")
            yield Static(Content(""), id="reqonboard-problem")
            yield Static(
                Content(_("tab: next field · enter or ctrl+s: start · escape: cancel")), classes="intro"
            )

    def on_mount(self) -> None:
        self.read()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.coordinator.report_worker_error(event.worker)
            self.dismiss(None)

    @work(thread=True, exclusive=True, group="reqonboard-read", exit_on_error=False)
    def read(self) -> None:
        from coordinator_tui.onboarding.service import OnboardingService

        store = self.coordinator.store
        assert store is not None
        found = requester_person(store, self.request_id)
        if isinstance(found, str):
            self.post_message(Refused(found))
            return
        service = OnboardingService(store, self.coordinator.config.requests, clock=self.coordinator.now)
        templates = service.templates()
        self.post_message(Ready(service, found[0], found[1], templates, service.next_working_day()))

    @on(Refused)
    def refused(self, message: Refused) -> None:
        self.app.notify(clean_line(message.text, limit=400), severity="warning", markup=False, timeout=8)
        self.dismiss(None)

    @on(Ready)
    def show(self, message: Ready) -> None:
        self.ready = message
        self.query_one("#reqonboard-person", Static).update(
            Content.assemble((_("Person") + ": ", "bold"), plain(message.person, limit=120))
        )
        options = self.query_one("#reqonboard-template", OptionList)
        options.add_options(
            Option(plain(f"{t.name} (v{t.version}, {len(t.items)})", limit=80), id=f"template-{t.id}")
            for t in message.templates
        )
        # The onboarding checklist first: a request is most often about a new user.
        first = next((i for i, t in enumerate(message.templates) if t.kind == "onboarding"), 0)
        options.highlighted = first if message.templates else None
        self.query_one("#reqonboard-date", Input).value = fi_date(message.start)
        options.focus()

    @on(OptionList.OptionSelected, "#reqonboard-template")
    def template_chosen(self) -> None:
        self.query_one("#reqonboard-date", Input).focus()

    @on(Input.Submitted, "#reqonboard-date")
    def date_submitted(self) -> None:
        self.action_start()

    def action_start(self) -> None:
        from coordinator_tui.screens.onboarding import parse_start

        if self.ready is None or self.starting:
            return
        problem = self.query_one("#reqonboard-problem", Static)
        options = self.query_one("#reqonboard-template", OptionList)
        if options.highlighted is None or not self.ready.templates:
            problem.update(Content(_("Choose a checklist.")))
            return
        template = self.ready.templates[options.highlighted]
        field = self.query_one("#reqonboard-date", Input)
        try:
            start = parse_start(field.value)
        except ValueError:
            problem.update(Content(_("The start date is not a date; write e.g. 30.11.2026.")))
            field.focus()
            return
        self.starting = True
        self.start_run(self.ready, template, start)

    @work(thread=True, exclusive=True, group="reqonboard-start", exit_on_error=False)
    def start_run(self, ready: Ready, template: TemplateRow, start: date) -> None:
        from coordinator_tui.onboarding.service import OnboardingError
        from store.errors import StoreError

        try:
            ready.service.start(template.id, ready.person_id, start, request_id=self.request_id)
        except (OnboardingError, StoreError) as error:
            self.post_message(Refused(str(error)))
            return
        self.post_message(
            Started(
                _("Checklist “{template}” started for {person} from {date}: see Onboarding (6).").format(
                    template=template.name, person=ready.person, date=fi_date(start)
                )
            )
        )

    @on(Started)
    def started(self, message: Started) -> None:
        self.app.notify(clean_line(message.text, limit=400), markup=False, timeout=8)
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
