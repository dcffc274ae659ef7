"""Writing a version of a notice: the form on the left, the exact email on the right, rebuilt as you type.

New (``n``), update (``U``) and resolve (``K``) share this screen. The Finnish and Swedish texts
are templates the coordinator may edit: their placeholders are filled from the fields, and an
unknown or empty required placeholder shows at once and blocks sending. ctrl+g picks the
recipients from the directory's lists and units; ctrl+s saves a draft; ctrl+o (or F5) sends,
after a confirmation that says how many people, which lists and which languages.

The store is read in thread workers (the thread, the templates, the directory); the preview
itself is built on every change from what they returned, without IO.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Button, Input, SelectionList, Static, TextArea
from textual.widgets.selection_list import Selection
from textual.worker import Worker, WorkerState

from coordinator_tui.i18n import N_, _, count_text
from coordinator_tui.notices import compose as notice_compose
from coordinator_tui.notices import form, model
from coordinator_tui.notices.drafts import SavedDraft
from coordinator_tui.notices.recipients import Choice, Resolution
from coordinator_tui.screens.base import translated
from coordinator_tui.textclean import clean_line
from coordinator_tui.widgets.keyfooter import KeyFooter
from coordinator_tui.widgets.safe import plain, plain_block

if TYPE_CHECKING:
    from coordinator_tui.app import CoordinatorApp
    from coordinator_tui.notices.send import Preview
    from coordinator_tui.notices.templates import NoticeTemplate
    from store.notices import ListInfo, NoticeRecord, UnitInfo

MODE_HEADINGS = {
    "new": N_("New notice"),
    "update": N_("Update to the notice"),
    "resolve": N_("Resolved notice"),
}
PREVIEW_DELAY_S = 0.2  # after the last key; every key costs a layout of the preview otherwise


# --- a one-line choice that cycles with ←/→ ---------------------------------------------------------


class Cycle(Widget, can_focus=True):
    """One of a few values, changed with ← → (or space); shows ``◀ label ▶``."""

    DEFAULT_CSS = """
    Cycle { height: 1; width: 1fr; padding: 0 1; background: $boost; }
    Cycle:focus { background: $accent 25%; text-style: bold; }
    Cycle.-disabled { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("right,space", "next", show=False),
        Binding("left", "previous", show=False),
    ]
    index: reactive[int] = reactive(0)

    @dataclass
    class Changed(Message):
        cycle: Cycle
        value: str

        @property
        def control(self) -> Cycle:
            return self.cycle

    def __init__(self, options: list[tuple[str, str]], value: str, *, id: str, locked: bool = False) -> None:
        super().__init__(id=id)
        self.options = options
        self.locked = locked
        self.set_reactive(Cycle.index, self._index_of(value))
        if locked:
            self.add_class("-disabled")

    def _index_of(self, value: str) -> int:
        for number, (option, _label) in enumerate(self.options):
            if option == value:
                return number
        return 0

    @property
    def value(self) -> str:
        return self.options[self.index][0] if self.options else ""

    def set_options(self, options: list[tuple[str, str]], value: str) -> None:
        self.options = options
        self.set_reactive(Cycle.index, self._index_of(value))
        self.refresh()

    def render(self) -> Content:
        if not self.options:
            return Content("—")
        label = self.options[self.index][1]
        if self.locked:
            return Content(label)
        return Content.assemble(("◀ ", "dim"), label, (" ▶", "dim"))

    def action_next(self) -> None:
        self._move(1)

    def action_previous(self) -> None:
        self._move(-1)

    def _move(self, step: int) -> None:
        if self.locked or not self.options:
            return
        self.index = (self.index + step) % len(self.options)
        self.post_message(self.Changed(self, self.value))


# --- what the workers bring ------------------------------------------------------------------------


@dataclass
class ComposeData(Message):
    thread: notice_compose.ThreadState
    templates: list[NoticeTemplate]
    lists: list[ListInfo]
    units: list[UnitInfo]
    template_problems: list[str]


@dataclass
class RecipientsResolved(Message):
    choice: Choice
    resolution: Resolution


@dataclass
class DraftSaved(Message):
    draft: SavedDraft


# --- the recipient picker ----------------------------------------------------------------------------


@dataclass
class PickerResolved(Message):
    choice: Choice
    resolution: Resolution


