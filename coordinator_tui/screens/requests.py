"""Palvelupyynnöt: the service request queue — saved views with counts, a list that stays fast at
50,000 requests, the request with its history, single-key verbs on the row or the selection, undo,
filter as you type, and triage mode.

Every read and change goes through coordinator_tui.requests.service.RequestService in thread
workers; changes run one at a time in the order the keys were pressed. A change names the version
of the row the user saw: when another instance changed it meanwhile, the conflict dialog shows
both values and asks which to keep; nothing is overwritten silently.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from coordinator_tui.i18n import N_, _, count_text
from coordinator_tui.requests import rules
from coordinator_tui.screens.base import AREA_BY_MODE, AreaScreen, translated
from coordinator_tui.textclean import clean_line
from coordinator_tui.timefmt import fi_datetime, short_datetime
from coordinator_tui.turns import Turns
from coordinator_tui.widgets.keyfooter import KeyFooter
from coordinator_tui.widgets.maillist import fit
from coordinator_tui.widgets.requestlist import FilterInput, RequestList, ViewSource, due_cell
from coordinator_tui.widgets.safe import plain, plain_block
from store.errors import StoreError

if TYPE_CHECKING:
    from textual.timer import Timer

    from coordinator_tui.requests.service import RequestService
    from store.mailview import MessageDetail
    from store.requests import Conflict, EventRow, LinkedMessage, ListRow, RequestRow, SortName, ViewName

VIEW_NAMES: dict[str, str] = {
    "untriaged": N_("Untriaged"),
    "mine": N_("Mine"),
    "overdue": N_("Overdue"),
    "waiting_vendor": N_("Waiting on DigiFinland"),
    "open": N_("All open"),
    "closed_recently": N_("Closed recently"),
}
FIELD_NAMES: dict[str, str] = {
    "title": N_("title"),
    "description": N_("description"),
    "category": N_("category"),
    "priority": N_("priority"),
    "status": N_("status"),
    "assignee": N_("assignee"),
    "due_at": N_("due"),
    "digifinland_ticket": N_("DigiFinland ticket"),
    "tags": N_("tags"),
    "merged_into_id": N_("merged into"),
    "first_response_at": N_("first response"),
    "resolved_at": N_("resolved"),
    "closed_at": N_("closed"),
    "unit_id": N_("unit"),
    "requester_email": N_("requester"),
    "requester_person_id": N_("requester"),
    "notice_id": N_("disruption notice"),
}
# Why a message is on the request (request_mail.reason), as the detail pane says it.
LINK_REASONS: dict[str, str] = {
    "created": N_("created from"),
    "manual": N_("linked by hand"),
    "header": N_("reply (header match)"),
    "subject_tag": N_("subject tag"),
    "sent": N_("our reply"),
}
SORT_NAMES: dict[str, str] = {
    "due": N_("due"),
    "priority": N_("priority"),
    "updated": N_("updated"),
}
SORT_ORDER: tuple[SortName, ...] = ("due", "priority", "updated")
VIEW_LABEL_WIDTH = 24
# Keys of triage mode: priorities on 1–4, categories on letters, assignees on 5–9.
TRIAGE_CATEGORY_KEYS = "abcdefgh"
DETAIL_DELAY_S = 0.05
TRIAGE_ASSIGNEE_KEYS = "56789"


def value_text(name: str, value: Any) -> str:
    """A field's value as the user reads it (an event's old/new text, or a row's value)."""
    if value is None or value == "":
        return "—"
    if name == "priority":
        return f"P{value}"
    if name == "status":
        return rules.status_label(str(value))
    if name == "category":
        return rules.category_label(str(value))
    if name.endswith("_at"):
        from datetime import datetime

        moment = value if isinstance(value, datetime) else None
        if moment is None:
            try:
                moment = datetime.fromisoformat(str(value))
            except ValueError:
                return clean_line(value, limit=60)
        return fi_datetime(moment)
    return clean_line(value, limit=120)


# --- messages from the workers --------------------------------------------------------------------


@dataclass
class ServiceReady(Message):
    service: RequestService


@dataclass
class CountsLoaded(Message):
    counts: dict[str, int]


@dataclass
class ListLoaded(Message):
    source: ViewSource
    cursor: int
    keep_id: int | None


@dataclass
class CountKnown(Message):
    """The exact length of a list shown with only its first block counted."""

    source: ViewSource
    count: int


@dataclass
class DetailLoaded(Message):
    row: RequestRow
    unit: str
    requester: str
    history: list[EventRow]
    messages: list[LinkedMessage]
    notice: tuple[str, bool] | None  # (subject, still open) of the linked notice


@dataclass
class UnansweredChecked(Message):
    """Before closing or resolving: the requests (reference, count) with mail unanswered."""

    verb: str
    value: Any
    found: list[tuple[str, int]]


@dataclass
class NoticeChoices(Message):
    """What `i` can do on a request: unlink its notice, or link one of the open ones."""

    request_id: int
    version: int
    reference: str
    linked: tuple[int, str] | None  # (id, subject) of the notice it is linked to now
    notices: list[tuple[int, str]]  # the open notices, newest first


@dataclass
class Changed(Message):
    """A change was written: the rows as they are now, and what to tell the user."""

    rows: list[RequestRow]
    said: str


@dataclass
class ConflictFound(Message):
    conflict: Conflict
    verb: str
    value: Any


def error_words(error: Exception) -> str:
    """A failed change in words for the user (rule errors are already translated sentences)."""
    if isinstance(error, rules.RuleError):
        return str(error)
    return _("The change was not saved: {error}").format(error=error)


# --- small dialogs --------------------------------------------------------------------------------


