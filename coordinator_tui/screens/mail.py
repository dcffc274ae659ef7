"""Sähköposti: the shared mailbox — folders, a list that stays fast at 100,000 messages, the reader,
search as you type, and triage from the keyboard (mutt/Gmail keys: x select, ; apply to the selection).

Reads go through store/mailview.py; every change goes through coordinator_tui.mail.triage, which
writes the store at once; the server is told in the same thread worker, and a refusal rolls the
store back with a message. Nothing here waits on the network in the UI thread.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from coordinator_tui.i18n import N_, _, count_text
from coordinator_tui.screens.base import AREA_BY_MODE, AreaScreen
from coordinator_tui.textclean import clean_line
from coordinator_tui.turns import Turns
from coordinator_tui.widgets.maillist import EmptySource, FolderSource, IdsSource, MailList, RowSource, fit
from coordinator_tui.widgets.mailreader import MailReader
from coordinator_tui.widgets.safe import plain
from store.mailview import (
    FolderSummary,
    MessageDetail,
    ThreadMember,
    default_folder_id,
    flag_states,
    folder_count,
    folders,
    message_detail,
    position_in_folder,
    search_mail,
    thread_members,
)

if TYPE_CHECKING:
    from coordinator_tui.config import ImapSection
    from coordinator_tui.requests.service import RequestService
    from coordinator_tui.screens.requestpickers import NewRequestChoice
    from store.requests import ListRow

# Folder roles by the names the user reads.
ROLE_NAMES = {
    "inbox": N_("Inbox"),
    "sent": N_("Sent"),
    "archive": N_("Archive"),
    "trash": N_("Trash"),
}
# What each triage action is called when it is done or undone.
ACTION_NAMES = {
    "read": N_("marked read"),
    "unread": N_("marked unread"),
    "flag": N_("flagged"),
    "unflag": N_("unflagged"),
    "archive": N_("archived"),
    "delete": N_("moved to the trash"),
}
FOLDER_LABEL_WIDTH = 20  # the folder list is 22 wide, less its border and padding
SEARCH_DEBOUNCE_S = 0.12  # a pause in typing this long starts the search; faster typists wait less


# --- messages from the workers --------------------------------------------------------------------


@dataclass
class ListLoaded(Message):
    folder_id: int
    source: RowSource
    cursor: int


@dataclass
class FoldersLoaded(Message):
    folders: list[FolderSummary]


@dataclass
class SearchLoaded(Message):
    text: str
    source: IdsSource
    cursor: int


@dataclass
class MessageLoaded(Message):
    detail: MessageDetail
    thread: list[ThreadMember]


@dataclass
class RawLoaded(Message):
    message_id: int
    text: str


# --- the folder question for `w` ------------------------------------------------------------------


class SaveToScreen(ModalScreen[Path | None]):
    """Asks which folder to write an attachment to; returns the folder, or None on escape."""

    BINDINGS: ClassVar[list[Binding]] = [Binding("escape", "cancel", N_("Cancel"), id="saveto.cancel")]
    DEFAULT_CSS = """
    SaveToScreen { align: center middle; }
    SaveToScreen > Vertical {
        width: 80; height: auto; border: round $accent; background: $surface; padding: 1 2;
    }
    SaveToScreen Input { margin-top: 1; }
    """

    def __init__(self, filename: str, default: Path) -> None:
        super().__init__()
        self.filename = filename
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(_("Save the attachment")), classes="heading")
            yield Static(plain(self.filename, limit=200))
            yield Input(value=str(self.default), id="saveto-folder")
            yield Static(Content(_("enter: save in this folder · escape: cancel")), classes="intro")

    @on(Input.Submitted, "#saveto-folder")
    def submit(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(Path(value).expanduser() if value else None)

    def action_cancel(self) -> None:
        self.dismiss(None)


def sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def default_download_folder() -> Path:
    downloads = Path.home() / "Downloads"
    return downloads if downloads.is_dir() else Path.home()


def folder_label(folder: FolderSummary) -> str:
    if folder.role in ROLE_NAMES:
        return _(ROLE_NAMES[folder.role])
    return clean_line(folder.name, limit=40)


# --- the screen ------------------------------------------------------------------------------------


class MailScreen(AreaScreen):
    AREA = "mail"
    STYLES_IN_APP_CSS = True
    AUTO_FOCUS = "#mail-list"  # focused as the screen is shown: one focus change, one footer rebuild
    # (key, action, description, id, tooltip, in the footer). The footer shows the daily verbs only:
    # each key there is a widget that Textual restyles whenever the screen is shown, which was half
    # the cost of opening the screen with all of them; `?` lists every one.
    BINDINGS: ClassVar[list[Binding]] = [
        Binding(key, action, description, id=binding_id, tooltip=tooltip, show=shown, key_display=display)
        for key, action, description, binding_id, tooltip, shown, display in (
            (
                "slash",
                "search",
                N_("Search"),
                "mail.search",
                N_("Subject, sender and text, as you type"),
                True,
                None,
            ),
            ("x", "select", N_("Select"), "mail.select", N_("Mark the message (again: unmark)"), False, None),
            (
                "semicolon",
                "apply_to_selection",
                N_("To the selected"),
                "mail.apply",
                N_("The next action applies to the marked messages"),
                False,
                ";",
            ),
            (
                "N",
                "toggle_unread",
                N_("Read/unread"),
                "mail.unread",
                N_("Toggle read and unread"),
                False,
                None,
            ),
            ("s", "flag", N_("Flag"), "mail.flag", N_("Flag or unflag"), False, None),
            ("e", "archive", N_("To archive"), "mail.archive", N_("Move to the archive folder"), True, None),
            ("number_sign", "delete", N_("Delete"), "mail.delete", N_("Move to the trash folder"), True, "#"),
            ("u", "undo", N_("Undo"), "mail.undo", N_("Undo the last triage action"), True, None),
            ("r", "reply", N_("Reply"), "mail.reply", N_("Reply to the sender"), True, None),
            ("R", "reply_all", N_("Reply all"), "mail.reply_all", N_("Reply to everyone"), False, None),
            ("F", "forward", N_("Forward"), "mail.forward", N_("Forward the message"), False, None),
            (
                "H",
                "headers",
                N_("Headers/source"),
                "mail.headers",
                N_("Full headers, then the raw source"),
                False,
                None,
            ),
            (
                "w",
                "write_attachment",
                N_("Save attachment"),
                "mail.write",
                N_("Write the highlighted attachment to a folder"),
                False,
                None,
            ),
            ("ctrl+r", "sync_now", N_("Sync now"), "mail.sync", N_("Fetch new mail now"), False, None),
            (
                "C",
                "create_request",
                N_("New request"),
                "mail.create_request",
                N_("Create a service request from the message (category and priority asked)"),
                False,
                None,
            ),
            (
                "L",
                "link_request",
                N_("Link to request"),
                "mail.link_request",
                N_("Link the message to an open service request (search by reference or title)"),
                False,
                None,
            ),
        )
    ]

    def __init__(self) -> None:
        super().__init__()
        self.folder_id: int | None = None
        self.folder_list: list[FolderSummary] = []
        self.search_text = ""
        self.apply_next_to_selection = False
        self.last_change: Any = None  # the triage module's TriageChange, for `u`
        self.last_change_action = ""
        self._reader_message_id: int | None = None  # the message last opened in the reader
        self._turns = Turns()  # triage changes reach the store and the server in the order made
        self._showing_folders = False
        self._folders_shown: tuple[tuple[FolderSummary, ...], int | None] | None = None
        self._request_service: RequestService | None = None  # built in the first `C`/`L` worker
        self._list_read_at_compose: int | None = None  # mail_version when compose read the list

    # --- layout -------------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="mail-body"):
            yield OptionList(id="mail-folders")
            with Vertical(id="mail-main"):
                yield Static(Content(""), id="mail-list-title")
                yield MailList(now=self.coordinator.now, source=self._first_source(), id="mail-list")
                yield MailReader(id="mail-reader")

    def _first_source(self) -> FolderSource | None:
        """The default folder's rows, read here so that the first paint shows them.

        Two index reads of a few milliseconds, like the list's own block reads (see
        widgets/maillist.py); waiting for a worker instead cost the first open a second layout and
        paint of the whole screen. The folder counts, which walk the mailbox's index, still come
        from the worker that the resume starts.
        """
        store = self.coordinator.store
        if store is None:
            return None
        folder_id = default_folder_id(store)
        if folder_id is None:
            return None
        self.folder_id = folder_id
        # A screen built ahead (CoordinatorApp.warm_up_screens) may be shown much later: the first
        # resume reads the list again unless the mail is still as it was read here.
        self._list_read_at_compose = self.coordinator.mail_version
        return FolderSource(store, folder_id, folder_count(store, folder_id))

    @property
    def mail_list(self) -> MailList:
        return self.query_one("#mail-list", MailList)

    @property
    def reader(self) -> MailReader:
        return self.query_one("#mail-reader", MailReader)

    def on_mount(self) -> None:
        self.watch(self.app, "mail_version", self._mail_changed, init=False)

    def on_screen_resume(self) -> None:
        self.sub_title = _(AREA_BY_MODE[self.AREA].title)
        # Built in the background (CoordinatorApp.warm_up_screens), the resume can come before
        # compose has mounted the list; switching to the screen resumes it again and reads then.
        if self.query(MailList):
            self.reload()

    def _mail_changed(self) -> None:
        if self.is_current:
            self.reload(keep_reader=True)

    # --- reading ------------------------------------------------------------------------------

    def reload(self, *, keep_reader: bool = False) -> None:
        """Read the folders and the shown list again, keeping the cursor on the same message."""
        if self.coordinator.store is None:
            return
        read_at, self._list_read_at_compose = self._list_read_at_compose, None
        if read_at is not None and read_at == self.coordinator.mail_version and not self.search_text:
            self.loaded_at = self.coordinator.now()
            self.load_mail(self.folder_id, None, 0, list_too=False)
            return
        row = self.mail_list.current_row()
        keep_id = row.id if row is not None else None
        if self.search_text:
            self.run_search(self.search_text, keep_index=self.mail_list.cursor, debounce=False)
            self.load_mail(self.folder_id, None, self.mail_list.cursor, list_too=False)
        else:
            self.load_mail(self.folder_id, keep_id, self.mail_list.cursor)
        # The message last asked for, not the one the reader shows: a reload racing an open (the
        # open marks the message read, which reloads) must not bring the previous message back.
        if keep_reader and self._reader_message_id is not None:
            self.load_message(self._reader_message_id)

    @work(thread=True, exclusive=True, group="mail-load", exit_on_error=False)
    def load_mail(
        self, folder_id: int | None, keep_id: int | None, keep_index: int, list_too: bool = True
    ) -> None:
        store = self.coordinator.store
        assert store is not None
        # The list first (an index-only count, a few ms); the folder counts after it, since they
        # walk the whole mailbox's index (13 ms at 100,000 messages, far more on a busy machine).
        if folder_id is None:
            folder_id = default_folder_id(store)
            keep_id, keep_index = None, 0
        if folder_id is not None and list_too:
            source = FolderSource(store, folder_id, folder_count(store, folder_id))
            cursor = keep_index
            if keep_id is not None:
                position = position_in_folder(store, folder_id, keep_id)
                cursor = keep_index if position is None else position
            self.post_message(ListLoaded(folder_id, source, cursor))
        self.post_message(FoldersLoaded(folders(store)))

    @on(ListLoaded)
    def show_list(self, message: ListLoaded) -> None:
        if self.search_text:
            return
        changed_folder = message.folder_id != self.folder_id
        self.folder_id = message.folder_id
        self.mail_list.set_source(message.source, message.cursor)
        if changed_folder:
            self.mail_list.clear_marks()
        self._show_folders()
        self._show_title()
        self.loaded_at = self.coordinator.now()

    @on(FoldersLoaded)
    def show_folders(self, message: FoldersLoaded) -> None:
        self.folder_list = message.folders
        if self.folder_id is not None and all(f.id != self.folder_id for f in message.folders):
            # The folder went away (a UIDVALIDITY reset, a rename): show the first one instead.
            self.folder_id = None
            self.load_mail(None, None, 0)
            return
        self._show_folders()
        self._show_title()
        if self.folder_id is None:  # no folders at all yet
            self.mail_list.set_source(EmptySource())
            self.loaded_at = self.coordinator.now()

    def _show_folders(self) -> None:
        shown = (tuple(self.folder_list), self.folder_id)
        if shown == self._folders_shown:
            return  # unchanged: rebuilding the options would only repaint the list for nothing
        self._folders_shown = shown
        options = self.query_one("#mail-folders", OptionList)
        self._showing_folders = True
        try:
            options.clear_options()
            highlighted = None
            for index, folder in enumerate(self.folder_list):
                counts = f"{folder.unread}/{folder.total}" if folder.unread else f"{folder.total}"
                name = folder_label(folder)
                width = max(1, FOLDER_LABEL_WIDTH - cell_len(counts) - 1)
                label = Content.assemble(
                    (f"{fit(name, width):<{width}} ", "bold" if folder.unread else ""),
                    (counts, "dim"),
                )
                options.add_option(Option(label, id=f"folder-{folder.id}"))
                if folder.id == self.folder_id:
                    highlighted = index
            options.highlighted = highlighted
        finally:
            self._showing_folders = False

    def _show_title(self) -> None:
        title = self.query_one("#mail-list-title", Static)
        count = self.mail_list.count
        if self.search_text:
            text = count_text("Search: {n} message", "Search: {n} messages", count)
            title.update(Content.assemble((text, "bold"), " · ", plain(self.search_text, limit=80)))
            return
        folder = next((f for f in self.folder_list if f.id == self.folder_id), None)
        if folder is None:
            title.update(Content(_("No mail folders yet: sync the mailbox (ctrl+r).")))
            return
        parts: list[Content | tuple[str, str] | str] = [
            (folder_label(folder), "bold"),
            " · ",
            count_text("{n} message", "{n} messages", self.mail_list.count),
        ]
        if folder.unread:
            parts += [" · ", count_text("{n} unread", "{n} unread", folder.unread)]
        marked = len(self.mail_list.marked)
        if marked:
            parts += [" · ", (count_text("{n} selected", "{n} selected", marked), "bold $warning")]
        if self.apply_next_to_selection:
            parts += [" · ", (_("next action: to the selected"), "bold $warning")]
        title.update(Content.assemble(*parts))

    @on(OptionList.OptionHighlighted, "#mail-folders")
    def folder_chosen(self, event: OptionList.OptionHighlighted) -> None:
        if self._showing_folders or event.option.id is None:
            return
        folder_id = int(event.option.id.removeprefix("folder-"))
        if folder_id == self.folder_id and not self.search_text:
            return
        self._end_search()
        self.folder_id = folder_id
        self.mail_list.clear_marks()
        self.load_mail(folder_id, None, 0)

    # --- opening --------------------------------------------------------------------------------

    @on(MailList.Highlighted)
    def row_highlighted(self, event: MailList.Highlighted) -> None:
        self._show_title()

    @on(MailList.Opened)
    def row_opened(self, event: MailList.Opened) -> None:
        self.load_message(event.row.id)
        if not event.row.seen:
            self.mark_read_on_open(event.row.id)

    def load_message(self, message_id: int) -> None:
        self._reader_message_id = message_id
        self._read_message(message_id)

    @work(thread=True, exclusive=True, group="mail-message", exit_on_error=False)
    def _read_message(self, message_id: int) -> None:
        store = self.coordinator.store
        assert store is not None
        detail = message_detail(store, message_id)
        if detail is None:
            return
        self.post_message(MessageLoaded(detail, thread_members(store, detail.thread_key)))

    @on(MessageLoaded)
    def show_message(self, message: MessageLoaded) -> None:
        self.reader.show(message.detail, message.thread, self.coordinator.now())

    @on(OptionList.OptionSelected, "#reader-thread")
    def thread_member_chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.load_message(int(event.option.id.removeprefix("thread-")))

    @on(OptionList.OptionSelected, "#reader-attachments")
    def attachment_chosen(self, event: OptionList.OptionSelected) -> None:
        self.action_write_attachment()

    def action_headers(self) -> None:
        reader = self.reader
        detail = reader.detail
        if detail is None:
            self.notify(_("Open a message first (enter)."), markup=False)
            return
        if reader.mode == "text":
            reader.set_mode("headers")
        elif reader.mode == "headers":
            if self.coordinator.context.demo:
                reader.set_mode(
                    "raw",
                    _("The raw source is not available in the demo: its messages are not on a server."),
                )
            elif reader.raw_text is not None:
                reader.set_mode("raw")
            else:
                self.notify(_("Fetching the raw source from the server…"), markup=False)
                self.fetch_raw(detail.id)
        else:
            reader.set_mode("text")

    @work(thread=True, exclusive=True, group="mail-raw", exit_on_error=False)
    def fetch_raw(self, message_id: int) -> None:
        store = self.coordinator.store
        assert store is not None
        from coordinator_tui.mail.imap import ImapError
        from coordinator_tui.mail.ondemand import fetch_raw

        section, password = self._server_login()
        if section is None or password is None:
            return
        try:
            raw = fetch_raw(store, section, password, message_id)
        except ImapError as error:
            self._tell(_("The raw source could not be fetched: {error}").format(error=error))
            return
        self.post_message(RawLoaded(message_id, raw.decode("utf-8", errors="replace")))

    @on(RawLoaded)
    def show_raw(self, message: RawLoaded) -> None:
        if self.reader.detail is not None and self.reader.detail.id == message.message_id:
            self.reader.set_mode("raw", message.text)

    def action_write_attachment(self) -> None:
        reader = self.reader
        detail = reader.detail
        if detail is None:
            self.notify(_("Open a message first (enter)."), markup=False)
            return
        index = reader.highlighted_attachment()
        if index is None:
            self.notify(_("This message has no attachments."), markup=False)
            return
        attachment = detail.attachments[index]
        if self.coordinator.context.demo:
            self.notify(
                _("The demo's attachments are not on a server, so there is nothing to save."), markup=False
            )
            return

        def chosen(directory: Path | None) -> None:
            if directory is not None:
                self.save_attachment(attachment.id, directory)

        self.app.push_screen(SaveToScreen(attachment.filename, default_download_folder()), chosen)

    @work(thread=True, group="mail-save", exit_on_error=False)
    def save_attachment(self, attachment_id: int, directory: Path) -> None:
        store = self.coordinator.store
        assert store is not None
        from coordinator_tui.mail.imap import ImapError
        from coordinator_tui.mail.ondemand import save_attachment

        section, password = self._server_login()
        if section is None or password is None:
            return
        try:
            path = save_attachment(store, section, password, attachment_id, directory)
        except ImapError as error:
            self._tell(_("The attachment could not be fetched: {error}").format(error=error))
            return
        except OSError as error:
            self._tell(
                _("The attachment could not be written to {folder}: {error}").format(
                    folder=directory, error=error.strerror or error
                )
            )
            return
        self._tell(_("Saved: {path}").format(path=path))

    # --- search -------------------------------------------------------------------------------

    def _search_field(self) -> Input | None:
        """The search field, once `/` has made it (it is not built before: every widget costs)."""
        found = self.query("#mail-search")
        return found.first(Input) if found else None

    def action_search(self) -> None:
        field = self._search_field()
        if field is None:
            field = Input(id="mail-search", placeholder=_("Search mail: subject, sender, text"))
            self.query_one("#mail-main", Vertical).mount(field, before="#mail-list-title")
        field.display = True
        field.focus()

    @on(Input.Changed, "#mail-search")
    def search_changed(self, event: Input.Changed) -> None:
        text = event.value.strip()
        if not text:
            if self.search_text:
                self.search_text = ""
                self.load_mail(self.folder_id, None, 0)
            return
        self.run_search(text, keep_index=0, debounce=True)

    @on(Input.Submitted, "#mail-search")
    def search_submitted(self, event: Input.Submitted) -> None:
        self.mail_list.focus()

    @work(thread=True, exclusive=True, group="mail-search", exit_on_error=False)
    def run_search(self, text: str, keep_index: int, debounce: bool) -> None:
        if debounce:
            time.sleep(SEARCH_DEBOUNCE_S)
            if get_current_worker().is_cancelled:
                return
        store = self.coordinator.store
        assert store is not None
        ids = search_mail(store, text)
        if not get_current_worker().is_cancelled:
            self.post_message(SearchLoaded(text, IdsSource(store, tuple(ids)), keep_index))

    @on(SearchLoaded)
    def show_search(self, message: SearchLoaded) -> None:
        field = self._search_field()
        if field is None or not field.display or message.text != field.value.strip():
            return  # the user typed on or left the search meanwhile
        new_search = message.text != self.search_text
        self.search_text = message.text
        self.mail_list.set_source(message.source, 0 if new_search else message.cursor)
        self._show_title()
        self.loaded_at = self.coordinator.now()

    def _end_search(self) -> None:
        self.workers.cancel_group(self, "mail-search")
        self.search_text = ""
        field = self._search_field()
        if field is None:
            return
        field.display = False
        if field.value:
            with field.prevent(Input.Changed):
                field.value = ""

    def action_back(self) -> None:
        field = self._search_field()
        if field is not None and field.display:
            was_searching = bool(self.search_text)
            self._end_search()
            self.mail_list.focus()
            if was_searching:
                self.load_mail(self.folder_id, None, 0)
            return
        if self.focused is not self.mail_list and self.focused is not None:
            self.mail_list.focus()
            return
        super().action_back()

    # --- triage ---------------------------------------------------------------------------------

    def action_select(self) -> None:
        if self.mail_list.toggle_mark() is not None:
            self.mail_list.action_cursor_down()
        self._show_title()

    def action_apply_to_selection(self) -> None:
        if not self.mail_list.marked:
            self.notify(_("Nothing is selected: x selects a message."), markup=False)
            return
        self.apply_next_to_selection = not self.apply_next_to_selection
        self._show_title()

    def _targets(self) -> list[int]:
        """The marked messages after `;`, else the one under the cursor."""
        if self.apply_next_to_selection:
            self.apply_next_to_selection = False
            ids = sorted(self.mail_list.marked)
            self.mail_list.clear_marks()
            self._show_title()
            if ids:
                return ids
        row = self.mail_list.current_row()
        return [row.id] if row is not None else []

    def _triage(self, action: str) -> None:
        ids = self._targets()
        if not ids:
            self.notify(_("No message here."), markup=False)
            return
        self.run_triage(self._turns.take(), action, ids)

    def action_toggle_unread(self) -> None:
        self._triage("toggle_read")

    def action_flag(self) -> None:
        self._triage("toggle_flag")

    def action_archive(self) -> None:
        self._triage("archive")

    def action_delete(self) -> None:
        self._triage("delete")

    def action_undo(self) -> None:
        if self.last_change is None:
            self.notify(_("Nothing to undo."), markup=False)
            return
        change, self.last_change = self.last_change, None
        self.undo_triage(self._turns.take(), change, self.last_change_action)

    def mark_read_on_open(self, message_id: int) -> None:
        self.run_triage(self._turns.take(), "read", [message_id], remember=False)

    @work(thread=True, group="mail-triage", exit_on_error=False)
    def run_triage(self, turn: int, action: str, ids: Sequence[int], remember: bool = True) -> None:
        from coordinator_tui.mail import triage
        from coordinator_tui.mail.imap import ImapError

        store = self.coordinator.store
        assert store is not None
        with self._turns.wait_for(turn):
            if action in ("toggle_read", "toggle_flag"):
                states = flag_states(store, ids)
                if action == "toggle_read":
                    action = "unread" if states and all(seen for seen, _f in states.values()) else "read"
                else:
                    action = (
                        "unflag" if states and all(flagged for _s, flagged in states.values()) else "flag"
                    )
            try:
                change = triage.apply_local(store, action, ids)
            except ImapError as error:  # e.g. no archive folder: nothing was changed
                self._tell(str(error), severity="warning")
                return
            if change.empty:
                return
            self.app.call_from_thread(self._applied, change if remember else None, action, len(change.items))
            self._push(triage, store, change, action)

    @work(thread=True, group="mail-triage", exit_on_error=False)
    def undo_triage(self, turn: int, change: Any, action: str) -> None:
        from coordinator_tui.mail import triage
        from coordinator_tui.mail.imap import ImapError

        store = self.coordinator.store
        assert store is not None
        with self._turns.wait_for(turn):
            try:
                inverse = triage.inverse(store, change)
            except ImapError as error:  # deleted for good: cannot come back
                self._tell(str(error), severity="warning")
                return
            self.app.call_from_thread(self._undone, action)
            if not inverse.empty:
                self._push(triage, store, inverse, action)

    def _applied(self, change: Any, action: str, count: int) -> None:
        if change is not None:
            self.last_change, self.last_change_action = change, action
            if action in ("archive", "delete"):
                self.notify(
                    _("{what}: {count} · u undoes").format(
                        count=count, what=sentence(_(ACTION_NAMES[action]))
                    ),
                    markup=False,
                )
        self.coordinator.mail_version += 1

    def _undone(self, action: str) -> None:
        self.notify(_("Undone: {what}").format(what=_(ACTION_NAMES.get(action, action))), markup=False)
        self.coordinator.mail_version += 1

    def _push(self, triage: Any, store: Any, change: Any, action: str) -> None:
        """Tell the server; on refusal, roll the store back and say so. Runs in the triage worker."""
        if self.coordinator.context.demo:
            return
        from coordinator_tui.mail.imap import ImapError

        section = self.coordinator.config.imap
        if not section.host:
            return
        what = _(ACTION_NAMES.get(action, action))
        secret = self.coordinator.password_from_worker("imap", section.username)
        if secret is None:
            triage.revert_local(store, change)
            self.app.call_from_thread(self._bump)
            self._tell(
                _("The change ({what}) was undone: the mail server needs its password.").format(what=what),
                severity="warning",
            )
            return
        try:
            triage.push(store, section, secret.value, change)
        except ImapError as error:
            triage.revert_local(store, change)
            self.app.call_from_thread(self._bump)
            self._tell(
                _("The mail server did not take the change ({what}), so it was undone here: {error}").format(
                    what=what, error=error
                ),
                severity="error",
            )

    def _bump(self) -> None:
        self.coordinator.mail_version += 1

    def _server_login(self) -> tuple[ImapSection | None, str | None]:
        """The IMAP settings and password, or (None, None) after telling the user why not. Worker only."""
        section = self.coordinator.config.imap
        if not section.host:
            self._tell(_("The mail server is not configured ([imap] host in the config)."))
            return None, None
        secret = self.coordinator.password_from_worker("imap", section.username)
        if secret is None:
            self._tell(_("No password for the mail server; nothing was fetched."))
            return None, None
        return section, secret.value

    def _tell(self, text: str, severity: str = "information") -> None:
        """A notification from a worker thread; the text may carry a stranger's words, so no markup."""
        self.app.call_from_thread(self.notify, clean_line(text, limit=400), severity=severity, markup=False)  # type: ignore[arg-type]

    # --- replies ------------------------------------------------------------------------------

    def _reply_target(self) -> int | None:
        focused = self.focused
        if (
            self.reader.detail is not None
            and focused is not None
            and (focused is self.reader or self.reader in focused.ancestors)
        ):
            return self.reader.detail.id
        row = self.mail_list.current_row()
        return row.id if row is not None else None

    def action_reply(self) -> None:
        self._start_draft("reply")

    def action_reply_all(self) -> None:
        self._start_draft("reply_all")

    def action_forward(self) -> None:
        self._start_draft("forward")

    def _start_draft(self, kind: str) -> None:
        message_id = self._reply_target()
        if message_id is None:
            self.notify(_("No message here."), markup=False)
            return
        self.build_draft(kind, message_id)

    @work(thread=True, exclusive=True, group="mail-compose", exit_on_error=False)
    def build_draft(self, kind: str, message_id: int) -> None:
        store = self.coordinator.store
        assert store is not None
        from coordinator_tui.mail import compose
        from coordinator_tui.screens.compose import ComposeScreen

        if kind == "forward":
            draft = compose.forward_draft(store, message_id)
        else:
            own = compose.own_addresses(self.coordinator.config, demo=self.coordinator.context.demo)
            draft = compose.reply_draft(store, message_id, reply_all=kind == "reply_all", own_addresses=own)
        self.app.call_from_thread(self.app.push_screen, ComposeScreen(draft))

    # --- requests from mail ----------------------------------------------------------------------

    def _requests(self) -> RequestService:
        """The request operations (the config is read here, so: worker only)."""
        if self._request_service is None:
            from coordinator_tui.requests.service import RequestService

            store = self.coordinator.store
            assert store is not None
            self._request_service = RequestService(
                store, self.coordinator.config.requests, clock=self.coordinator.now
            )
        return self._request_service

    def action_create_request(self) -> None:
        message_id = self._reply_target()
        if message_id is None:
            self.notify(_("No message here."), markup=False)
            return
        self.ask_new_request(message_id)

    @work(thread=True, exclusive=True, group="mail-request", exit_on_error=False)
    def ask_new_request(self, message_id: int) -> None:
        from coordinator_tui.requests.service import mail_title
        from coordinator_tui.screens.requestpickers import NewRequestPicker

        service = self._requests()
        detail = message_detail(service.store, message_id)
        if detail is None:
            self._tell(_("The message is no longer in the store."))
            return
        subject, sender = detail.subject, detail.from_addr
        title = mail_title(subject, sender)

        def chosen(choice: NewRequestChoice | None) -> None:
            if choice is not None:
                self.create_request(message_id, subject, sender, choice)

        picker = NewRequestPicker(title, sender, service.categories)
        self.app.call_from_thread(self.app.push_screen, picker, chosen)

    @work(thread=True, group="mail-request-write", exit_on_error=False)
    def create_request(self, message_id: int, subject: str, sender: str, choice: NewRequestChoice) -> None:
        from coordinator_tui.requests.rules import RuleError
        from store.errors import StoreError

        try:
            row = self._requests().create_from_mail(
                message_id, subject=subject, sender=sender, category=choice.category, priority=choice.priority
            )
        except (RuleError, StoreError) as error:
            self._tell(_("The request was not created: {error}").format(error=error), severity="error")
            return
        self._tell(_("{reference} created").format(reference=row.reference))

    def action_link_request(self) -> None:
        message_id = self._reply_target()
        if message_id is None:
            self.notify(_("No message here."), markup=False)
            return
        self.ask_link_target(message_id)

    @work(thread=True, exclusive=True, group="mail-request", exit_on_error=False)
    def ask_link_target(self, message_id: int) -> None:
        from coordinator_tui.screens.requestpickers import LinkRequestPicker

        service = self._requests()

        def chosen(row: ListRow | None) -> None:
            if row is not None:
                self.link_request(message_id, row.id, row.reference)

        self.app.call_from_thread(self.app.push_screen, LinkRequestPicker(service), chosen)

    @work(thread=True, group="mail-request-write", exit_on_error=False)
    def link_request(self, message_id: int, request_id: int, reference: str) -> None:
        from store.errors import StoreError

        try:
            linked = self._requests().link_mail(request_id, message_id)
        except StoreError as error:
            self._tell(_("The message was not linked: {error}").format(error=error), severity="error")
            return
        if linked:
            self._tell(_("Linked to {reference}").format(reference=reference))
        else:
            self._tell(_("The message is already linked to {reference}.").format(reference=reference))

    # --- sync ---------------------------------------------------------------------------------

    def action_sync_now(self) -> None:
        self.coordinator.action_sync_mail()
        self.reload(keep_reader=True)

    def action_refresh(self) -> None:
        self.reload(keep_reader=True)