class RecipientPicker(ModalScreen[Choice | None]):
    """Lists, units or everyone: space toggles, enter takes the choice, escape keeps the old one.

    The count of people it resolves to, the lists that expect Swedish and any address that cannot
    be sent to are shown as the choice changes.
    """

    DEFAULT_CSS = """
    RecipientPicker { align: center middle; }
    RecipientPicker > Vertical {
        width: 90%; max-width: 100; height: 85%; border: round $accent; background: $surface; padding: 0 1;
    }
    RecipientPicker SelectionList { height: 1fr; border: none; }
    RecipientPicker #picker-count { height: auto; text-style: bold; }
    RecipientPicker #picker-invalid { height: auto; max-height: 6; color: $error; }
    """
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("enter", "done", N_("Done"), id="recipients.done", priority=True),
        Binding("escape", "cancel", N_("Cancel"), id="recipients.cancel"),
    ]

    def __init__(self, lists: list[ListInfo], units: list[UnitInfo], choice: Choice) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.lists = lists
        self.units = units
        self.choice = choice

    def compose(self) -> ComposeResult:
        chosen_lists = {int(value) for value in self.choice.lists if isinstance(value, int)}
        chosen_units = set(self.choice.units)
        selections: list[Selection[str]] = [
            Selection(Content(_("Everyone in the directory")), "everyone", self.choice.everyone)
        ]
        for info in self.lists:
            label = Content.assemble(
                (_("List") + ": ", "dim"),
                plain(info.name, limit=80),
                ("  " + _("bilingual (fi/sv)"), "$warning") if info.bilingual else "",
            )
            selections.append(Selection(label, f"list:{info.id}", info.id in chosen_lists))
        for unit in self.units:
            label = Content.assemble(
                (_("Unit") + ": ", "dim"),
                plain(unit.name, limit=80),
                ("  " + count_text("{n} person", "{n} people", unit.people), "dim"),
            )
            selections.append(Selection(label, f"unit:{unit.id}", unit.id in chosen_units))
        with Vertical():
            yield Static(Content(_("Recipients")), classes="heading")
            yield SelectionList[str](*selections, id="picker-list")
            yield Static(Content(""), id="picker-count")
            yield Static(Content(""), id="picker-invalid")
            yield Static(Content(_("space: choose · enter: done · escape: cancel")), classes="intro")

    def on_mount(self) -> None:
        picker = self.query_one("#picker-list", SelectionList)
        picker.highlighted = 0
        picker.focus()
        self.resolve_choice(self.current())

    def current(self) -> Choice:
        values = self.query_one("#picker-list", SelectionList).selected
        return Choice(
            lists=[int(value[5:]) for value in values if value.startswith("list:")],
            units=[int(value[5:]) for value in values if value.startswith("unit:")],
            everyone="everyone" in values,
        )

    @on(SelectionList.SelectedChanged)
    def changed(self) -> None:
        self.resolve_choice(self.current())

    @work(thread=True, exclusive=True, group="notice-picker", exit_on_error=False)
    def resolve_choice(self, choice: Choice) -> None:
        from coordinator_tui.notices.recipients import resolve

        app = self.app
        store = getattr(app, "store", None)
        if store is None:
            return
        self.post_message(PickerResolved(choice, resolve(store, choice)))

    @on(PickerResolved)
    def show_resolution(self, message: PickerResolved) -> None:
        self.query_one("#picker-count", Static).update(Content(resolution_line(message.resolution)))
        invalid = message.resolution.invalid
        self.query_one("#picker-invalid", Static).update(
            plain_block(
                _("Cannot be sent to (left out): {list}").format(
                    list=", ".join(f"{name} <{address}>" for name, address in invalid)
                )
            )
            if invalid
            else Content("")
        )

    def action_done(self) -> None:
        self.dismiss(self.current())

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            report = getattr(self.app, "report_worker_error", None)
            if report is not None:
                report(event.worker)


def resolution_line(resolution: Resolution) -> str:
    text = count_text("Goes to {n} person", "Goes to {n} people", resolution.count)
    if resolution.swedish_readers:
        text += " · " + count_text("{n} reads Swedish", "{n} read Swedish", resolution.swedish_readers)
    if resolution.invalid:
        text += " · " + count_text(
            "{n} address cannot be used", "{n} addresses cannot be used", len(resolution.invalid)
        )
    return text


