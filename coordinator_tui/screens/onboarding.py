"""Perehdytys: onboarding checklists — the runs with their progress, a run's items with due dates.

`a` starts a checklist for a person of the directory with a start date (due dates in working
days), `space` ticks an item done or not (who and when are kept), `n` writes a note on it. Ticking
the last item completes the run: an onboarded person becomes an active responsible user, which puts
them on the rule lists; an offboarded one is marked left. Templates are seeded when missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from coordinator_tui.i18n import N_, _, count_text
from coordinator_tui.onboarding.templates import WHO, template_text
from coordinator_tui.screens.base import AREA_BY_MODE, AreaScreen, translated
from coordinator_tui.textclean import clean_line
from coordinator_tui.timefmt import fi_date, fi_datetime, local
from coordinator_tui.widgets.directorylist import DirectoryList, Row
from coordinator_tui.widgets.safe import plain
from store.errors import StoreError

if TYPE_CHECKING:
    from coordinator_tui.onboarding.service import OnboardingService, RunView
    from store.directory import PersonRow
    from store.onboarding import RunItemRow, RunRow, TemplateRow, Toggled

BAR_WIDTH = 10
WHO_NAMES = {
    "koordinaattori": N_("coordinator"),
    "uusi käyttäjä": N_("new user"),
    "esihenkilö": N_("manager"),
    "ICT": N_("ICT"),
}
STATUS_NAMES = {"open": N_("open"), "done": N_("done"), "cancelled": N_("cancelled")}


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    filled = round(width * done / total) if total else 0
    return "█" * filled + "░" * (width - filled)


def parse_start(text: str) -> date:
    """``30.11.2026`` or ``2026-11-30``; raises ValueError."""
    from coordinator_tui.directory.validation import parse_day

    day = parse_day(text)
    if day is None:
        raise ValueError(text)
    return day


@dataclass
class Loaded(Message):
    runs: list[RunRow]
    view: RunView | None
    templates: list[TemplateRow]
    people: list[PersonRow]
    keep_item: int | None


@dataclass
class ItemToggled(Message):
    toggled: Toggled
    person: str


@dataclass
class Failed(Message):
    text: str


@dataclass
class StartChoice:
    template_id: int
    person_id: int
    start: date


class StartRunScreen(ModalScreen[StartChoice | None]):
    """Choose the person, the checklist and the start date."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding(
            "ctrl+s", "start", N_("Start checklist"), id="startrun.start", tooltip=N_("Start the checklist")
        ),
        Binding("escape", "cancel", N_("Cancel"), id="startrun.cancel", tooltip=N_("Close without starting")),
    ]
    DEFAULT_CSS = """
    StartRunScreen { align: center middle; }
    StartRunScreen > Vertical {
        width: 84; height: auto; max-height: 90%; border: round $accent; background: $surface; padding: 1 2;
    }
    StartRunScreen OptionList { height: auto; max-height: 6; margin-top: 1; }
    StartRunScreen Input { margin-top: 1; }
    StartRunScreen #start-problem { color: $text-error; }
    """

    def __init__(self, templates: list[TemplateRow], people: list[PersonRow], today: date) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.templates = templates
        self.people = [person for person in people if person.active]
        self.today = today
        self.labels = {self._label(person): person.id for person in self.people}

    @staticmethod
    def _label(person: PersonRow) -> str:
        return f"{clean_line(person.name, limit=80)} <{clean_line(person.email, limit=120)}>"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(_("Start a checklist")), classes="heading")
            yield Input(
                placeholder=_("Person: name or e-mail (add new people on the Network screen)"),
                id="start-person",
                suggester=SuggestFromList(list(self.labels), case_sensitive=False),
            )
            yield OptionList(
                *(
                    Option(plain(f"{t.name} (v{t.version}, {len(t.items)})", limit=80), id=f"template-{t.id}")
                    for t in self.templates
                ),
                id="start-template",
            )
            yield Input(
                value=fi_date(self.today), placeholder=_("Start date, e.g. 30.11.2026"), id="start-date"
            )
            yield Static(Content(""), id="start-problem")
            yield Static(Content(_("tab: next field · ctrl+s: start · escape: cancel")), classes="intro")

    def on_mount(self) -> None:
        options = self.query_one("#start-template", OptionList)
        options.highlighted = 0 if self.templates else None
        self.query_one("#start-person", Input).focus()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "start-date":
            self.action_start()
        else:
            self.focus_next()

    def _person(self, text: str) -> int | None:
        text = text.strip()
        if text in self.labels:
            return self.labels[text]
        wanted = text.casefold()
        found = [p.id for p in self.people if wanted in (p.email.casefold(), p.name.casefold())]
        return found[0] if len(found) == 1 else None

    def action_start(self) -> None:
        problem = self.query_one("#start-problem", Static)
        person_id = self._person(self.query_one("#start-person", Input).value)
        if person_id is None:
            problem.update(
                Content(
                    _("Choose a person of the directory (start typing the name; → takes the suggestion).")
                )
            )
            self.query_one("#start-person", Input).focus()
            return
        options = self.query_one("#start-template", OptionList)
        if options.highlighted is None or not self.templates:
            problem.update(Content(_("Choose a checklist.")))
            return
        template = self.templates[options.highlighted]
        try:
            start = parse_start(self.query_one("#start-date", Input).value)
        except ValueError:
            problem.update(Content(_("The start date is not a date; write e.g. 30.11.2026.")))
            self.query_one("#start-date", Input).focus()
            return
        self.dismiss(StartChoice(template.id, person_id, start))

    def action_cancel(self) -> None:
        self.dismiss(None)


