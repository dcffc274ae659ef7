"""The Network screen's dialogs: a person's form (checked before it closes), the import file's path,
and the import's dry-run preview, which writes nothing until the coordinator confirms."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from coordinator_tui.directory.validation import Draft, Problem, check_email
from coordinator_tui.i18n import N_, _, count_text
from coordinator_tui.screens.base import translated
from coordinator_tui.textclean import clean_line
from coordinator_tui.widgets.directorylist import DirectoryList, Row
from coordinator_tui.widgets.keyfooter import KeyFooter
from coordinator_tui.widgets.safe import plain
from store.errors import StoreError

if TYPE_CHECKING:
    from datetime import date

    from coordinator_tui.directory.csvimport import ImportPreview
    from coordinator_tui.directory.service import DirectoryService, ImportDone
    from coordinator_tui.meetings.record import MeetingDraft

FORM_FIELDS: tuple[tuple[str, str], ...] = (
    ("name", N_("Name")),
    ("email", N_("E-mail")),
    ("phone", N_("Phone")),
    ("unit", N_("Unit")),
    ("roles", N_("Roles")),
    ("language", N_("Language")),
)
STATUS_NAMES = {
    "added": N_("added"),
    "changed": N_("changed"),
    "unchanged": N_("unchanged"),
    "rejected": N_("rejected"),
}
FIELD_NAMES = {
    "name": N_("name"),
    "email": N_("e-mail"),
    "phone": N_("phone"),
    "unit": N_("unit"),
    "roles": N_("roles"),
    "language": N_("language"),
    "active": N_("active"),
    "left_on": N_("left on"),
}


@dataclass
class FormProblems(Message):
    problems: list[Problem]


@dataclass
class FormSaved(Message):
    person_id: int  # or the meeting's id, from the meeting form


class PersonForm(ModalScreen[int | None]):
    """Add or edit a person; ctrl+s checks and saves, and the form stays open while anything is wrong."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("ctrl+s", "save", N_("Save"), id="person.save", tooltip=N_("Check the fields and save")),
        Binding("escape", "cancel", N_("Cancel"), id="person.cancel", tooltip=N_("Close without saving")),
    ]
    DEFAULT_CSS = """
    PersonForm { align: center middle; }
    PersonForm > Vertical { width: 90; height: auto; max-height: 90%; border: round $accent;
        background: $surface; padding: 1 2; }
    PersonForm .form-row { height: auto; }
    PersonForm .form-label { width: 14; padding: 1 1 0 0; }
    PersonForm Input { width: 1fr; }
    PersonForm Input.-invalid { border: tall $error; }
    PersonForm #person-problems { color: $text-error; margin-top: 1; }
    """

    def __init__(
        self,
        service: DirectoryService,
        *,
        person_id: int | None = None,
        draft: Draft | None = None,
        units: Sequence[str] = (),
        roles: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.service = service
        self.person_id = person_id
        self.draft = draft or Draft("", "")
        self.units = list(units)
        self.roles = list(roles)
        self.saving = False

    def compose(self) -> ComposeResult:
        title = _("New person") if self.person_id is None else _("Edit person")
        with Vertical():
            yield Static(Content(title), classes="heading")
            for field, label in FORM_FIELDS:
                with Horizontal(classes="form-row"):
                    yield Label(Content(_(label)), classes="form-label")
                    # A name stored before cleaning (or pasted) must not reach the terminal raw.
                    value = clean_line(getattr(self.draft, field), 2000)
                    suggester = None
                    if field == "unit" and self.units:
                        suggester = SuggestFromList(self.units, case_sensitive=False)
                    # Focus keeps the text: after a refused save the user fixes it, not retypes it.
                    yield Input(value=value, id=f"person-{field}", suggester=suggester, select_on_focus=False)
            yield Static(
                Content(_("Roles, separated by commas: {roles}").format(roles=", ".join(self.roles))),
                classes="intro",
            )
            yield Static(Content(_("Language: fi or sv (the language notices go in).")), classes="intro")
            yield Static(Content(""), id="person-problems")
            yield Static(Content(_("ctrl+s: save · escape: cancel · tab: next field")), classes="intro")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#person-name", Input).focus()

    def _draft(self) -> Draft:
        def value(field: str) -> str:
            return self.query_one(f"#person-{field}", Input).value

        return Draft(
            name=value("name"),
            email=value("email"),
            phone=value("phone"),
            unit=value("unit"),
            roles=value("roles"),
            language=value("language"),
        )

    @on(Input.Changed, "#person-email")
    def email_typed(self, event: Input.Changed) -> None:
        # The form of the address is checked as it is typed (duplicates when saving).
        if not event.value.strip():
            event.input.remove_class("-invalid")
            return
        _address, problem = check_email(event.value)
        event.input.set_class(problem is not None, "-invalid")

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        self.focus_next()

    def action_save(self) -> None:
        if not self.saving:
            self.saving = True
            self.save(self._draft())

    @work(thread=True, exclusive=True, group="person-save", exit_on_error=False)
    def save(self, draft: Draft) -> None:
        from coordinator_tui.directory.service import NotSaved

        try:
            person_id = self.service.save(draft, self.person_id)
        except NotSaved as error:
            self.post_message(FormProblems(error.problems))
            return
        except StoreError as error:
            self.post_message(FormProblems([Problem("store", f"{error.what} {error.todo}".strip())]))
            return
        self.post_message(FormSaved(person_id))

    @on(FormProblems)
    def show_problems(self, message: FormProblems) -> None:
        self.saving = False
        fields = {problem.field for problem in message.problems}
        for field, _label in FORM_FIELDS:
            self.query_one(f"#person-{field}", Input).set_class(field in fields, "-invalid")
        self.query_one("#person-problems", Static).update(
            Content("\n".join(clean_line(problem.text, limit=300) for problem in message.problems))
        )
        first = next((field for field, _label in FORM_FIELDS if field in fields), None)
        if first is not None:
            self.query_one(f"#person-{first}", Input).focus()

    @on(FormSaved)
    def saved(self, message: FormSaved) -> None:
        self.dismiss(message.person_id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PathScreen(ModalScreen[str | None]):
    """Ask for the path of the CSV file to import."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "cancel", N_("Cancel"), id="path.cancel", tooltip=N_("Close without importing")),
    ]
    DEFAULT_CSS = """
    PathScreen { align: center middle; }
    PathScreen > Vertical {
        width: 84; height: auto; border: round $accent; background: $surface; padding: 1 2;
    }
    PathScreen Input { margin-top: 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(_("Import people from a CSV file")), classes="heading")
            yield Static(
                Content(
                    _(
                        "UTF-8 or Excel's Finnish CSV (; between fields). The first line names the columns: "
                        "name, email, phone, unit, roles, language, active. Nothing is written before you "
                        "have seen the preview and confirmed it."
                    )
                ),
                classes="intro",
            )
            yield Input(placeholder=_("Path of the file, e.g. ~/verkosto.csv"), id="import-path")
            yield Static(Content(_("enter: preview · escape: cancel")), classes="intro")

    def on_mount(self) -> None:
        self.query_one("#import-path", Input).focus()

    @on(Input.Submitted, "#import-path")
    def submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass
class ImportApplied(Message):
    done: ImportDone | None
    error: str


class ImportPreviewScreen(ModalScreen[bool]):
    """The import's dry run: what each row would do, rejected rows with the reason; y writes it all."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("y,ctrl+s", "confirm", N_("Import"), id="import.confirm", tooltip=N_("Write the rows shown")),
        Binding(
            "escape", "cancel", N_("Cancel"), id="import.cancel", tooltip=N_("Close; nothing is written")
        ),
        Binding("j", "down", N_("Down"), id="import.down", show=False),
        Binding("k", "up", N_("Up"), id="import.up", show=False),
    ]
    DEFAULT_CSS = """
    ImportPreviewScreen { align: center middle; }
    ImportPreviewScreen > Vertical { width: 95%; height: 90%; border: round $accent; background: $surface;
        padding: 0 1; }
    ImportPreviewScreen #import-reason { height: auto; max-height: 4; color: $text-error; }
    """

    def __init__(self, service: DirectoryService, preview: ImportPreview, source: str) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.service = service
        self.preview = preview
        self.source = source
        self.applying = False

    def compose(self) -> ComposeResult:
        preview = self.preview
        counts = preview.counts
        summary = " · ".join(
            f"{_(STATUS_NAMES[status])} {counts.get(status, 0)}"
            for status in ("added", "changed", "unchanged", "rejected")
        )
        with Vertical():
            yield Static(Content.assemble((_("Import preview"), "bold $accent"), " · ", plain(self.source)))
            yield Static(
                Content(
                    _("{summary} · {encoding}, separator {delimiter}").format(
                        summary=summary,
                        encoding=preview.encoding,
                        delimiter="tab" if preview.delimiter == "\t" else preview.delimiter,
                    )
                ),
                id="import-summary",
            )
            if preview.ignored_columns:
                yield Static(
                    Content(
                        _("Columns ignored: {columns}").format(
                            columns=", ".join(clean_line(c, limit=40) for c in preview.ignored_columns)
                        )
                    ),
                    classes="intro",
                )
            yield DirectoryList(id="import-rows")
            yield Static(Content(""), id="import-reason")
            writes = preview.writes
            yield Static(
                Content(
                    (
                        _("y: write {rows} in one go · escape: cancel, nothing is written").format(
                            rows=count_text("{n} row", "{n} rows", writes)
                        )
                    )
                    if writes
                    else _("Nothing to write. escape: close")
                ),
                classes="intro",
                id="import-keys",
            )
        yield KeyFooter()

    def on_mount(self) -> None:
        order = {"rejected": 0, "changed": 1, "added": 2, "unchanged": 3}
        rows = [
            Row(
                key=index,
                cells=(
                    str(row.line),
                    _(STATUS_NAMES[row.status]),
                    clean_line(row.name, limit=80),
                    clean_line(row.email, limit=80),
                    clean_line(row.reason, limit=300)
                    if row.status == "rejected"
                    else ", ".join(_(FIELD_NAMES.get(name, name)) for name in row.changes),
                ),
                dim=row.status == "unchanged",
                alert=row.status == "rejected",
            )
            for index, row in sorted(
                enumerate(self.preview.rows), key=lambda pair: (order[pair[1].status], pair[1].line)
            )
        ]
        rows_list = self.query_one("#import-rows", DirectoryList)
        rows_list.set_rows(
            rows, (_("Line"), _("Result"), _("Name"), _("E-mail"), _("Reason or changes")), (7, 12, 26, 30, 0)
        )
        rows_list.focus()

    @on(DirectoryList.Highlighted, "#import-rows")
    def highlighted(self, event: DirectoryList.Highlighted) -> None:
        reason = ""
        if event.row is not None:
            row = self.preview.rows[event.row.key]
            if row.status == "rejected":
                reason = clean_line(row.reason, limit=600)
        self.query_one("#import-reason", Static).update(Content(reason))

    def action_down(self) -> None:
        self.query_one("#import-rows", DirectoryList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one("#import-rows", DirectoryList).action_cursor_up()

    def action_confirm(self) -> None:
        if self.applying or not self.preview.writes:
            return
        self.applying = True
        self.query_one("#import-keys", Static).update(Content(_("Writing…")))
        self.apply()

    @work(thread=True, exclusive=True, group="import-apply", exit_on_error=False)
    def apply(self) -> None:
        from coordinator_tui.directory.service import StaleImport

        try:
            done = self.service.apply_import(self.preview)
        except StaleImport as error:
            self.post_message(ImportApplied(None, str(error)))
            return
        except StoreError as error:
            self.post_message(ImportApplied(None, f"{error.what} {error.todo}".strip()))
            return
        self.post_message(ImportApplied(done, ""))

    @on(ImportApplied)
    def applied(self, message: ImportApplied) -> None:
        if message.done is None:
            self.applying = False
            self.app.notify(clean_line(message.error, limit=300), severity="error", markup=False)
            self.dismiss(False)
            return
        self.app.notify(
            _("Imported: {added} added, {changed} changed.").format(
                added=message.done.added, changed=message.done.changed
            ),
            markup=False,
        )
        self.dismiss(True)

    def action_cancel(self) -> None:
        if not self.applying:
            self.dismiss(False)


MEETING_FIELDS: tuple[tuple[str, str], ...] = (
    ("held_on", N_("Held on")),
    ("participants", N_("Participants")),
    ("notes", N_("Notes")),
    ("actions", N_("Agreed actions")),
    ("haipro", N_("HaiPro reports")),
)


class MeetingForm(ModalScreen[int | None]):
    """Record a cooperation meeting held with a unit; checked before it closes."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("ctrl+s", "save", N_("Save"), id="meeting.save", tooltip=N_("Check the fields and save")),
        Binding("escape", "cancel", N_("Cancel"), id="meeting.cancel", tooltip=N_("Close without saving")),
    ]
    DEFAULT_CSS = """
    MeetingForm { align: center middle; }
    MeetingForm > Vertical { width: 96; height: auto; max-height: 90%; border: round $accent;
        background: $surface; padding: 1 2; }
    MeetingForm .form-row { height: auto; }
    MeetingForm .form-label { width: 16; padding: 1 1 0 0; }
    MeetingForm Input { width: 1fr; }
    MeetingForm Input.-invalid { border: tall $error; }
    MeetingForm #meeting-problems { color: $text-error; margin-top: 1; }
    """

    def __init__(self, service: DirectoryService, unit_id: int, unit_name: str, today: date) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.service = service
        self.unit_id = unit_id
        self.unit_name = unit_name
        self.today = today
        self.saving = False

    def compose(self) -> ComposeResult:
        from coordinator_tui.timefmt import fi_date

        with Vertical():
            yield Static(
                Content.assemble(
                    (_("Cooperation meeting held") + ": ", "bold $accent"), plain(self.unit_name)
                ),
                classes="heading",
            )
            for field, label in MEETING_FIELDS:
                with Horizontal(classes="form-row"):
                    yield Label(Content(_(label)), classes="form-label")
                    value = fi_date(self.today) if field == "held_on" else ""
                    yield Input(value=value, id=f"meeting-{field}", select_on_focus=False)
            yield Static(
                Content(
                    _(
                        "Participants: names or e-mail addresses from the directory, separated by commas. "
                        "HaiPro: the number of reports only, never their content."
                    )
                ),
                classes="intro",
            )
            yield Static(Content(""), id="meeting-problems")
            yield Static(Content(_("ctrl+s: save · escape: cancel · tab: next field")), classes="intro")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#meeting-participants", Input).focus()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        self.focus_next()

    def action_save(self) -> None:
        if self.saving:
            return
        from coordinator_tui.meetings.record import MeetingDraft

        def value(field: str) -> str:
            return self.query_one(f"#meeting-{field}", Input).value

        self.saving = True
        self.save(
            MeetingDraft(
                held_on=value("held_on"),
                participants=value("participants"),
                notes=value("notes"),
                actions=value("actions"),
                haipro=value("haipro"),
            )
        )

    @work(thread=True, exclusive=True, group="meeting-save", exit_on_error=False)
    def save(self, draft: MeetingDraft) -> None:
        from coordinator_tui.directory.service import NotSaved

        try:
            meeting_id = self.service.record_meeting(self.unit_id, draft)
        except NotSaved as error:
            self.post_message(FormProblems(error.problems))
            return
        except StoreError as error:
            self.post_message(FormProblems([Problem("store", f"{error.what} {error.todo}".strip())]))
            return
        self.post_message(FormSaved(meeting_id))

    @on(FormProblems)
    def show_problems(self, message: FormProblems) -> None:
        self.saving = False
        fields = {problem.field for problem in message.problems}
        for field, _label in MEETING_FIELDS:
            self.query_one(f"#meeting-{field}", Input).set_class(field in fields, "-invalid")
        self.query_one("#meeting-problems", Static).update(
            Content("\n".join(clean_line(problem.text, limit=300) for problem in message.problems))
        )

    @on(FormSaved)
    def saved(self, message: FormSaved) -> None:
        self.dismiss(message.person_id)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class FormField:
    id: str
    label: str  # translated
    value: str = ""
    suggestions: tuple[str, ...] = ()


class RecordForm(ModalScreen[int | None]):
    """A form of a few one-line fields whose ``save`` (run in a worker) checks and writes them:
    NotSaved keeps the form open with the problems under it; the saved row's id closes it."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("ctrl+s", "save", N_("Save"), id="record.save", tooltip=N_("Check the fields and save")),
        Binding("escape", "cancel", N_("Cancel"), id="record.cancel", tooltip=N_("Close without saving")),
    ]
    DEFAULT_CSS = """
    RecordForm { align: center middle; }
    RecordForm > Vertical { width: 96; height: auto; max-height: 90%; border: round $accent;
        background: $surface; padding: 1 2; }
    RecordForm .form-row { height: auto; }
    RecordForm .form-label { width: 16; padding: 1 1 0 0; }
    RecordForm Input { width: 1fr; }
    RecordForm Input.-invalid { border: tall $error; }
    RecordForm #record-problems { color: $text-error; margin-top: 1; }
    """

    def __init__(
        self,
        title: str,
        fields: Sequence[FormField],
        hints: Sequence[str],
        save: Callable[[dict[str, str]], int],
    ) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.title_text = title
        self.fields = list(fields)
        self.hints = list(hints)
        self.save_values = save
        self.saving = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(self.title_text), classes="heading")
            for form_field in self.fields:
                with Horizontal(classes="form-row"):
                    yield Label(Content(form_field.label), classes="form-label")
                    suggester = (
                        SuggestFromList(form_field.suggestions, case_sensitive=False)
                        if form_field.suggestions
                        else None
                    )
                    yield Input(
                        value=form_field.value,
                        id=f"record-{form_field.id}",
                        suggester=suggester,
                        select_on_focus=False,
                    )
            for hint in self.hints:
                yield Static(Content(hint), classes="intro")
            yield Static(Content(""), id="record-problems")
            yield Static(Content(_("ctrl+s: save · escape: cancel · tab: next field")), classes="intro")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(f"#record-{self.fields[0].id}", Input).focus()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        self.focus_next()

    def action_save(self) -> None:
        if self.saving:
            return
        self.saving = True
        values = {f.id: self.query_one(f"#record-{f.id}", Input).value for f in self.fields}
        self.save(values)

    @work(thread=True, exclusive=True, group="record-save", exit_on_error=False)
    def save(self, values: dict[str, str]) -> None:
        from coordinator_tui.directory.service import NotSaved

        try:
            saved = self.save_values(values)
        except NotSaved as error:
            self.post_message(FormProblems(error.problems))
            return
        except StoreError as error:
            self.post_message(FormProblems([Problem("store", f"{error.what} {error.todo}".strip())]))
            return
        self.post_message(FormSaved(saved))

    @on(FormProblems)
    def show_problems(self, message: FormProblems) -> None:
        self.saving = False
        fields = {problem.field for problem in message.problems}
        for form_field in self.fields:
            self.query_one(f"#record-{form_field.id}", Input).set_class(form_field.id in fields, "-invalid")
        self.query_one("#record-problems", Static).update(
            Content("\n".join(clean_line(problem.text, limit=300) for problem in message.problems))
        )

    @on(FormSaved)
    def saved(self, message: FormSaved) -> None:
        self.dismiss(message.person_id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class MembershipScreen(ModalScreen[None]):
    """The static lists with a mark on those the person is on; enter puts them on or takes them off."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "close", N_("Close"), id="membership.close", tooltip=N_("Back to the directory")),
        Binding("j", "down", N_("Down"), id="membership.down", show=False),
        Binding("k", "up", N_("Up"), id="membership.up", show=False),
    ]
    DEFAULT_CSS = """
    MembershipScreen { align: center middle; }
    MembershipScreen > Vertical { width: 84; height: auto; max-height: 90%; border: round $accent;
        background: $surface; padding: 1 2; }
    MembershipScreen OptionList { height: auto; max-height: 20; margin-top: 1; }
    """

    @dataclass
    class Toggled(Message):
        list_id: int
        member: bool

    def __init__(
        self,
        service: DirectoryService,
        person_id: int,
        person_name: str,
        lists: Sequence[tuple[int, str, bool]],
    ) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.service = service
        self.person_id = person_id
        self.person_name = person_name
        self.lists = {list_id: [name, member] for list_id, name, member in lists}

    def _option(self, list_id: int) -> Option:
        name, member = self.lists[list_id]
        return Option(
            Content.assemble(("[x] " if member else "[ ] ", "bold"), plain(name, limit=80)),
            id=f"list-{list_id}",
        )

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Content.assemble(
                    (_("Static lists") + ": ", "bold $accent"), plain(self.person_name, limit=80)
                ),
                classes="heading",
            )
            yield OptionList(*(self._option(list_id) for list_id in self.lists), id="membership-lists")
            yield Static(
                Content(_("enter: on the list or off it · escape: close · rule lists follow the roles")),
                classes="intro",
            )

    def on_mount(self) -> None:
        options = self.query_one("#membership-lists", OptionList)
        options.highlighted = 0 if self.lists else None
        options.focus()

    def action_down(self) -> None:
        self.query_one("#membership-lists", OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one("#membership-lists", OptionList).action_cursor_up()

    @on(OptionList.OptionSelected, "#membership-lists")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        list_id = int((event.option.id or "list-0").removeprefix("list-"))
        self.toggle(list_id, not self.lists[list_id][1])

    @work(thread=True, exclusive=True, group="membership", exit_on_error=False)
    def toggle(self, list_id: int, member: bool) -> None:
        self.service.set_member(list_id, self.person_id, member)
        self.post_message(self.Toggled(list_id, member))

    @on(Toggled)
    def toggled(self, message: Toggled) -> None:
        self.lists[message.list_id][1] = message.member
        options = self.query_one("#membership-lists", OptionList)
        index = list(self.lists).index(message.list_id)
        options.replace_option_prompt_at_index(index, self._option(message.list_id).prompt)

    def action_close(self) -> None:
        self.dismiss(None)