class LeaveQuestion(ModalScreen[str]):
    """y leaves without saving, s saves a draft and leaves, n or escape goes back to writing."""

    DEFAULT_CSS = """
    LeaveQuestion { align: center middle; }
    LeaveQuestion > Vertical {
        width: 64; height: auto; border: round $warning; background: $surface; padding: 1 2;
    }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(_("Leave the notice? Nothing has been sent.")), classes="heading")
            yield Static(
                Content(
                    _("s: save as a draft and leave · y: leave without saving · n or escape: keep writing")
                ),
                classes="intro",
            )

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        if event.key in ("y", "k"):
            self.dismiss("discard")
        elif event.key in ("s", "ctrl+s"):
            self.dismiss("save")
        elif event.key in ("n", "e", "escape"):
            self.dismiss("stay")


# --- the compose screen ------------------------------------------------------------------------------


@dataclass
class Setup:
    """What the screen opens with."""

    mode: str = "new"  # new, update, resolve
    notice: NoticeRecord | None = None
    saved: SavedDraft | None = None
    choice: Choice = field(default_factory=Choice)


class NoticeComposeScreen(Screen[None]):
    """Edit one version of a notice with its live preview, save it as a draft or send it."""

    AUTO_FOCUS = ""
    BINDINGS: ClassVar[list[Binding]] = [
        Binding(
            "ctrl+o",
            "send",
            N_("Send"),
            id="notice.send",
            priority=True,
            tooltip=N_("Send this version (F5 too), after a confirmation"),
        ),
        Binding("f5", "send", N_("Send"), id="notice.send_f5", priority=True, show=False),
        Binding("ctrl+s", "save", N_("Save draft"), id="notice.save", priority=True),
        Binding(
            "ctrl+g",
            "recipients",
            N_("Recipients"),
            id="notice.recipients",
            priority=True,
            tooltip=N_("Choose lists and units from the directory"),
        ),
        Binding(
            "ctrl+t",
            "swedish",
            N_("Swedish template"),
            id="notice.swedish",
            priority=True,
            tooltip=N_("Put the Swedish template in the Swedish text"),
        ),
        Binding("escape", "cancel", N_("Cancel"), id="notice.cancel"),
        # Outside a text field q would quit the app with the notice unsaved: here it asks first.
        Binding("q", "cancel", N_("Cancel"), id="notice.quit", show=False),
    ]
    DEFAULT_CSS = """
    NoticeComposeScreen { layout: vertical; }
    NoticeComposeScreen #nc-body { height: 1fr; }
    NoticeComposeScreen #nc-form { width: 58; height: 1fr; border-right: vkey $panel; padding: 0 1 0 0; }
    NoticeComposeScreen #nc-preview { width: 1fr; height: 1fr; padding: 0 1; }
    NoticeComposeScreen .nc-label { color: $text-muted; padding: 0 1; margin-top: 1; height: 1; }
    NoticeComposeScreen #nc-form Input { border: none; height: 1; padding: 0 1; background: $boost; }
    NoticeComposeScreen #nc-form Input:focus { background: $accent 25%; }
    NoticeComposeScreen #nc-form Input.-invalid { background: $error 30%; }
    NoticeComposeScreen #nc-form TextArea { border: none; height: 3; background: $boost; padding: 0 1; }
    NoticeComposeScreen #nc-form TextArea:focus { background: $accent 15%; }
    NoticeComposeScreen #nc-form #nc-text-fi { height: 14; }
    NoticeComposeScreen #nc-form #nc-text-sv { height: 8; }
    NoticeComposeScreen #nc-form SelectionList { border: none; height: auto; max-height: 8; padding: 0; }
    NoticeComposeScreen #nc-recipients-row { height: 3; margin-top: 1; }
    NoticeComposeScreen #nc-recipients-button { min-width: 20; }
    NoticeComposeScreen #nc-recipients { padding: 0 1; height: auto; width: 1fr; }
    NoticeComposeScreen #nc-problems { color: $error; text-style: bold; height: auto; }
    NoticeComposeScreen #nc-warnings { color: $warning; height: auto; }
    NoticeComposeScreen #nc-headers { height: auto; background: $boost; padding: 0 1; margin-top: 1; }
    NoticeComposeScreen #nc-mailbody { height: auto; padding: 1 1; }
    """

    def __init__(self, setup: Setup) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.setup = setup
        self.mode = setup.mode
        self.notice = setup.notice
        self.saved = setup.saved
        self.choice = setup.choice
        self.thread: notice_compose.ThreadState | None = None
        self.template_list: list[NoticeTemplate] = []
        self.lists: list[ListInfo] = []
        self.units: list[UnitInfo] = []
        self.resolution: Resolution | None = None
        self.loaded_template = {"fi": "", "sv": ""}  # the template text last put in, to know if it was edited
        self.message_id = self.saved.message_id if self.saved and self.saved.message_id else ""
        self.preview: Preview | None = None
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.scheduled_at: datetime | None = None
        self.draft: notice_compose.NoticeDraft | None = None
        self._refresh_timer: Any = None
        self._initial: tuple[object, ...] | None = None
        self._shown: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.loaded_at: datetime | None = None

    @property
    def coordinator(self) -> CoordinatorApp:
        from coordinator_tui.app import CoordinatorApp

        assert isinstance(self.app, CoordinatorApp)
        return self.app

    @property
    def demo(self) -> bool:
        return bool(self.coordinator.context.demo)

    # -- what the form starts from -------------------------------------------------------------------

    def _start_values(self) -> SavedDraft:
        """The form's first values: the saved draft, or the notice as last sent, or a new notice."""
        if self.saved is not None:
            return self.saved
        now = self.coordinator.now()
        config = self.coordinator.config
        contact = ", ".join(part for part in (config.smtp.from_name, config.smtp.from_address) if part)
        if self.demo and not contact:
            from coordinator_tui.demo.data import SHARED_MAILBOX, SHARED_MAILBOX_NAME

            contact = f"{SHARED_MAILBOX_NAME}, {SHARED_MAILBOX}"
        notice = self.notice
        if notice is None:
            return SavedDraft(mode="new", start=form.format_time(now), contact=contact)
        draft = form.next_draft(
            notice.kind,
            notice.services,
            notice.status,
            notice.start_at,
            notice.expected_end_at,
            notice.actual_end_at,
            notice.impact,
            notice.instructions,
            notice.contact or contact,
            mode=self.mode,
            now=now,
        )
        return SavedDraft(
            mode=self.mode,
            notice_id=notice.id,
            kind=draft.kind,
            services=list(draft.services),
            status=draft.status,
            start=form.format_time(draft.start_at),
            expected_end=form.format_time(draft.expected_end_at),
            actual_end=form.format_time(draft.actual_end_at),
            impact=draft.impact,
            instructions=draft.instructions,
            contact=draft.contact,
            source_sv="",
        )

    def _stage_options(self, kind: str) -> list[tuple[str, str]]:
        previous = self.thread.previous_status if self.thread is not None else None
        if previous is None and self.notice is not None:
            previous = self.notice.status
        stages = model.next_stages(kind, previous) or model.stages_for(kind)
        return [(stage, _(model.STAGE_LABELS.get(stage, stage))) for stage in stages]

    def compose(self) -> ComposeResult:
        values = self._start_values()
        self.start_values = values
        heading = _(MODE_HEADINGS.get(self.mode, MODE_HEADINGS["new"]))
        if self.notice is not None:
            heading += f" · {clean_line(self.notice.subject, limit=80)}"
        if self.demo:
            heading += " · " + _("demo: stored in the outbox, nothing is sent")
        services = list(self.coordinator.config.notices.services)
        services += [name for name in values.services if name not in services]
        yield Static(plain(heading, limit=200), classes="heading", id="nc-heading")
        with Horizontal(id="nc-body"):
            with VerticalScroll(id="nc-form"):
                yield Static(Content(_("Kind")), classes="nc-label")
                yield Cycle(
                    [(kind, _(model.KIND_LABELS[kind])) for kind in model.KINDS],
                    values.kind,
                    id="nc-kind",
                    locked=self.mode != "new",
                )
                yield Static(Content(_("Affected services (space chooses)")), classes="nc-label")
                yield SelectionList[str](
                    *(Selection(plain(name), name, name in values.services) for name in services),
                    id="nc-services",
                )
                yield Static(Content(_("Impact: what does not work")), classes="nc-label")
                yield TextArea(values.impact, id="nc-impact", soft_wrap=True, show_line_numbers=False)
                yield Static(
                    Content(_("Instructions for units, one per line (e.g. call Päivystysapu 116117)")),
                    classes="nc-label",
                )
                yield TextArea(
                    values.instructions, id="nc-instructions", soft_wrap=True, show_line_numbers=False
                )
                yield Static(Content(_("Contact")), classes="nc-label")
                yield Input(values.contact, id="nc-contact")
                with Horizontal(id="nc-recipients-row"):
                    yield Button(_("Recipients…"), id="nc-recipients-button", compact=False)
                    yield Static(Content(_("No recipients yet (ctrl+g).")), id="nc-recipients")
                yield Static(Content(_("Status")), classes="nc-label")
                yield Cycle(self._stage_options(values.kind), values.status, id="nc-stage")
                yield Static(Content(_("Start (e.g. 23.11.2026 10.15)")), classes="nc-label")
                yield Input(values.start, id="nc-start")
                yield Static(Content(_("Expected end (optional)")), classes="nc-label")
                yield Input(values.expected_end, id="nc-expected-end")
                yield Static(Content(_("Ended (for a resolved notice)")), classes="nc-label")
                yield Input(values.actual_end, id="nc-actual-end")
                if self.mode != "new":
                    yield Static(
                        Content(_("What changed since the last version (empty: described automatically)")),
                        classes="nc-label",
                    )
                    yield TextArea(values.changes, id="nc-changes", soft_wrap=True, show_line_numbers=False)
                yield Static(Content(_("Send at (empty: now; e.g. a reminder)")), classes="nc-label")
                yield Input(values.send_at, id="nc-send-at")
                yield Static(
                    Content(_("Finnish text (a template: placeholders are filled in from the fields)")),
                    classes="nc-label",
                )
                yield TextArea(values.source_fi, id="nc-text-fi", soft_wrap=True, show_line_numbers=False)
                yield Static(Content(_("Swedish text (optional; ctrl+t: the template)")), classes="nc-label")
                yield TextArea(values.source_sv, id="nc-text-sv", soft_wrap=True, show_line_numbers=False)
            with VerticalScroll(id="nc-preview"):
                yield Static(Content(_("Preview of the email")), classes="subheading")
                yield Static(Content(""), id="nc-problems")
                yield Static(Content(""), id="nc-warnings")
                yield Static(Content(""), id="nc-headers")
                yield Static(Content(""), id="nc-mailbody")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = _(MODE_HEADINGS.get(self.mode, MODE_HEADINGS["new"]))
        services = self.query_one("#nc-services", SelectionList)
        if services.option_count:
            services.highlighted = 0
        if self.mode == "new":
            services.focus()
        elif self.mode == "resolve":
            self.query_one("#nc-actual-end", Input).focus()
        else:
            self.query_one("#nc-stage", Cycle).focus()
        self.load_data(self.notice.id if self.notice is not None else None)

    # -- loading ------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="notice-compose-load", exit_on_error=False)
    def load_data(self, notice_id: int | None) -> None:
        from coordinator_tui.notices import templates
        from coordinator_tui.notices.recipients import resolve
        from coordinator_tui.notices.send import thread_state
        from store import notices as notice_store

        store = self.coordinator.store
        assert store is not None
        template_list, problems = templates.load_templates()
        self.post_message(
            ComposeData(
                thread_state(store, notice_id),
                template_list,
                notice_store.mailing_lists(store),
                notice_store.units_with_people(store),
                problems,
            )
        )
        self.post_message(RecipientsResolved(self.choice, resolve(store, self.choice)))

    @on(ComposeData)
    def data_loaded(self, message: ComposeData) -> None:
        self.thread = message.thread
        self.template_list = message.templates
        self.lists = message.lists
        self.units = message.units
        if message.template_problems:
            self.notify("\n".join(message.template_problems), severity="warning", markup=False)
        values = self.start_values
        stage = self.query_one("#nc-stage", Cycle)
        stage.set_options(self._stage_options(values.kind), values.status)
        fi = self.query_one("#nc-text-fi", TextArea)
        if not values.source_fi:
            self._load_template("fi", force=True)
        else:
            self.loaded_template["fi"] = form.template_source(
                self.template_list, values.kind, values.status, "fi"
            )
            if fi.text != values.source_fi:
                fi.load_text(values.source_fi)
        if not self.message_id:
            config = self.coordinator.config
            self.message_id = notice_compose.new_message_id(self._from()[0], demo=self.demo)
            del config
        self._initial = self._snapshot()
        self.refresh_preview()

    def _load_template(self, language: str, *, force: bool = False) -> None:
        """Put the template for the current kind and stage in; an edited text is kept unless ``force``."""
        area = self.query_one(f"#nc-text-{language}", TextArea)
        source = form.template_source(self.template_list, self.kind(), self.stage(), language)
        untouched = area.text == self.loaded_template[language]
        if force or untouched or (not area.text.strip() and language == "fi"):
            area.load_text(source)
        self.loaded_template[language] = source

    @on(RecipientsResolved)
    def recipients_resolved(self, message: RecipientsResolved) -> None:
        self.choice = message.choice
        self.resolution = message.resolution
        self._show_recipients()
        self.refresh_preview()

    def chosen_names(self) -> str:
        """What was picked, in words: everyone, the lists' and the units' names."""
        names = [_("everyone")] if self.choice.everyone else []
        names += list(self.resolution.lists) if self.resolution is not None else []
        unit_names = {unit.id: unit.name for unit in self.units}
        names += [unit_names.get(unit_id, str(unit_id)) for unit_id in self.choice.units]
        return ", ".join(clean_line(name, limit=80) for name in names)

    def _show_recipients(self) -> None:
        widget = self.query_one("#nc-recipients", Static)
        resolution = self.resolution
        if resolution is None or (
            not self.choice.lists and not self.choice.units and not self.choice.everyone
        ):
            widget.update(Content(_("No recipients yet (ctrl+g).")))
            return
        parts = [Content(resolution_line(resolution)), plain(" · " + self.chosen_names(), limit=300)]
        if resolution.invalid:
            parts.append(
                Content.styled(
                    "\n"
                    + _("Left out: {list}").format(
                        list=", ".join(clean_line(f"{n} <{a}>", limit=120) for n, a in resolution.invalid)
                    ),
                    "$error",
                )
            )
        widget.update(Content("").join(parts))

    # -- reading the form ------------------------------------------------------------------------------

    def kind(self) -> str:
        return self.query_one("#nc-kind", Cycle).value

    def stage(self) -> str:
        return self.query_one("#nc-stage", Cycle).value

    def _text(self, selector: str) -> str:
        widget = self.query_one(selector)
        if isinstance(widget, TextArea):
            return widget.text
        assert isinstance(widget, Input)
        return widget.value

    def _from(self) -> tuple[str, str]:
        config = self.coordinator.config
        address, name = config.smtp.from_address, config.smtp.from_name
        if self.demo:
            from coordinator_tui.demo.data import SHARED_MAILBOX, SHARED_MAILBOX_NAME

            address = address or SHARED_MAILBOX
            name = name or SHARED_MAILBOX_NAME
        return address, name

    def _snapshot(self) -> tuple[object, ...]:
        return (
            self.kind(),
            tuple(self.query_one("#nc-services", SelectionList).selected),
            self.stage(),
            *(
                self._text(selector)
                for selector in (
                    "#nc-start",
                    "#nc-expected-end",
                    "#nc-actual-end",
                    "#nc-impact",
                    "#nc-instructions",
                    "#nc-contact",
                    "#nc-send-at",
                    "#nc-text-fi",
                    "#nc-text-sv",
                )
            ),
            self._text("#nc-changes") if self.mode != "new" else "",
            tuple(self.choice.lists),
            tuple(self.choice.units),
            self.choice.everyone,
        )

    def changed(self) -> bool:
        return self._initial is not None and self._snapshot() != self._initial

    def saved_draft(self) -> SavedDraft:
        return SavedDraft(
            key=self.saved.key if self.saved is not None else "",
            mode=self.mode,
            notice_id=self.notice.id if self.notice is not None else None,
            kind=self.kind(),
            services=list(self.query_one("#nc-services", SelectionList).selected),
            status=self.stage(),
            start=self._text("#nc-start"),
            expected_end=self._text("#nc-expected-end"),
            actual_end=self._text("#nc-actual-end"),
            send_at=self._text("#nc-send-at"),
            impact=self._text("#nc-impact"),
            instructions=self._text("#nc-instructions"),
            contact=self._text("#nc-contact"),
            source_fi=self._text("#nc-text-fi"),
            source_sv=self._text("#nc-text-sv"),
            changes=self._text("#nc-changes") if self.mode != "new" else "",
            lists=[int(value) for value in self.choice.lists if isinstance(value, int)],
            units=list(self.choice.units),
            everyone=self.choice.everyone,
            message_id=self.message_id,
        )

    # -- the live preview ------------------------------------------------------------------------------

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(SelectionList.SelectedChanged)
    def _edited(self) -> None:
        if self._refresh_timer is not None:
            self._refresh_timer.stop()
        self._refresh_timer = self.set_timer(PREVIEW_DELAY_S, self.refresh_preview)

    @on(Cycle.Changed, "#nc-kind")
    def _kind_changed(self, event: Cycle.Changed) -> None:
        stage = self.query_one("#nc-stage", Cycle)
        stage.set_options(self._stage_options(event.value), model.initial_stage(event.value))
        self._load_template("fi")
        self.refresh_preview()

    @on(Cycle.Changed, "#nc-stage")
    def _stage_changed(self) -> None:
        self._load_template("fi")
        if self._text("#nc-text-sv").strip():
            self._load_template("sv")
        if self.stage() in model.RESOLVED_STAGES and not self._text("#nc-actual-end").strip():
            self.query_one("#nc-actual-end", Input).value = form.format_time(self.coordinator.now())
        self.refresh_preview()

    def build_draft(self) -> tuple[notice_compose.NoticeDraft, list[str]]:
        """The draft the form describes, and the problems of the form itself (times, templates)."""
        now = self.coordinator.now()
        problems: list[str] = []
        times: dict[str, datetime | None] = {}
        for name, selector, label in (
            ("start", "#nc-start", _("Start")),
            ("expected", "#nc-expected-end", _("Expected end")),
            ("actual", "#nc-actual-end", _("Ended")),
            ("send_at", "#nc-send-at", _("Send at")),
        ):
            widget = self.query_one(selector, Input)
            try:
                times[name] = form.parse_time(widget.value, now)
                widget.remove_class("-invalid")
            except form.TimeError as error:
                times[name] = None
                widget.add_class("-invalid")
                problems.append(f"{label}: {error}")
        draft = notice_compose.NoticeDraft(
            kind=self.kind(),
            services=list(self.query_one("#nc-services", SelectionList).selected),
            status=self.stage(),
            start_at=times["start"],
            expected_end_at=times["expected"],
            actual_end_at=times["actual"]
            if self.stage() in (*model.RESOLVED_STAGES, model.CANCELLED)
            else None,
            impact=self._text("#nc-impact"),
            instructions=self._text("#nc-instructions"),
            contact=self._text("#nc-contact"),
        )
        if draft.status not in model.RESOLVED_STAGES and times["actual"] is not None:
            draft.actual_end_at = times["actual"]
        self.scheduled_at = times["send_at"]
        if self.scheduled_at is not None and self.scheduled_at <= now:
            problems.append(_("Send at: that time has passed; leave it empty to send now."))
        source_fi = self._text("#nc-text-fi")
        fi = form.render_text(source_fi, draft, "fi")
        problems += fi.problems
        if not source_fi.strip():
            problems.append(_("The Finnish text is empty; it is required."))
        draft.text_fi = fi.text or form.display_text(source_fi, draft, "fi") or "—"
        source_sv = self._text("#nc-text-sv")
        sv = form.render_text(source_sv, draft, "sv")
        problems += sv.problems
        draft.text_sv = sv.text or form.display_text(source_sv, draft, "sv")
        if self.mode != "new" and self.notice is not None:
            previous = form.Previous(
                status=self.thread.previous_status or self.notice.status
                if self.thread
                else self.notice.status,
                services=self.notice.services,
                expected_end_at=self.notice.expected_end_at,
                actual_end_at=self.notice.actual_end_at,
                impact=self.notice.impact,
                instructions=self.notice.instructions,
            )
            typed = self._text("#nc-changes")
            draft.changes = typed if typed.strip() else form.describe_changes(previous, draft, "fi")
            if not typed.strip() and draft.text_sv.strip():
                draft.changes_sv = form.describe_changes(previous, draft, "sv")
        return draft, problems

    def refresh_preview(self) -> None:
        from coordinator_tui.notices.send import preview_from

        self._refresh_timer = None
        if self.thread is None or self.resolution is None or not self.is_mounted:
            return
        draft, problems = self.build_draft()
        address, name = self._from()
        result = preview_from(
            self.thread,
            self.resolution,
            draft,
            from_address=address,
            from_name=name,
            to_address=self.coordinator.config.notices.to_address,
            now=self.coordinator.now(),
            message_id=self.message_id,
            template_list=self.template_list,
        )
        self.preview = result
        self.draft = draft
        self.problems = list(dict.fromkeys([*problems, *result.problems]))
        warnings = list(result.warnings)
        if not draft.text_sv.strip() and self.resolution.bilingual_lists:
            warnings.append(
                _("No Swedish text, but these lists expect one: {lists}.").format(
                    lists=", ".join(self.resolution.bilingual_lists)
                )
            )
        self.warnings = list(dict.fromkeys(warnings))
        self._show_preview(draft)
        self.loaded_at = self.coordinator.now()

    def _update(self, selector: str, content: Content) -> None:
        """Update a preview part only when its text changed: each update lays the screen out again."""
        key = (content.plain, tuple(str(span) for span in content.spans))
        if self._shown.get(selector) == key:
            return
        self._shown[selector] = key
        widget = self.query_one(selector, Static)
        widget.update(content)
        widget.display = bool(content.plain)

    def _show_preview(self, draft: notice_compose.NoticeDraft) -> None:
        if self.problems:
            self._update(
                "#nc-problems",
                plain_block(
                    _("Cannot be sent yet:") + "\n" + "\n".join("• " + problem for problem in self.problems)
                ),
            )
        else:
            self._update("#nc-problems", Content(""))
        self._update(
            "#nc-warnings",
            plain_block("\n".join("⚠ " + warning for warning in self.warnings))
            if self.warnings
            else Content(""),
        )
        preview = self.preview
        assert preview is not None and self.resolution is not None
        bcc = count_text(
            "{n} recipient (in the envelope only, not in the headers)",
            "{n} recipients (in the envelope only, not in the headers)",
            self.resolution.count,
        )
        if preview.built is not None:
            message = preview.built.message
            headers = [
                ("From", str(message["From"])),
                ("To", str(message["To"])),
                ("Bcc", bcc),
                ("Subject", str(message["Subject"])),
                ("Date", str(message["Date"])),
                ("Message-ID", str(message["Message-ID"])),
            ]
            if message["In-Reply-To"]:
                headers.append(("In-Reply-To", str(message["In-Reply-To"])))
                headers.append(("References", str(message["References"])))
            headers.append(("Content-Language", str(message["Content-Language"])))
            body = preview.built.body_fi
            if preview.built.body_sv:
                body += f"\n\n{notice_compose.SWEDISH_DIVIDER}\n\n{preview.built.body_sv}"
        else:
            thread = preview.thread
            subject = thread.subject
            if not subject and draft.start_at is not None and draft.services:
                subject = notice_compose.thread_subject(draft.kind, draft.services, draft.start_at)
            address, name = self._from()
            to_address = self.coordinator.config.notices.to_address or address
            headers = [
                ("From", f"{name} <{address}>" if name else address),
                ("To", to_address),
                ("Bcc", bcc),
                (
                    "Subject",
                    notice_compose.version_subject(subject, thread.number, draft.status) if subject else "—",
                ),
                ("Message-ID", self.message_id),
            ]
            if thread.root_message_id:
                headers.append(("In-Reply-To", thread.root_message_id))
            body = draft.text_fi
            if draft.text_sv.strip():
                body += f"\n\n{notice_compose.SWEDISH_DIVIDER}\n\n{draft.text_sv}"
        width = max(len(name) for name, _value in headers) + 1
        self._update(
            "#nc-headers",
            Content("\n").join(
                Content.assemble((f"{name + ':':<{width}} ", "bold"), plain(value, limit=400))
                for name, value in headers
            ),
        )
        self._update("#nc-mailbody", plain_block(body))

    # -- keys --------------------------------------------------------------------------------------------

    @on(Button.Pressed, "#nc-recipients-button")
    def action_recipients(self) -> None:
        def chosen(choice: Choice | None) -> None:
            if choice is not None:
                self.choice = choice
                self.resolve_recipients(choice)

        self.app.push_screen(RecipientPicker(self.lists, self.units, self.choice), chosen)

    @work(thread=True, exclusive=True, group="notice-compose-resolve", exit_on_error=False)
    def resolve_recipients(self, choice: Choice) -> None:
        from coordinator_tui.notices.recipients import resolve

        store = self.coordinator.store
        assert store is not None
        self.post_message(RecipientsResolved(choice, resolve(store, choice)))

    def action_swedish(self) -> None:
        area = self.query_one("#nc-text-sv", TextArea)
        source = form.template_source(self.template_list, self.kind(), self.stage(), "sv")
        area.load_text(source)
        self.loaded_template["sv"] = source
        area.focus()

    def action_save(self) -> None:
        self.save_draft(self.saved_draft())

    @work(thread=True, exclusive=True, group="notice-compose-save", exit_on_error=False)
    def save_draft(self, draft: SavedDraft, leave: bool = False) -> None:
        from coordinator_tui.notices import drafts

        saved = drafts.save(draft)
        self.post_message(DraftSaved(saved))
        if leave:
            self.app.call_from_thread(self.dismiss, None)

    @on(DraftSaved)
    def draft_saved(self, message: DraftSaved) -> None:
        self.saved = message.draft
        self._initial = self._snapshot()
        self.notify(_("Saved as a draft; nothing was sent."), markup=False)

    def action_cancel(self) -> None:
        if not self.changed():
            self.dismiss(None)
            return

        def answered(what: str | None) -> None:
            if what == "discard":
                self.dismiss(None)
            elif what == "save":
                self.save_draft(self.saved_draft(), leave=True)

        self.app.push_screen(LeaveQuestion(), answered)

    def action_send(self) -> None:
        from coordinator_tui.notices.send import confirmation
        from coordinator_tui.screens.noticesend import ConfirmSend, SendJob, SendProgressScreen

        if self._refresh_timer is not None:
            self._refresh_timer.stop()
        self.refresh_preview()
        preview = self.preview
        if preview is None or self.draft is None:
            self.notify(_("Wait a moment: the notice is still being read."), markup=False)
            return
        if self.problems or preview.built is None:
            self.app.bell()
            self.notify(
                "\n".join([_("Not sent:"), *self.problems]), severity="error", markup=False, timeout=8
            )
            return
        question = confirmation(preview, self.chosen_names())
        if self.scheduled_at is not None:
            from coordinator_tui.timefmt import fi_datetime

            question += "\n" + _("It is stored now and sent at {time}.").format(
                time=fi_datetime(self.scheduled_at)
            )
        address, name = self._from()
        job = SendJob(
            mode=self.mode,
            notice_id=self.notice.id if self.notice is not None else None,
            draft=self.draft,
            choice=self.choice,
            message_id=self.message_id,
            scheduled_at=self.scheduled_at,
            from_address=address,
            from_name=name,
            to_address=self.coordinator.config.notices.to_address,
            recipients=list(self.resolution.addresses) if self.resolution else [],
            number=preview.thread.number,
            subject=preview.built.subject,
            draft_key=self.saved.key if self.saved is not None else "",
        )

        def answered(send: bool | None) -> None:
            if send:
                self.app.switch_screen(SendProgressScreen(job))

        self.app.push_screen(ConfirmSend(question, self.warnings), answered)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.coordinator.report_worker_error(event.worker)