class NoteScreen(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "cancel", N_("Cancel"), id="note.cancel", tooltip=N_("Close without saving")),
    ]
    DEFAULT_CSS = """
    NoteScreen { align: center middle; }
    NoteScreen > Vertical {
        width: 84; height: auto; border: round $accent; background: $surface; padding: 1 2;
    }
    NoteScreen Input { margin-top: 1; }
    """

    def __init__(self, item_text: str, note: str) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.item_text = item_text
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Content.assemble((_("Note") + ": ", "bold $accent"), plain(self.item_text, limit=120))
            )
            yield Input(value=self.note, id="note-input", select_on_focus=False)
            yield Static(Content(_("enter: save · escape: cancel · no identity codes")), classes="intro")

    def on_mount(self) -> None:
        self.query_one("#note-input", Input).focus()

    @on(Input.Submitted, "#note-input")
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class OnboardingScreen(AreaScreen):
    AREA = "onboarding"
    STYLES_IN_APP_CSS = True
    AUTO_FOCUS = "#onboarding-items"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding(
            "space",
            "toggle",
            N_("Done / not"),
            id="onboarding.toggle",
            tooltip=N_("Tick the item done or not"),
        ),
        Binding("n", "note", N_("Note"), id="onboarding.note", tooltip=N_("Write a note on the item")),
        Binding(
            "a",
            "start",
            N_("New checklist"),
            id="onboarding.start",
            tooltip=N_("Start a checklist for a person"),
        ),
        Binding(
            "T",
            "templates",
            N_("Templates"),
            id="onboarding.templates",
            tooltip=N_("Edit a checklist template (saved as a new version)"),
        ),
        Binding("enter", "open", N_("Open"), id="onboarding.open", show=False, tooltip=N_("The run's items")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.service: OnboardingService | None = None
        self.runs: list[RunRow] = []
        self.view: RunView | None = None
        self.templates: list[TemplateRow] = []
        self.people: list[PersonRow] = []
        self.run_id: int | None = None
        self._busy = False

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="onboarding-body"):
            with Vertical(id="onboarding-side"):
                yield Static(Content(_("Checklists")), id="onboarding-runs-title", classes="subheading")
                yield DirectoryList(id="onboarding-runs")
            with Vertical(id="onboarding-main"):
                yield Static(Content(""), id="onboarding-header")
                yield DirectoryList(id="onboarding-items")
                yield Static(Content(""), id="onboarding-item")

    @property
    def run_list(self) -> DirectoryList:
        return self.query_one("#onboarding-runs", DirectoryList)

    @property
    def item_list(self) -> DirectoryList:
        return self.query_one("#onboarding-items", DirectoryList)

    def on_screen_resume(self) -> None:
        self.sub_title = _(AREA_BY_MODE[self.AREA].title)
        self.action_refresh()

    def action_refresh(self) -> None:
        if self.coordinator.store is not None:
            self.load(self.run_id, None)

    def _service(self) -> OnboardingService:
        """Built in the first worker (the config is read there). Worker only."""
        if self.service is None:
            from coordinator_tui.onboarding.service import OnboardingService

            store = self.coordinator.store
            assert store is not None
            self.service = OnboardingService(
                store, self.coordinator.config.requests, clock=self.coordinator.now
            )
        return self.service

    # --- reading ----------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="onboarding-load", exit_on_error=False)
    def load(self, run_id: int | None, keep_item: int | None) -> None:
        from store.directory import load_directory

        service = self._service()
        templates = service.templates()
        runs = service.runs()
        if run_id is None or all(run.id != run_id for run in runs):
            run_id = runs[0].id if runs else None
        view = service.view(run_id) if run_id is not None else None
        people = load_directory(service.store).people
        if not get_current_worker().is_cancelled:
            self.post_message(Loaded(runs, view, templates, people, keep_item))

    @on(Loaded)
    def loaded(self, message: Loaded) -> None:
        self.runs = message.runs
        self.templates = message.templates
        self.people = message.people
        self.view = message.view
        self.run_id = message.view.run.id if message.view is not None else None
        today = self._today()
        rows = [
            Row(
                run.id,
                (
                    clean_line(run.person_name, limit=80),
                    progress_bar(run.done, run.total),
                    f"{run.done}/{run.total}",
                    f"!{run.overdue}" if run.overdue else ("✓" if run.status == "done" else ""),
                ),
                dim=run.status != "open",
                alert=run.overdue > 0,
            )
            for run in self.runs
        ]
        self.run_list.set_rows(
            rows, (_("Person"), _("Progress"), "", ""), (0, BAR_WIDTH + 1, 7, 4), keep_key=self.run_id
        )
        open_count = sum(1 for run in self.runs if run.status == "open")
        self.query_one("#onboarding-runs-title", Static).update(
            Content.assemble(
                (_("Checklists"), "bold"),
                " · ",
                count_text("{n} open checklist", "{n} open checklists", open_count),
            )
        )
        self._show_view(today, message.keep_item)
        self.loaded_at = self.coordinator.now()

    def _today(self) -> date:
        return local(self.coordinator.now()).date()

    def _show_view(self, today: date, keep_item: int | None) -> None:
        header = self.query_one("#onboarding-header", Static)
        view = self.view
        if view is None:
            header.update(Content(_("No checklists yet. a: start one for a person of the directory.")))
            self.item_list.set_rows([], (), ())
            return
        run = view.run
        header.update(
            Content.assemble(
                (clean_line(run.person_name, limit=80), "bold"),
                " · ",
                plain(f"{run.template_name} v{run.template_version}", limit=80),
                " · ",
                _("starts {date}").format(date=fi_date(run.start_date)),
                " · ",
                _(STATUS_NAMES.get(run.status, run.status)),
                "\n",
                (progress_bar(run.done, run.total, 30), "$success"),
                f" {run.done}/{run.total}",
                (f" · {count_text('{n} overdue', '{n} overdue', run.overdue)}", "bold $text-error")
                if run.overdue
                else "",
            )
        )
        rows = []
        for item in view.items:
            overdue = item.done_at is None and item.due_on is not None and item.due_on < today
            done = fi_date(local(item.done_at).date()) if item.done_at else ""
            rows.append(
                Row(
                    item.id,
                    (
                        "[x]" if item.done_at else "[ ]",
                        fi_date(item.due_on) if item.due_on else "",
                        _(WHO_NAMES.get(item.who, item.who)),
                        clean_line(item.text, limit=200) + (" ✎" if item.note else ""),
                        done,
                    ),
                    dim=item.done_at is not None,
                    alert=overdue,
                )
            )
        self.item_list.set_rows(
            rows,
            ("", _("Due"), _("Who"), _("Item"), _("Done")),
            (4, 11, 13, 0, 11),
            keep_key=keep_item,
        )

    @on(DirectoryList.Highlighted, "#onboarding-runs")
    def run_highlighted(self, event: DirectoryList.Highlighted) -> None:
        if event.moved and event.row is not None and event.row.key != self.run_id:
            self.run_id = event.row.key
            self.load(event.row.key, None)

    @on(DirectoryList.Highlighted, "#onboarding-items")
    def item_highlighted(self, event: DirectoryList.Highlighted) -> None:
        detail = self.query_one("#onboarding-item", Static)
        item = self._item(event.row.key) if event.row is not None else None
        if item is None:
            detail.update(Content(""))
            return
        parts: list[Content | str | tuple[str, str]] = [plain(item.text, limit=300)]
        if item.link:
            parts += ["\n", (_("Link") + ": ", "bold"), plain(item.link, limit=300)]
        if item.request_reference:
            parts += ["\n", (_("Request") + ": ", "bold"), plain(item.request_reference, limit=40)]
        if item.done_at is not None:
            parts += [
                "\n",
                (_("Done") + ": ", "bold"),
                _("{time} by {who}").format(
                    time=fi_datetime(item.done_at), who=clean_line(item.done_by, limit=60)
                ),
            ]
        if item.note:
            parts += ["\n", (_("Note") + ": ", "bold"), plain(item.note, limit=1000)]
        detail.update(Content.assemble(*parts))

    def _item(self, item_id: int) -> RunItemRow | None:
        if self.view is None:
            return None
        return next((item for item in self.view.items if item.id == item_id), None)

    def action_open(self) -> None:
        self.item_list.focus()

    # --- ticking and notes ------------------------------------------------------------------------

    def action_toggle(self) -> None:
        row = self.item_list.current_row()
        item = self._item(row.key) if row is not None else None
        if item is None or self._busy or self.view is None:
            return
        self._busy = True
        self.toggle(item.id, item.done_at is None, self.view.run.person_name)

    @work(thread=True, exclusive=True, group="onboarding-change", exit_on_error=False)
    def toggle(self, item_id: int, done: bool, person: str) -> None:
        try:
            toggled = self._service().toggle(item_id, done)
        except (StoreError, KeyError) as error:
            self.post_message(Failed(_("The change was not saved: {error}").format(error=error)))
            return
        self.post_message(ItemToggled(toggled, person))

    @on(ItemToggled)
    def item_toggled(self, message: ItemToggled) -> None:
        self._busy = False
        if message.toggled.completed:
            self.notify(
                _("Checklist complete for {name}.").format(name=clean_line(message.person, limit=80)),
                markup=False,
            )
        self.load(self.run_id, message.toggled.item.id)

    @on(Failed)
    def failed(self, message: Failed) -> None:
        self._busy = False
        self.notify(clean_line(message.text, limit=300), severity="error", markup=False)

    def action_note(self) -> None:
        row = self.item_list.current_row()
        item = self._item(row.key) if row is not None else None
        if item is None:
            return

        def written(text: str | None) -> None:
            if text is not None:
                self.write_note(item.id, text)

        self.app.push_screen(NoteScreen(item.text, item.note), written)

    @work(thread=True, exclusive=True, group="onboarding-change", exit_on_error=False)
    def write_note(self, item_id: int, text: str) -> None:
        from coordinator_tui.onboarding.service import OnboardingError

        try:
            self._service().note(item_id, text)
        except (OnboardingError, StoreError, KeyError) as error:
            self.post_message(Failed(str(error)))
            return
        self.app.call_from_thread(self.load, self.run_id, item_id)

    # --- templates --------------------------------------------------------------------------------

    def action_templates(self) -> None:
        if self.coordinator.store is None or not self.templates:
            return

        def saved(template_id: int | None) -> None:
            if template_id is not None:
                self.notify(
                    _("Saved as a new version; checklists already started keep theirs."), markup=False
                )
                self.load(self.run_id, None)

        self.app.push_screen(TemplateEditScreen(self._service(), self.templates), saved)

    # --- starting ---------------------------------------------------------------------------------

    def action_start(self) -> None:
        if self.coordinator.store is None or not self.templates:
            return

        def chosen(choice: StartChoice | None) -> None:
            if choice is not None:
                self.start_run(choice)

        self.app.push_screen(StartRunScreen(self.templates, self.people, self._today()), chosen)

    @work(thread=True, exclusive=True, group="onboarding-change", exit_on_error=False)
    def start_run(self, choice: StartChoice) -> None:
        from coordinator_tui.onboarding.service import OnboardingError

        try:
            run_id = self._service().start(choice.template_id, choice.person_id, choice.start)
        except (OnboardingError, StoreError) as error:
            self.post_message(Failed(str(error)))
            return
        self.app.call_from_thread(self._started, run_id)

    def _started(self, run_id: int) -> None:
        self.run_id = run_id
        self.notify(_("Checklist started."), markup=False)
        self.load(run_id, None)
        self.item_list.focus()