class PickerScreen(ModalScreen[str | None]):
    """Pick one of a few values (category, assignee, status, merge target); None on escape."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "cancel", N_("Cancel"), id="picker.cancel", tooltip=N_("Close without a change")),
        Binding("j", "down", N_("Down"), id="picker.down", tooltip=N_("The next choice"), show=False),
        Binding("k", "up", N_("Up"), id="picker.up", tooltip=N_("The previous choice"), show=False),
    ]

    def __init__(self, title: str, choices: Sequence[tuple[str, str]], current: str = "") -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.title_text = title
        self.choices = list(choices)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="request-dialog"):
            yield Static(Content(self.title_text), classes="heading")
            yield OptionList(
                *(
                    Option(plain(label, limit=80), id=f"choice-{i}")
                    for i, (_v, label) in enumerate(self.choices)
                ),
                id="picker-options",
            )
            yield Static(Content(_("enter: choose · escape: cancel")), classes="intro")

    def on_mount(self) -> None:
        options = self.query_one("#picker-options", OptionList)
        for index, (value, _label) in enumerate(self.choices):
            if self.current and value == self.current:
                options.highlighted = index
                break
        else:
            options.highlighted = 0 if self.choices else None
        options.focus()

    def action_down(self) -> None:
        self.query_one("#picker-options", OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one("#picker-options", OptionList).action_cursor_up()

    @on(OptionList.OptionSelected, "#picker-options")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        index = int((event.option.id or "choice-0").removeprefix("choice-"))
        self.dismiss(self.choices[index][0])

    def action_cancel(self) -> None:
        self.dismiss(None)


class AskScreen(ModalScreen[str | None]):
    """Ask for one line of text (DigiFinland's ticket number, a note); None on escape."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "cancel", N_("Cancel"), id="ask.cancel", tooltip=N_("Close without a change")),
    ]

    def __init__(self, title: str, placeholder: str = "") -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.title_text = title
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="request-dialog"):
            yield Static(Content(self.title_text), classes="heading")
            yield Input(placeholder=self.placeholder, id="ask-input")
            yield Static(Content(_("enter: save · escape: cancel")), classes="intro")

    def on_mount(self) -> None:
        self.query_one("#ask-input", Input).focus()

    @on(Input.Submitted, "#ask-input")
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConflictScreen(ModalScreen[bool]):
    """Someone else changed the request: both values side by side; True = write mine over theirs."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("m", "mine", N_("Keep mine"), id="conflict.mine", tooltip=N_("Write your value over theirs")),
        Binding(
            "t,escape",
            "theirs",
            N_("Keep theirs"),
            id="conflict.theirs",
            tooltip=N_("Leave the request as the other person left it"),
        ),
    ]

    def __init__(self, conflict: Conflict) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.conflict = conflict

    def compose(self) -> ComposeResult:
        conflict = self.conflict
        who = clean_line(conflict.changed_by, limit=60) or _("someone else")
        with Vertical(classes="request-dialog", id="conflict-dialog"):
            yield Static(
                Content(
                    _("{reference} was changed by {who} after you read it.").format(
                        reference=conflict.current.reference, who=who
                    )
                ),
                classes="heading",
            )
            lines = [
                Content.assemble((f"{_('Field'):<20}{_('Yours'):<28}", "bold"), (_("Theirs (now)"), "bold"))
            ]
            for item in conflict.fields:
                name = _(FIELD_NAMES.get(item.field, item.field))
                lines.append(
                    Content.assemble(
                        fit(name, 19).ljust(20),
                        (fit(value_text(item.field, item.mine), 27).ljust(28), "bold $success"),
                        (fit(value_text(item.field, item.theirs), 40), "bold $warning"),
                    )
                )
            yield Static(Content("\n").join(lines), id="conflict-fields")
            yield Static(
                Content(_("Nothing was saved yet. m: keep mine · t or escape: keep theirs")), classes="intro"
            )

    def action_mine(self) -> None:
        self.dismiss(True)

    def action_theirs(self) -> None:
        self.dismiss(False)


# --- triage mode ----------------------------------------------------------------------------------


@dataclass
class TriageLoaded(Message):
    row: RequestRow | None
    unit: str
    requester: str
    mail: MessageDetail | None
    left: int


@dataclass
class TriageChanged(Message):
    row: RequestRow


class TriageScreen(Screen[None]):
    """`t`: the next untriaged request with its first message; one key each for priority, category
    and assignee; when all three are set the request is triaged and the next one comes by itself."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "leave", N_("Leave triage"), id="triage.leave", tooltip=N_("Back to the list")),
        Binding("space", "skip", N_("Skip"), id="triage.skip", tooltip=N_("Leave this one for later")),
        *(
            Binding(
                str(p),
                f"priority({p})",
                N_("Priority"),
                id=f"triage.priority{p}",
                tooltip=N_("Set the priority"),
                show=False,
            )
            for p in rules.PRIORITIES
        ),
        *(
            Binding(
                key,
                f"category({i})",
                N_("Category"),
                id=f"triage.category{i}",
                tooltip=N_("Set the category shown on this key"),
                show=False,
            )
            for i, key in enumerate(TRIAGE_CATEGORY_KEYS)
        ),
        *(
            Binding(
                key,
                f"assignee({i})",
                N_("Assignee"),
                id=f"triage.assignee{i}",
                tooltip=N_("Assign to the person shown on this key"),
                show=False,
            )
            for i, key in enumerate(TRIAGE_ASSIGNEE_KEYS)
        ),
    ]

    def __init__(self, service: RequestService, on_change: Callable[[], None]) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.service = service
        self.on_change = on_change
        self.row: RequestRow | None = None
        self.version = 0
        self.skipped: set[int] = set()
        self.assignees = service.assignee_choices()[: len(TRIAGE_ASSIGNEE_KEYS)]
        self.categories = list(service.categories)[: len(TRIAGE_CATEGORY_KEYS)]
        self.triaged = 0
        self.loaded_at: float | None = None
        self._turns = Turns()

    def compose(self) -> ComposeResult:
        yield Static(Content(_("Triage")), id="triage-title")
        with Horizontal(id="triage-body"):
            with VerticalScroll(id="triage-request"):
                yield Static(Content(""), id="triage-fields")
                yield Static(Content(""), id="triage-keys")
            with VerticalScroll(id="triage-mail"):
                yield Static(Content(""), id="triage-message")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load_next()

    @work(thread=True, exclusive=True, group="triage-load", exit_on_error=False)
    def load_next(self) -> None:
        from store import requests as db
        from store.mailview import message_detail

        service = self.service
        window = service.window("untriaged", sort="due", limit=len(self.skipped) + 1)
        chosen = next((row for row in window.rows if row.id not in self.skipped), None)
        left = max(0, service.count("untriaged") - len(self.skipped))
        if chosen is None:
            self.post_message(TriageLoaded(None, "", "", None, left))
            return
        row = service.get(chosen.id)
        if row is None:
            self.post_message(TriageLoaded(None, "", "", None, left))
            return
        unit, requester = db.unit_and_requester(service.store, row.id)
        links = db.linked_mail(service.store, row.id)
        mail = message_detail(service.store, links[0][0]) if links else None
        self.post_message(TriageLoaded(row, unit, requester, mail, left))

    @on(TriageLoaded)
    def show_loaded(self, message: TriageLoaded) -> None:
        self.row = message.row
        self.version = message.row.version if message.row is not None else 0
        self._unit, self._requester = message.unit, message.requester
        self._left = message.left
        self._show()
        mail = message.mail
        body = self.query_one("#triage-message", Static)
        if message.row is None:
            body.update(Content(""))
        elif mail is None:
            body.update(Content(_("No mail is linked to this request.")))
        else:
            body.update(
                Content.assemble(
                    (_("From") + ": ", "bold"),
                    plain(mail.from_name or mail.from_addr, limit=120),
                    "\n",
                    (_("Subject") + ": ", "bold"),
                    plain(mail.subject, limit=200),
                    "\n",
                    (_("Date") + ": ", "bold"),
                    fi_datetime(mail.date),
                    "\n\n",
                    plain_block(mail.body_text[:20_000]),
                )
            )
        self.loaded_at = time.monotonic()

    def _show(self) -> None:
        title = self.query_one("#triage-title", Static)
        fields = self.query_one("#triage-fields", Static)
        keys = self.query_one("#triage-keys", Static)
        row = self.row
        left = count_text("{n} untriaged left", "{n} untriaged left", self._left)
        done = count_text("{n} triaged", "{n} triaged", self.triaged)
        title.update(Content.assemble((_("Triage"), "bold"), f" · {left} · {done}"))
        if row is None:
            fields.update(Content(_("Nothing left to triage. escape: back to the list")))
            keys.update(Content(""))
            return
        fields.update(
            Content.assemble(
                (row.reference, "bold"),
                "  ",
                plain(row.title, limit=200),
                "\n",
                (_("Requester") + ": ", "bold"),
                plain(self._requester, limit=100),
                "\n",
                (_("Unit") + ": ", "bold"),
                plain(self._unit, limit=100),
                "\n",
                (_("Created") + ": ", "bold"),
                fi_datetime(row.created_at),
                "\n\n",
                plain_block(row.description[:2000]),
            )
        )

        def choice(key: str, label: str, chosen: bool) -> Content:
            return Content.assemble(
                (f" {key} ", "reverse bold" if chosen else "bold"), " ", plain(label, limit=40), "  "
            )

        parts: list[Content | str | tuple[str, str]] = [("\n" + _("Priority") + "\n", "bold $accent")]
        parts += [choice(str(p), rules.priority_label(p), row.priority == p) for p in rules.PRIORITIES]
        parts.append(("\n\n" + _("Category") + "\n", "bold $accent"))
        for index, category in enumerate(self.categories):
            parts.append(
                choice(TRIAGE_CATEGORY_KEYS[index], rules.category_label(category), row.category == category)
            )
            if index % 3 == 2:
                parts.append("\n")
        parts.append(("\n\n" + _("Assignee") + "\n", "bold $accent"))
        for index, name in enumerate(self.assignees):
            parts.append(choice(TRIAGE_ASSIGNEE_KEYS[index], name, row.assignee == name))
        parts.append(("\n\n" + _("space: skip · escape: leave triage"), "dim"))
        keys.update(Content.assemble(*parts))

    def _apply(self, verb: str, value: Any) -> None:
        if self.row is None:
            return
        self.run_change(self._turns.take(), self.row.id, verb, value)

    def action_priority(self, priority: int) -> None:
        self._apply("priority", priority)

    def action_category(self, index: int) -> None:
        if index < len(self.categories):
            self._apply("category", self.categories[index])

    def action_assignee(self, index: int) -> None:
        if index < len(self.assignees):
            self._apply("assignee", self.assignees[index])

    @work(thread=True, group="triage-change", exit_on_error=False)
    def run_change(self, turn: int, request_id: int, verb: str, value: Any) -> None:
        from store.requests import Conflict

        with self._turns.wait_for(turn):
            if self.row is None or self.row.id != request_id:
                return  # moved on meanwhile
            try:
                row = _apply_verb(self.service, request_id, self.version, verb, value)
            except Conflict as conflict:
                self.app.call_from_thread(
                    self.notify,
                    _("{reference} was changed elsewhere meanwhile; it is shown again as it is now.").format(
                        reference=conflict.current.reference
                    ),
                    severity="warning",
                    markup=False,
                )
                self.load_next()
                return
            except (rules.RuleError, StoreError) as error:
                self.app.call_from_thread(
                    self.notify, clean_line(error_words(error), limit=300), markup=False
                )
                return
            self.version = row.version
            self.post_message(TriageChanged(row))

    @on(TriageChanged)
    def changed(self, message: TriageChanged) -> None:
        self.row = message.row
        self.on_change()
        if message.row.status != rules.NEW:
            self.triaged += 1
            self._left = max(0, self._left - 1)
            self.load_next()
        self._show()

    def action_skip(self) -> None:
        if self.row is not None:
            self.skipped.add(self.row.id)
            self.load_next()

    def action_leave(self) -> None:
        self.dismiss(None)


