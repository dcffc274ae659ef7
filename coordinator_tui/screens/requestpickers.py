"""The two small dialogs that turn mail into request work: category and priority for a new request
(`C` on a message), and a search over open requests to link a message to (`L`).

The search reads the store in a thread worker through RequestService.window; nothing here writes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState, get_current_worker

from coordinator_tui.i18n import N_, _
from coordinator_tui.requests import rules
from coordinator_tui.screens.base import translated
from coordinator_tui.textclean import clean_line
from coordinator_tui.widgets.maillist import fit
from coordinator_tui.widgets.safe import plain

if TYPE_CHECKING:
    from coordinator_tui.requests.service import RequestService
    from store.requests import ListRow

CATEGORY_KEYS = "abcdefgh"  # as in triage mode: categories on letters, priorities on 1–4
LINK_LIMIT = 30  # rows the link picker shows; typing narrows, it never pages
LINK_DEBOUNCE_S = 0.08
TITLE_WIDTH = 36  # reference, title and the longest status fit the dialog's one line


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - cell_len(text))


@dataclass(frozen=True)
class NewRequestChoice:
    category: str  # "" when none was picked
    priority: int | None


def _report_errors(screen: ModalScreen[Any], event: Worker.StateChanged) -> None:
    if event.state == WorkerState.ERROR:
        from coordinator_tui.app import CoordinatorApp

        if isinstance(screen.app, CoordinatorApp):
            screen.app.report_worker_error(event.worker)


class NewRequestPicker(ModalScreen[NewRequestChoice | None]):
    """A letter picks the category, a digit the priority; with both picked the request is made.

    enter makes it with what is picked so far (an untriaged request); escape makes nothing.
    """

    DEFAULT_CSS = """
    NewRequestPicker { align: center middle; }
    NewRequestPicker #newrequest-choices { margin: 1 0; }
    """
    BINDINGS: ClassVar[list[Binding]] = [
        Binding(
            "escape", "cancel", N_("Cancel"), id="newrequest.cancel", tooltip=N_("Close; no request is made")
        ),
        Binding(
            "enter",
            "create",
            N_("Create"),
            id="newrequest.create",
            tooltip=N_("Make the request with what is picked so far"),
        ),
        *(
            Binding(
                str(p),
                f"priority({p})",
                N_("Priority"),
                id=f"newrequest.priority{p}",
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
                id=f"newrequest.category{i}",
                tooltip=N_("Set the category shown on this key"),
                show=False,
            )
            for i, key in enumerate(CATEGORY_KEYS)
        ),
    ]

    def __init__(self, title: str, requester: str, categories: Sequence[str]) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.request_title = title
        self.requester = requester
        self.categories = list(categories)[: len(CATEGORY_KEYS)]
        self.category = ""
        self.priority: int | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="request-dialog", id="newrequest-dialog"):
            yield Static(Content(_("New request from the message")), classes="heading")
            yield Static(plain(self.request_title, limit=200), id="newrequest-title")
            yield Static(
                Content.assemble((_("Requester") + ": ", "dim"), plain(self.requester, limit=200)),
                id="newrequest-requester",
            )
            yield Static(Content(""), id="newrequest-choices")
            yield Static(
                Content(_("letter: category · 1–4: priority · enter: create · escape: cancel")),
                classes="intro",
            )

    def on_mount(self) -> None:
        self._show()

    def _show(self) -> None:
        parts: list[Content] = [Content(_("Category")), Content("\n")]
        for key, category in zip(CATEGORY_KEYS, self.categories, strict=False):
            chosen = category == self.category
            parts.append(
                Content.styled(f" {key}  {rules.category_label(category)}", "bold reverse" if chosen else "")
            )
            parts.append(Content("\n"))
        parts.extend([Content("\n"), Content(_("Priority")), Content("\n")])
        for priority in rules.PRIORITIES:
            chosen = priority == self.priority
            label = f" {priority}  {rules.priority_label(priority)}"
            parts.append(Content.styled(label, "bold reverse" if chosen else ""))
            parts.append(Content("\n"))
        self.query_one("#newrequest-choices", Static).update(Content.assemble(*parts[:-1]))

    def action_category(self, index: int) -> None:
        if index < len(self.categories):
            self.category = self.categories[index]
            self._picked()

    def action_priority(self, priority: int) -> None:
        self.priority = priority
        self._picked()

    def _picked(self) -> None:
        if self.category and self.priority is not None:
            self.action_create()
        else:
            self._show()

    def action_create(self) -> None:
        self.dismiss(NewRequestChoice(self.category, self.priority))

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass
class LinkRowsLoaded(Message):
    text: str
    rows: list[ListRow]
    more: bool


class LinkRequestPicker(ModalScreen["ListRow | None"]):
    """Open requests by reference or title, filtered as you type; enter picks the highlighted one."""

    DEFAULT_CSS = "LinkRequestPicker { align: center middle; }"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding(
            "escape", "cancel", N_("Cancel"), id="linkrequest.cancel", tooltip=N_("Close without linking")
        ),
        Binding(
            "down", "down", N_("Down"), id="linkrequest.down", tooltip=N_("The next request"), show=False
        ),
        Binding("up", "up", N_("Up"), id="linkrequest.up", tooltip=N_("The previous request"), show=False),
    ]

    def __init__(self, service: RequestService) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.service = service
        self.rows: list[ListRow] = []
        self.shown_text: str | None = None  # the filter the list shows; None before the first read

    def compose(self) -> ComposeResult:
        with Vertical(classes="request-dialog", id="linkrequest-dialog"):
            yield Static(Content(_("Link the message to a request")), classes="heading")
            yield Input(placeholder=_("Reference or words of the title"), id="linkrequest-filter")
            yield OptionList(id="linkrequest-options")
            yield Static(
                Content(_("type: filter · ↑↓: choose · enter: link · escape: cancel")), classes="intro"
            )

    def on_mount(self) -> None:
        self.query_one("#linkrequest-filter", Input).focus()
        self.load_rows("", debounce=False)

    @on(Input.Changed, "#linkrequest-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.load_rows(event.value.strip(), debounce=True)

    @work(thread=True, exclusive=True, group="linkrequest-load", exit_on_error=False)
    def load_rows(self, text: str, debounce: bool) -> None:
        if debounce:
            time.sleep(LINK_DEBOUNCE_S)
            if get_current_worker().is_cancelled:
                return
        window = self.service.window("open", sort="updated", limit=LINK_LIMIT, match=text)
        if not get_current_worker().is_cancelled:
            self.post_message(LinkRowsLoaded(text, window.rows, window.more))

    @on(LinkRowsLoaded)
    def show_rows(self, message: LinkRowsLoaded) -> None:
        if message.text != self.query_one("#linkrequest-filter", Input).value.strip():
            return  # typed on meanwhile; the newer read is coming
        self.rows = message.rows
        self.shown_text = message.text
        options = self.query_one("#linkrequest-options", OptionList)
        options.clear_options()
        if not self.rows:
            options.add_option(Option(Content(_("No open request matches.")), id="none", disabled=True))
            return
        for index, row in enumerate(self.rows):
            label = Content.assemble(
                (row.reference, "bold"),
                "  ",
                plain(pad(fit(clean_line(row.title, limit=200), TITLE_WIDTH), TITLE_WIDTH), limit=80),
                "  ",
                (rules.status_label(row.status), "dim"),
            )
            options.add_option(Option(label, id=f"request-{index}"))
        options.highlighted = 0

    def action_down(self) -> None:
        self.query_one("#linkrequest-options", OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one("#linkrequest-options", OptionList).action_cursor_up()

    @on(Input.Submitted, "#linkrequest-filter")
    def submitted(self, event: Input.Submitted) -> None:
        self._pick(self.query_one("#linkrequest-options", OptionList).highlighted)

    @on(OptionList.OptionSelected, "#linkrequest-options")
    def selected(self, event: OptionList.OptionSelected) -> None:
        self._pick(event.option_index)

    def _pick(self, index: int | None) -> None:
        if self.shown_text != self.query_one("#linkrequest-filter", Input).value.strip():
            self.notify(_("Still searching; press enter again in a moment."), markup=False)
            return
        if index is None or not 0 <= index < len(self.rows):
            self.notify(_("No request to link to: change the search."), markup=False)
            return
        self.dismiss(self.rows[index])

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        _report_errors(self, event)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question before a step the user may regret (closing with mail unanswered):
    y (or k, kyllä) goes ahead; n (e, ei) or escape does nothing."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen #confirm-details { margin: 1 0; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("y,k", "yes", N_("Yes"), id="confirm.yes", tooltip=N_("Go ahead")),
        Binding("n,e,escape", "no", N_("No"), id="confirm.no", tooltip=N_("Change nothing")),
    ]

    def __init__(self, question: str, details: Sequence[str] = ()) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.question = question
        self.details = list(details)

    def compose(self) -> ComposeResult:
        with Vertical(classes="request-dialog", id="confirm-dialog"):
            yield Static(plain(self.question, limit=400), classes="heading")
            if self.details:
                yield Static(
                    Content("\n").join(plain(line, limit=120) for line in self.details[:8]),
                    id="confirm-details",
                )
            yield Static(Content(_("y: yes · n or escape: no")), classes="intro")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)