@dataclass
class TemplateSaved(Message):
    template_id: int | None
    problems: list[str]


class TemplateEditScreen(ModalScreen[int | None]):
    """Edit a checklist template as lines of ``offset | who | text | link``; saving makes a new version
    (the runs already started keep the version they were started from)."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("ctrl+s", "save", N_("Save"), id="template.save", tooltip=N_("Save as a new version")),
        Binding("escape", "cancel", N_("Cancel"), id="template.cancel", tooltip=N_("Close without saving")),
    ]
    DEFAULT_CSS = """
    TemplateEditScreen { align: center middle; }
    TemplateEditScreen > Vertical { width: 95%; height: 90%; border: round $accent; background: $surface;
        padding: 0 1; }
    TemplateEditScreen OptionList { height: auto; max-height: 5; }
    TemplateEditScreen TextArea { height: 1fr; }
    TemplateEditScreen #template-problems { color: $text-error; height: auto; }
    """

    def __init__(self, service: OnboardingService, templates: list[TemplateRow]) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.service = service
        self.templates = templates
        self.chosen = 0
        self.saving = False

    def compose(self) -> ComposeResult:
        from textual.widgets import TextArea

        with Vertical():
            yield Static(Content(_("Checklist templates")), classes="heading")
            yield OptionList(
                *(
                    Option(plain(f"{t.name} (v{t.version})", limit=80), id=f"template-{t.id}")
                    for t in self.templates
                ),
                id="template-choice",
            )
            yield TextArea(id="template-text", soft_wrap=False)
            yield Static(Content(""), id="template-problems")
            yield Static(
                Content(
                    _(
                        "One item a line: working days from the start (negative: before it) | who ({who}) | "
                        "text | link (optional). ctrl+s: save as a new version · escape: cancel"
                    ).format(who=", ".join(WHO))
                ),
                classes="intro",
            )

    def on_mount(self) -> None:
        options = self.query_one("#template-choice", OptionList)
        options.highlighted = 0 if self.templates else None
        self._show(0)
        self.query_one("#template-text").focus()

    def _show(self, index: int) -> None:
        from textual.widgets import TextArea

        if not self.templates:
            return
        self.chosen = index
        self.query_one("#template-text", TextArea).load_text(template_text(self.templates[index].items))

    @on(OptionList.OptionHighlighted, "#template-choice")
    def template_chosen(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index != self.chosen:
            self._show(event.option_index)

    def action_save(self) -> None:
        from textual.widgets import TextArea

        if self.saving or not self.templates:
            return
        self.saving = True
        self.save(self.templates[self.chosen], self.query_one("#template-text", TextArea).text)

    @work(thread=True, exclusive=True, group="template-save", exit_on_error=False)
    def save(self, template: TemplateRow, text: str) -> None:
        from coordinator_tui.onboarding.service import OnboardingError
        from coordinator_tui.onboarding.templates import parse_template_text

        items, problems = parse_template_text(text)
        if problems:
            self.post_message(TemplateSaved(None, problems))
            return
        try:
            saved = self.service.edit_template(template.family, template.name, items)
        except (OnboardingError, StoreError) as error:
            self.post_message(TemplateSaved(None, [str(error)]))
            return
        self.post_message(TemplateSaved(saved, []))

    @on(TemplateSaved)
    def saved(self, message: TemplateSaved) -> None:
        self.saving = False
        if message.template_id is None:
            self.query_one("#template-problems", Static).update(
                Content("\n".join(clean_line(text, limit=300) for text in message.problems[:6]))
            )
            return
        self.dismiss(message.template_id)

    def action_cancel(self) -> None:
        self.dismiss(None)