def _apply_verb(service: RequestService, request_id: int, version: int, verb: str, value: Any) -> RequestRow:
    if verb == "priority":
        return service.set_priority(request_id, version, int(value))
    if verb == "category":
        return service.set_category(request_id, version, str(value))
    if verb == "assignee":
        return service.assign(request_id, version, str(value))
    if verb == "status":
        return service.set_status(request_id, version, str(value))
    if verb == "escalate":
        return service.escalate(request_id, version, str(value))
    if verb == "notice":
        return service.link_notice(request_id, version, None if value is None else int(value))
    raise ValueError(f"unknown verb {verb!r}")


# While a filter is typed, its exact length is counted only once no key has come for this long:
# counting at once competed for the CPU with painting the rows of the next key.
FILTER_COUNT_DELAY_S = 0.15


def _typing_goes_on(worker: Any) -> bool:
    """Wait ``FILTER_COUNT_DELAY_S`` in a worker; True if it was cancelled meanwhile (a new key)."""
    deadline = time.monotonic() + FILTER_COUNT_DELAY_S
    while time.monotonic() < deadline:
        if worker.is_cancelled:
            return True
        time.sleep(0.01)
    return bool(worker.is_cancelled)


# --- the screen ----------------------------------------------------------------------------------


class RequestsScreen(AreaScreen):
    AREA = "requests"
    STYLES_IN_APP_CSS = True
    AUTO_FOCUS = "#requests-list"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding(key, action, description, id=binding_id, tooltip=tooltip, show=shown, key_display=display)
        for key, action, description, binding_id, tooltip, shown, display in (
            (
                "slash",
                "filter",
                N_("Filter"),
                "requests.filter",
                N_("Filter the list as you type"),
                True,
                None,
            ),
            (
                "t",
                "triage",
                N_("Triage"),
                "requests.triage",
                N_("The untriaged requests one by one"),
                True,
                None,
            ),
            (
                "p",
                "priority_prefix",
                N_("Priority"),
                "requests.priority",
                N_("Then 1–4: set the priority"),
                True,
                None,
            ),
            ("c", "category", N_("Category"), "requests.category", N_("Choose the category"), False, None),
            ("a", "assign", N_("Assign"), "requests.assign", N_("Choose who handles it"), True, None),
            ("S", "status", N_("Status"), "requests.status", N_("Move it to another status"), True, None),
            (
                "E",
                "escalate",
                N_("Escalate"),
                "requests.escalate",
                N_("Waiting on DigiFinland, with their ticket number"),
                False,
                None,
            ),
            ("n", "note", N_("Note"), "requests.note", N_("Add an internal note"), False, None),
            (
                "r",
                "reply",
                N_("Reply"),
                "requests.reply",
                N_("Reply to the requester by e-mail"),
                False,
                None,
            ),
            (
                "i",
                "link_notice",
                N_("Notice"),
                "requests.notice",
                N_("Link to the open disruption notice (again: unlink)"),
                False,
                None,
            ),
            (
                "o",
                "onboard",
                N_("Onboard"),
                "requests.onboard",
                N_("Start an onboarding checklist for the person the request is about"),
                False,
                None,
            ),
            (
                "O",
                "sort",
                N_("Sort"),
                "requests.sort",
                N_("Sort by due time, priority or last update"),
                False,
                None,
            ),
            (
                "m",
                "merge",
                N_("Merge"),
                "requests.merge",
                N_("Merge this request into another one (give the survivor's reference)"),
                False,
                None,
            ),
            (
                "x",
                "select",
                N_("Select"),
                "requests.select",
                N_("Mark the request (again: unmark)"),
                False,
                None,
            ),
            (
                "semicolon",
                "apply_to_selection",
                N_("To the selected"),
                "requests.apply",
                N_("The next verb applies to the marked requests"),
                False,
                ";",
            ),
            ("u", "undo", N_("Undo"), "requests.undo", N_("Undo your last change"), True, None),
            (
                "v",
                "figures",
                N_("Figures"),
                "requests.figures",
                N_("Requests per month, category and unit; response times; overdue share"),
                False,
                None,
            ),
            ("enter", "open", N_("Open"), "requests.open", N_("Focus the request's details"), False, None),
        )
    ]

    def __init__(self) -> None:
        super().__init__()
        self.service: RequestService | None = None
        self.view: ViewName = "untriaged"
        self.counts: dict[str, int] = {}
        self.filter_text = ""
        self.sort: SortName = "due"
        self.apply_next_to_selection = False
        self.priority_pending = False
        self._versions: dict[int, int] = {}  # request id → the version our own last change left
        self._turns = Turns()
        self._showing_views = False
        self._detail_id: int | None = None
        self._wanted_cursor: int | None = None
        self._detail_timer: Timer | None = None
        self._views_shown: tuple[Any, ...] | None = None

    # --- layout -------------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="requests-body"):
            yield OptionList(id="requests-views")
            with Vertical(id="requests-main"):
                yield Static(Content(""), id="requests-list-title")
                yield RequestList(now=self.coordinator.now, id="requests-list")
                with VerticalScroll(id="requests-detail", can_focus=True):
                    yield Static(Content(""), id="requests-fields")
                    yield Static(Content(""), id="requests-history")

    @property
    def request_list(self) -> RequestList:
        return self.query_one("#requests-list", RequestList)

    def on_screen_resume(self) -> None:
        self.sub_title = _(AREA_BY_MODE[self.AREA].title)
        self.reload()

    def action_refresh(self) -> None:
        self.reload()

    # --- reading ------------------------------------------------------------------------------

    def reload(self, *, keep_index: int | None = None) -> None:
        if self.coordinator.store is None:
            return
        row = self.request_list.current_row()
        self.load_requests(
            self.view,
            self.filter_text,
            row.id if row is not None else None,
            self.request_list.cursor if keep_index is None else keep_index,
        )

    def _service(self) -> RequestService:
        """The service (built in the first worker: the config is read there). Worker only."""
        if self.service is None:
            from coordinator_tui.requests.service import RequestService

            store = self.coordinator.store
            assert store is not None
            service = RequestService(store, self.coordinator.config.requests, clock=self.coordinator.now)
            self.service = service
            self.post_message(ServiceReady(service))
        return self.service

    @work(thread=True, exclusive=True, group="requests-load", exit_on_error=False)
    def load_requests(self, view: ViewName, match: str, keep_id: int | None, keep_index: int) -> None:
        self._read_list(view, match, keep_id, keep_index, with_counts=True)

    def _read_list(
        self, view: ViewName, match: str, keep_id: int | None, keep_index: int, *, with_counts: bool
    ) -> None:
        """The first rows first (the list paints them), then the exact length and the view counts.

        Worker only. A filter that fits in one block needs no count at all.
        """
        service = self._service()
        worker = get_current_worker()
        source = ViewSource(service, view, 0, match=match, sort=self.sort)
        more = source.prefetch()
        if worker.is_cancelled:
            return
        source.count = source.prefetched + (1 if more else 0)
        self.post_message(ListLoaded(source, keep_index, keep_id))
        counts = dict(service.counts()) if with_counts else None
        if more:
            if match and not counts and _typing_goes_on(worker):
                return  # the next key's filter replaces this one: its length is never shown
            count = counts[view] if counts is not None and not match else service.count(view, match=match)
            if not worker.is_cancelled:
                self.post_message(CountKnown(source, count))
        if counts is not None and not worker.is_cancelled:
            self.post_message(CountsLoaded(counts))

    @on(CountKnown)
    def count_known(self, message: CountKnown) -> None:
        request_list = self.request_list
        if request_list.source is message.source:
            request_list.set_count(message.count)
            if self._wanted_cursor is not None:
                request_list.move_to(self._wanted_cursor)
                self._wanted_cursor = None
            self._show_title()

    @on(ServiceReady)
    def service_ready(self, message: ServiceReady) -> None:
        self.service = message.service

    @on(ListLoaded)
    def show_list(self, message: ListLoaded) -> None:
        source = message.source
        if source.view != self.view or source.match != self.filter_text or source.sort != self.sort:
            return  # the user moved on meanwhile
        request_list = self.request_list
        request_list.set_source(source, message.cursor)
        # The cursor was further down than the first block: it goes back there once the length is known.
        self._wanted_cursor = message.cursor if message.cursor >= source.count else None
        self._show_views()
        self._show_title()
        self.loaded_at = self.coordinator.now()

    @on(CountsLoaded)
    def show_counts(self, message: CountsLoaded) -> None:
        self.counts = message.counts
        self._show_views()

    def _show_views(self) -> None:
        shown = (tuple(sorted(self.counts.items())), self.view, id(self.app.current_theme))
        if shown == self._views_shown:
            return  # unchanged: rebuilding the options would only repaint the side list for nothing
        self._views_shown = shown
        options = self.query_one("#requests-views", OptionList)
        self._showing_views = True
        try:
            highlighted = options.highlighted
            options.clear_options()
            for index, (view, name) in enumerate(VIEW_NAMES.items()):
                count = str(self.counts.get(view, "")) if self.counts else ""
                label = _(name)
                width = max(1, VIEW_LABEL_WIDTH - cell_len(count) - 1)
                options.add_option(
                    Option(
                        Content.assemble(
                            (f"{fit(label, width):<{width}} ", "bold" if view == self.view else ""),
                            (count, "bold $error" if view == "overdue" and self.counts.get(view) else "dim"),
                        ),
                        id=f"view-{view}",
                    )
                )
                if view == self.view:
                    highlighted = index
            options.highlighted = highlighted
        finally:
            self._showing_views = False

    def _show_title(self) -> None:
        title = self.query_one("#requests-list-title", Static)
        count = self.request_list.count
        parts: list[Content | str | tuple[str, str]] = [
            (_(VIEW_NAMES[self.view]), "bold"),
            " · ",
            count_text("{n} request", "{n} requests", count),
            " · ",
            (_("sorted by {sort}").format(sort=_(SORT_NAMES[self.sort])), "dim"),
        ]
        if self.filter_text:
            parts += [" · ", _("filter") + ": ", plain(self.filter_text, limit=60)]
        marked = len(self.request_list.marked)
        if marked:
            parts += [" · ", (count_text("{n} selected", "{n} selected", marked), "bold $warning")]
        if self.apply_next_to_selection:
            parts += [" · ", (_("next verb: to the selected"), "bold $warning")]
        if self.priority_pending:
            parts += [" · ", (_("priority: press 1–4"), "bold $warning")]
        content = Content.assemble(*parts)
        if getattr(self, "_title_shown", None) == content:
            return  # a list read again or a count known often leaves the title as it was
        self._title_shown = content
        # One line high (app.tcss): a new title never changes the layout, so none is asked for.
        title.update(content, layout=False)

    @on(OptionList.OptionHighlighted, "#requests-views")
    def view_chosen(self, event: OptionList.OptionHighlighted) -> None:
        if self._showing_views or event.option.id is None:
            return
        view = event.option.id.removeprefix("view-")
        if view == self.view:
            return
        self.view = view  # type: ignore[assignment]
        self.request_list.clear_marks()
        self.apply_next_to_selection = False
        self.load_requests(self.view, self.filter_text, None, 0)

    @on(OptionList.OptionSelected, "#requests-views")
    def view_entered(self, event: OptionList.OptionSelected) -> None:
        self.request_list.focus()

    # --- the detail pane ----------------------------------------------------------------------

    @on(RequestList.Highlighted)
    def row_highlighted(self, event: RequestList.Highlighted) -> None:
        self._show_title()
        if event.row is None:
            self._detail_id = None
            self.query_one("#requests-fields", Static).update(Content(_("No requests in this view.")))
            self.query_one("#requests-history", Static).update(Content(""))
            return
        self._detail_id = event.row.id
        # The details a moment later, so that moving through the list (or a list read again) paints
        # first; held keys start one read at the end, not one per row.
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(DETAIL_DELAY_S, partial(self.load_detail, event.row.id))

    @work(thread=True, exclusive=True, group="requests-detail", exit_on_error=False)
    def load_detail(self, request_id: int) -> None:
        from store import requests as db

        service = self._service()
        row = service.get(request_id)
        if row is None or get_current_worker().is_cancelled:
            return
        unit, requester = db.unit_and_requester(service.store, request_id)
        messages = service.linked_messages(request_id)
        notice = service.notice_subject(row.notice_id) if row.notice_id is not None else None
        self.post_message(DetailLoaded(row, unit, requester, service.history(request_id), messages, notice))

    @on(DetailLoaded)
    def show_detail(self, message: DetailLoaded) -> None:
        row = message.row
        if row.id != self._detail_id:
            return
        now = self.coordinator.now()

        def line(label: str, value: Content | str) -> Content:
            return Content.assemble((f"{label:<16}", "bold"), value)

        due: Content | str = "—"
        if row.due_at is not None:
            due = fi_datetime(row.due_at)
            if self.service is not None and rules.is_open(row.status):
                state = self.service.due_state(row, now)
                if state is not None:
                    from coordinator_tui.timefmt import duration

                    if state.paused:
                        due += " · " + _("paused while waiting on the requester")
                    elif state.overdue:
                        due = Content.assemble(
                            due, " · ", (_("{time} late").format(time=duration(-state.left)), "bold $error")
                        )
                    else:
                        due += " · " + _("{time} of office time left").format(time=duration(state.left))
        lines = [
            Content.assemble((row.reference, "bold $accent"), "  ", plain(row.title, limit=300)),
            line(_("Status"), rules.status_label(row.status)),
            line(_("Priority"), rules.priority_label(row.priority) or "—"),
            line(_("Category"), rules.category_label(row.category) if row.category else "—"),
            line(_("Assignee"), plain(row.assignee, limit=80) if row.assignee else "—"),
            line(_("Requester"), plain(message.requester or row.requester_email, limit=120)),
            line(_("Unit"), plain(message.unit, limit=120) if message.unit else "—"),
            line(_("Due"), due),
            line(_("Created"), fi_datetime(row.created_at)),
            line(_("Updated"), fi_datetime(row.updated_at)),
        ]
        if row.digifinland_ticket:
            lines.append(line(_("DigiFinland"), plain(row.digifinland_ticket, limit=60)))
        if row.merged_into_id is not None:
            lines.append(line(_("Merged into"), str(row.merged_into_id)))
        if row.notice_id is not None:
            subject, still_open = message.notice or (_("(removed)"), False)
            lines.append(
                line(
                    _("Notice"),
                    Content.assemble(
                        plain(subject or f"#{row.notice_id}", limit=100),
                        ("" if still_open else " · " + _("closed"), "dim"),
                    ),
                )
            )
        text = Content("\n").join(lines)
        if row.description:
            text = Content.assemble(text, "\n\n", plain_block(row.description[:5000]))
        if message.messages:
            text = Content.assemble(text, "\n\n", self._messages(message.messages, now))
        self.query_one("#requests-fields", Static).update(text)
        self.query_one("#requests-history", Static).update(self._history(message.history, now))

    def _messages(self, messages: list[LinkedMessage], now: Any) -> Content:
        """The linked messages, newest first, each with why it is on the request."""
        lines: list[Content] = [Content.styled(_("Messages"), "bold $accent")]
        for mail in reversed(messages[-50:]):
            when = short_datetime(mail.date, now)
            who = mail.from_name or mail.from_addr
            reason = (
                _(LINK_REASONS[mail.reason])
                if mail.reason in LINK_REASONS
                else clean_line(mail.reason, limit=20)
            )
            lines.append(
                Content.assemble(
                    (f"{when:<8}", "dim"),
                    " ",
                    (fit(clean_line(who, limit=60), 18).ljust(19), "bold"),
                    plain(mail.subject, limit=60),
                    "  ",
                    (f"[{reason}]", "italic $text-muted"),
                )
            )
        if len(messages) > 50:
            lines.append(
                Content.styled(count_text("… and {n} older", "… and {n} older", len(messages) - 50), "dim")
            )
        return Content("\n").join(lines)

    def _history(self, events: list[EventRow], now: Any) -> Content:
        lines: list[Content] = [Content.styled(_("History"), "bold $accent")]
        for event in reversed(events):  # newest first
            when = short_datetime(event.at, now)
            head = Content.assemble(
                (f"{when:<8}", "dim"), " ", (fit(clean_line(event.actor, limit=60), 18).ljust(19), "bold")
            )
            if event.kind == "change":
                name = _(FIELD_NAMES.get(event.field, event.field))
                body = Content.assemble(
                    f"{name}: ",
                    value_text(event.field, event.old),
                    " → ",
                    (value_text(event.field, event.new), "bold"),
                )
            elif event.kind == "note":
                body = Content.assemble((_("note") + ": ", "italic"), plain(event.text, limit=300))
            elif event.kind == "created":
                body = Content.assemble(_("created") + ": ", plain(event.text, limit=200))
            elif event.kind == "mail_out":
                body = Content.assemble(
                    (_("reply sent") + ": ", "italic"),
                    plain(event.old, limit=80),
                    " · " if event.old else "",
                    plain(event.text, limit=120),
                )
            elif event.kind == "mail_in":
                if event.text in LINK_REASONS:  # linked by the sync: why
                    body = Content.assemble(
                        (_("mail in"), "italic"), (f"  [{_(LINK_REASONS[event.text])}]", "italic $text-muted")
                    )
                else:
                    body = Content.assemble((_("mail in") + ": ", "italic"), plain(event.text, limit=200))
            else:
                body = Content.assemble(
                    f"{clean_line(event.kind, limit=30)}: ", plain(event.text or event.new, limit=200)
                )
            lines.append(Content.assemble(head, body))
        return Content("\n").join(lines)

    def action_open(self) -> None:
        self.query_one("#requests-detail", VerticalScroll).focus()

    # --- filter -------------------------------------------------------------------------------

    def _filter_field(self) -> Input | None:
        found = self.query("#requests-filter")
        return found.first(Input) if found else None

    def action_filter(self) -> None:
        field = self._filter_field()
        if field is None:
            field = FilterInput(
                id="requests-filter", placeholder=_("Filter: reference, title, requester, text")
            )
            self.query_one("#requests-main", Vertical).mount(field, before="#requests-list-title")
        field.display = True
        field.focus()

    @on(Input.Changed, "#requests-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self.run_filter(self.view, self.filter_text)

    @work(thread=True, exclusive=True, group="requests-load", exit_on_error=False)
    def run_filter(self, view: ViewName, match: str) -> None:
        self._read_list(view, match, None, 0, with_counts=False)

    @on(Input.Submitted, "#requests-filter")
    def filter_submitted(self, event: Input.Submitted) -> None:
        self.request_list.focus()

    def action_back(self) -> None:
        if self.priority_pending or self.apply_next_to_selection:
            self.priority_pending = False
            self.apply_next_to_selection = False
            self._show_title()
            return
        field = self._filter_field()
        if field is not None and field.display:
            field.display = False
            if field.value:
                with field.prevent(Input.Changed):
                    field.value = ""
            if self.filter_text:
                self.filter_text = ""
                self.load_requests(self.view, "", None, 0)
            self.request_list.focus()
            return
        if self.focused is not self.request_list and self.focused is not None:
            self.request_list.focus()
            return
        super().action_back()

    # --- selection ----------------------------------------------------------------------------

    def action_select(self) -> None:
        if self.request_list.toggle_mark() is not None:
            self.request_list.action_cursor_down()
        self._show_title()

    def action_apply_to_selection(self) -> None:
        if not self.request_list.marked:
            self.notify(_("Nothing is selected: x selects a request."), markup=False)
            return
        self.apply_next_to_selection = not self.apply_next_to_selection
        self._show_title()

    # --- verbs ----------------------------------------------------------------------------------

    def _row(self) -> ListRow | None:
        row = self.request_list.current_row()
        if row is None:
            self.notify(_("No request here."), markup=False)
        return row

    def _go(self, verb: str, value: Any, *, confirmed: bool = False) -> None:
        """Apply a verb to the selection (after `;`) or to the row under the cursor.

        Resolving or closing asks first when linked mail has no reply after it (``confirmed``:
        asked already, or nothing to ask).
        """
        from coordinator_tui.requests.service import Selected

        if verb == "status" and value in (rules.RESOLVED, rules.CLOSED) and not confirmed:
            if self._wants_selection():
                ids = sorted(self.request_list.marked)
            else:
                row = self._row()
                ids = [row.id] if row is not None else []
            if ids:
                self.check_unanswered(ids, verb, value)
            return
        if self.apply_next_to_selection:
            self.apply_next_to_selection = False
            marked = dict(self.request_list.marked)
            self.request_list.clear_marks()
            self._show_title()
            if marked:
                picked = [Selected(i, max(v, self._versions.get(i, 0))) for i, v in sorted(marked.items())]
                self.run_bulk(self._turns.take(), picked, verb, value)
                return
        row = self._row()
        if row is not None:
            if verb == "priority":
                self.request_list.show_change(priority=value)  # painted now; the store follows
            self.run_change(self._turns.take(), row.id, row.version, verb, value)

    def _wants_selection(self) -> bool:
        return self.apply_next_to_selection and bool(self.request_list.marked)

    def action_priority_prefix(self) -> None:
        if not self._wants_selection() and self.request_list.current_row() is None:
            self.notify(_("No request here."), markup=False)
            return
        self.priority_pending = True
        self._show_title()

    async def on_key(self, event: Any) -> None:
        # `p` then 1–4: the digit is the priority, not a jump to another screen.
        if self.priority_pending and self.focused is self.request_list:
            self.priority_pending = False
            event.stop()
            event.prevent_default()
            if event.key in ("1", "2", "3", "4"):
                self._go("priority", int(event.key))
            self._show_title()

    def _pick(self, title: str, choices: list[tuple[str, str]], current: str, verb: str) -> None:
        if not self._wants_selection() and self._row() is None:
            return

        def chosen(value: str | None) -> None:
            if value is not None:
                self._go(verb, value)

        self.app.push_screen(PickerScreen(title, choices, current), chosen)

    def action_category(self) -> None:
        if self.service is None:
            return
        row = self.request_list.current_row()
        choices = [(name, rules.category_label(name)) for name in self.service.categories]
        self._pick(_("Category"), choices, row.category if row else "", "category")

    def action_assign(self) -> None:
        if self.service is None:
            return
        row = self.request_list.current_row()
        names = self.service.assignee_choices()
        choices = [(name, name) for name in names] + [("", _("(nobody)"))]
        self._pick(_("Assign to"), choices, row.assignee if row else "", "assignee")

    def action_status(self) -> None:
        row = self.request_list.current_row()
        if self._wants_selection() or row is None:
            statuses: tuple[str, ...] = rules.STATUSES[1:]
        else:
            statuses = rules.allowed_next(row.status)
        choices = [(status, rules.status_label(status)) for status in statuses]
        self._pick(_("Status"), choices, "", "status")

    def action_escalate(self) -> None:
        if self._row() is None:
            return
        self.apply_next_to_selection = False  # escalation asks for one ticket number: one request

        def answered(ticket: str | None) -> None:
            if ticket is not None:
                self._go("escalate", ticket)

        self.app.push_screen(AskScreen(_("DigiFinland's ticket number"), "DF-12345"), answered)

    def action_note(self) -> None:
        row = self._row()
        if row is None:
            return

        def answered(text: str | None) -> None:
            if text is not None:
                self.run_note(self._turns.take(), row.id, text)

        self.app.push_screen(
            AskScreen(_("Internal note on {reference}").format(reference=row.reference)), answered
        )

    def action_merge(self) -> None:
        row = self._row()
        if row is None:
            return
        self.apply_next_to_selection = False  # a merge is of one request into one survivor

        def answered(reference: str | None) -> None:
            if reference is not None and reference.strip():
                self.run_merge(self._turns.take(), row.id, row.version, reference)

        prefix = row.reference.rsplit("-", 1)[0] + "-"
        self.app.push_screen(
            AskScreen(
                _("Merge {reference} into which request? Its mail and history move there.").format(
                    reference=row.reference
                ),
                prefix + "0042",
            ),
            answered,
        )

    @work(thread=True, group="requests-change", exit_on_error=False)
    def run_merge(self, turn: int, source_id: int, seen_version: int, reference: str) -> None:
        from coordinator_tui.requests.service import Selected
        from store.requests import Conflict, find_by_reference

        with self._turns.wait_for(turn):
            service = self._service()
            target = find_by_reference(service.store, reference)
            if target is None:
                self._tell(
                    _("There is no request {reference}; nothing was merged.").format(
                        reference=clean_line(reference, limit=40)
                    ),
                    "warning",
                )
                return
            version = max(seen_version, self._versions.get(source_id, 0))
            try:
                source, survivor = service.merge(
                    Selected(source_id, version), Selected(target.id, target.version)
                )
            except Conflict as conflict:
                self._tell(
                    _(
                        "{reference} was changed meanwhile; nothing was merged. Look at it and merge again."
                    ).format(reference=conflict.current.reference),
                    "warning",
                )
                self.app.call_from_thread(self.reload)
                return
            except (rules.RuleError, StoreError) as error:
                self._tell(error_words(error), "warning")
                return
            self._versions[source.id] = source.version
            self._versions[survivor.id] = survivor.version
            said = _("{source} merged into {target} · u undoes").format(
                source=source.reference, target=survivor.reference
            )
            self.post_message(Changed([source, survivor], said))

    # --- closing with mail unanswered -----------------------------------------------------------

    @work(thread=True, exclusive=True, group="requests-unanswered", exit_on_error=False)
    def check_unanswered(self, request_ids: list[int], verb: str, value: Any) -> None:
        service = self._service()
        found = []
        for request_id in request_ids:
            waiting = service.unanswered(request_id)
            if waiting:
                row = service.get(request_id)
                found.append((row.reference if row else str(request_id), len(waiting)))
        self.post_message(UnansweredChecked(verb, value, found))

    @on(UnansweredChecked)
    def unanswered_checked(self, message: UnansweredChecked) -> None:
        from coordinator_tui.screens.requestpickers import ConfirmScreen

        if not message.found:
            self._go(message.verb, message.value, confirmed=True)
            return
        question = (
            _("Linked mail has no reply after it. Resolve anyway?")
            if message.value == rules.RESOLVED
            else _("Linked mail has no reply after it. Close anyway?")
        )
        details = [
            f"{reference}: " + count_text("{n} message unanswered", "{n} messages unanswered", n)
            for reference, n in message.found
        ]

        def answered(go_ahead: bool | None) -> None:
            if go_ahead:
                self._go(message.verb, message.value, confirmed=True)
            else:
                self.apply_next_to_selection = False
                self._show_title()
                self.notify(_("Nothing was changed."), markup=False)

        self.app.push_screen(ConfirmScreen(question, details), answered)

    # --- reply ------------------------------------------------------------------------------------

    def action_reply(self) -> None:
        row = self._row()
        if row is None:
            return
        self.apply_next_to_selection = False  # a reply goes to one requester
        self.build_reply(row.id)

    @work(thread=True, exclusive=True, group="requests-reply", exit_on_error=False)
    def build_reply(self, request_id: int) -> None:
        from coordinator_tui.requests.service import tag_message_id
        from coordinator_tui.screens.compose import ComposeScreen, SendHooks

        service = self._service()
        try:
            row = service.get(request_id)
            if row is None:
                raise StoreError(_("The request is no longer in the store."), "")
            draft = service.reply_draft(request_id)
        except (rules.RuleError, StoreError) as error:
            self._tell(error_words(error), "warning")
            return

        def sent(message: Any) -> str:
            after = service.record_reply(request_id, message)
            self._versions[after.id] = after.version
            self.post_message(Changed([after], ""))
            return _("Recorded on {reference}.").format(reference=after.reference)

        hooks = SendHooks(prepare=partial(tag_message_id, reference=row.reference), sent=sent)
        self.app.call_from_thread(self.app.push_screen, ComposeScreen(draft, hooks))

    # --- the disruption notice --------------------------------------------------------------------

    def action_link_notice(self) -> None:
        row = self._row()
        if row is None:
            return
        self.apply_next_to_selection = False
        self.load_notice_choices(row.id)

    @work(thread=True, exclusive=True, group="requests-notice", exit_on_error=False)
    def load_notice_choices(self, request_id: int) -> None:
        service = self._service()
        row = service.get(request_id)
        if row is None:
            self._tell(_("The request is no longer in the store."), "warning")
            return
        linked = None
        if row.notice_id is not None:
            found = service.notice_subject(row.notice_id)
            linked = (row.notice_id, found[0] if found else "")
        notices = [(notice.id, notice.subject) for notice in service.open_notices()]
        version = max(row.version, self._versions.get(row.id, 0))
        self.post_message(NoticeChoices(row.id, version, row.reference, linked, notices))

    @on(NoticeChoices)
    def notice_choices(self, message: NoticeChoices) -> None:
        def link(notice_id: int | None) -> None:
            self.run_change(self._turns.take(), message.request_id, message.version, "notice", notice_id)

        if message.linked is not None:
            link(None)  # `i` again unlinks
            self.notify(
                _("{reference} unlinked from the notice · u undoes").format(reference=message.reference),
                markup=False,
            )
            return
        if not message.notices:
            self.notify(_("There is no open disruption notice to link to."), markup=False)
            return
        if len(message.notices) == 1:
            link(message.notices[0][0])
            self.notify(
                _("{reference} linked to the open notice · u undoes").format(reference=message.reference),
                markup=False,
            )
            return

        def chosen(value: str | None) -> None:
            if value is not None:
                link(int(value))

        choices = [(str(notice_id), subject or f"#{notice_id}") for notice_id, subject in message.notices]
        self.app.push_screen(PickerScreen(_("Link to which open notice?"), choices), chosen)

    # --- onboarding -------------------------------------------------------------------------------

    def action_onboard(self) -> None:
        row = self._row()
        if row is None or self.coordinator.store is None:
            return
        self.apply_next_to_selection = False  # a checklist is for one person
        from coordinator_tui.screens.requestonboarding import RequestOnboardingScreen

        self.app.push_screen(RequestOnboardingScreen(row.id, row.reference))

    # --- sort -------------------------------------------------------------------------------------

    def action_sort(self) -> None:
        self.sort = SORT_ORDER[(SORT_ORDER.index(self.sort) + 1) % len(SORT_ORDER)]
        self._show_title()
        self.load_requests(self.view, self.filter_text, None, 0)

    def action_undo(self) -> None:
        self.run_undo(self._turns.take())

    def action_figures(self) -> None:
        if self.service is None:
            return
        from coordinator_tui.screens.requestfigures import RequestFiguresScreen

        self.app.push_screen(RequestFiguresScreen(self.service))

    def action_triage(self) -> None:
        if self.service is None:
            return

        def left(_result: None) -> None:
            self.reload()

        self.app.push_screen(TriageScreen(self.service, self._triage_changed), left)

    def _triage_changed(self) -> None:
        pass  # the list reads again when triage mode closes

    # --- workers that change ------------------------------------------------------------------

    @work(thread=True, group="requests-change", exit_on_error=False)
    def run_change(self, turn: int, request_id: int, seen_version: int, verb: str, value: Any) -> None:
        from store.requests import Conflict

        with self._turns.wait_for(turn):
            service = self._service()
            version = max(seen_version, self._versions.get(request_id, 0))
            try:
                row = _apply_verb(service, request_id, version, verb, value)
            except Conflict as conflict:
                self.post_message(ConflictFound(conflict, verb, value))
                return
            except (rules.RuleError, StoreError) as error:
                self._tell(error_words(error), "warning")
                return
            self._versions[row.id] = row.version
            self.post_message(Changed([row], ""))

    @work(thread=True, group="requests-change", exit_on_error=False)
    def run_bulk(self, turn: int, picked: list[Any], verb: str, value: Any) -> None:
        from store.requests import BulkConflict

        with self._turns.wait_for(turn):
            service = self._service()
            try:
                rows = service.bulk(picked, verb, value)  # type: ignore[arg-type]
            except BulkConflict as error:
                references = ", ".join(conflict.current.reference for conflict in error.conflicts)
                self._tell(
                    _(
                        "{references} changed after you selected them, so nothing was changed. "
                        "Select them again and repeat."
                    ).format(references=references),
                    "warning",
                )
                self.app.call_from_thread(self.reload)
                return
            except (rules.RuleError, StoreError) as error:
                self._tell(error_words(error), "warning")
                return
            for row in rows:
                self._versions[row.id] = row.version
            said = count_text("Changed {n} request · u undoes", "Changed {n} requests · u undoes", len(rows))
            self.post_message(Changed(rows, said))

    @work(thread=True, group="requests-change", exit_on_error=False)
    def run_note(self, turn: int, request_id: int, text: str) -> None:
        with self._turns.wait_for(turn):
            service = self._service()
            try:
                service.add_note(request_id, text)
            except (rules.RuleError, StoreError) as error:
                self._tell(error_words(error), "warning")
                return
            row = service.get(request_id)
            self.post_message(Changed([row] if row else [], _("Note saved.")))

    @work(thread=True, group="requests-change", exit_on_error=False)
    def run_undo(self, turn: int) -> None:
        with self._turns.wait_for(turn):
            service = self._service()
            try:
                result = service.undo()
            except StoreError as error:
                self._tell(_("Could not undo: {error}").format(error=error), "warning")
                return
            if result is None:
                self._tell(_("Nothing to undo."))
                return
            rows = [row for i in result.request_ids if (row := service.get(i)) is not None]
            for row in rows:
                self._versions[row.id] = row.version
            said = _("Undone: {what}").format(what=clean_line(result.action.summary, limit=80))
            self.post_message(Changed(rows, said))

    @on(Changed)
    def changed(self, message: Changed) -> None:
        if message.said:
            self.notify(clean_line(message.said, limit=300), markup=False)
        self.reload(keep_index=self.request_list.cursor)
        if self._detail_id is not None and any(row.id == self._detail_id for row in message.rows):
            self.load_detail(self._detail_id)

    @on(ConflictFound)
    def conflict_found(self, message: ConflictFound) -> None:
        conflict = message.conflict

        def decided(mine: bool | None) -> None:
            current = conflict.current
            if mine:
                self.run_change(self._turns.take(), current.id, current.version, message.verb, message.value)
            else:
                self._versions[current.id] = current.version
                self.notify(_("Kept their change; yours was not saved."), markup=False)
                self.reload(keep_index=self.request_list.cursor)

        self.app.push_screen(ConflictScreen(conflict), decided)

    def _tell(self, text: str, severity: str = "information") -> None:
        self.app.call_from_thread(self.notify, clean_line(text, limit=400), severity=severity, markup=False)  # type: ignore[arg-type]


__all__ = ["RequestsScreen", "TriageScreen", "due_cell"]
