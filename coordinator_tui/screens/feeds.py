"""Uutiskirjeet: the feeds with their unread counts and health, the items (read a window at a time from
the store), the reader; passing an item or a digest on to a directory list, and what was passed on.

Reads go through store/feedview.py (plain SQL), writes through store/feeds.py, in thread workers;
the refresh is the app's (screens/feedrefresh.py), started here with ctrl+r. Nothing here waits on
the network in the UI thread.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

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
from coordinator_tui.screens.base import AREA_BY_MODE, AreaScreen, translated
from coordinator_tui.screens.feedrefresh import FeedRefresher
from coordinator_tui.textclean import clean_line
from coordinator_tui.timefmt import short_datetime
from coordinator_tui.widgets.feedlist import FeedList, FeedReader, FilterSource, ItemIdsSource
from coordinator_tui.widgets.maillist import fit
from coordinator_tui.widgets.safe import plain
from store.feedview import FeedRow, ItemDetail, ItemFilter

if TYPE_CHECKING:
    from coordinator_tui.feeds.forward import ListChoice
    from coordinator_tui.feeds.probe import Probe
    from coordinator_tui.feeds.refresh import RefreshReport
    from coordinator_tui.mail.compose import Draft
    from coordinator_tui.requests.service import RequestService
    from coordinator_tui.screens.requestpickers import NewRequestChoice

FEEDS_WIDTH = 30  # the feed list's width, less its border and padding
SEARCH_DEBOUNCE_S = 0.12
VIEWS = {  # the list's first rows: views over every feed
    "all": N_("All items"),
    "unread": N_("Unread"),
    "starred": N_("Starred"),
    "forwarded": N_("Passed on"),
}


# --- messages from the workers --------------------------------------------------------------------


@dataclass
class FeedsLoaded(Message):
    feeds: list[FeedRow]
    view: str
    source: FilterSource
    cursor: int


@dataclass
class SearchLoaded(Message):
    text: str
    source: ItemIdsSource


@dataclass
class ItemLoaded(Message):
    detail: ItemDetail
    marked_read: bool


def view_filter(view: str) -> ItemFilter:
    if view.startswith("feed-"):
        return ItemFilter(feed_id=int(view.removeprefix("feed-")))
    return ItemFilter(
        unread_only=view == "unread", starred_only=view == "starred", forwarded_only=view == "forwarded"
    )


def feed_health(feed: FeedRow, now_text: str = "") -> tuple[str, str]:
    """The feed row's second line and its style: the last error, else a warning, else the last success."""
    if feed.is_mail:
        return _("from the mail"), "$text-muted"
    if feed.last_error:
        return "! " + clean_line(feed.last_error, limit=200), "$error"
    if feed.warning:
        return "~ " + clean_line(feed.warning, limit=200), "$warning"
    if feed.last_success_at is not None:
        return _("ok {when}").format(when=now_text), "$text-muted"
    return _("not read yet"), "$text-muted"


# --- adding a feed ----------------------------------------------------------------------------------


@dataclass
class Probed(Message):
    url: str
    probe: Probe


class AddFeedScreen(ModalScreen[tuple[str, str, str] | None]):
    """The address, then enter reads the feed and shows its title; enter again (or ctrl+s) follows it.

    Returns (name, url, title) or None.
    """

    AUTO_FOCUS = "#addfeed-url"

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "cancel", N_("Cancel"), id="addfeed.cancel"),
        Binding("ctrl+s", "save", N_("Follow"), id="addfeed.save", priority=True),
    ]
    DEFAULT_CSS = """
    AddFeedScreen { align: center middle; }
    AddFeedScreen > Vertical {
        width: 90; height: auto; border: round $accent; background: $surface; padding: 1 2;
    }
    AddFeedScreen Input { margin-top: 1; }
    AddFeedScreen #addfeed-result { margin-top: 1; height: auto; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.probe: Probe | None = None
        self.probe_for = ""  # the address the probe read
        self.reading = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(_("Follow a feed")), classes="heading")
            yield Input(placeholder=_("The feed's address: https://…"), id="addfeed-url")
            yield Input(placeholder=_("Its name here (the feed's title when empty)"), id="addfeed-name")
            yield Static(Content(""), id="addfeed-result")
            yield Static(
                Content(_("enter: read the feed · enter again or ctrl+s: follow it · escape: cancel")),
                classes="intro",
            )

    def _result(self, content: Content) -> None:
        self.query_one("#addfeed-result", Static).update(content)

    @on(Input.Changed, "#addfeed-url")
    def url_changed(self) -> None:
        self.probe = None
        self._result(Content(""))

    @on(Input.Submitted)
    def submitted(self) -> None:
        url = self.query_one("#addfeed-url", Input).value.strip()
        if self.probe is not None and self.probe.ok and self.probe_for == url:
            self.action_save()
            return
        if not url or self.reading:
            return
        self.reading = True
        self._result(Content(_("Reading the feed…")))
        self.read_feed(url)

    @work(thread=True, exclusive=True, group="addfeed", exit_on_error=False)
    def read_feed(self, url: str) -> None:
        from coordinator_tui.feeds.probe import probe_feed

        self.post_message(Probed(url, probe_feed(url)))

    @on(Probed)
    def probed(self, message: Probed) -> None:
        self.reading = False
        if message.url != self.query_one("#addfeed-url", Input).value.strip():
            return
        self.probe, self.probe_for = message.probe, message.url
        probe = message.probe
        if not probe.ok:
            self._result(
                Content.assemble((_("Not a feed we can follow: "), "bold $error"), plain(probe.error))
            )
            return
        name = self.query_one("#addfeed-name", Input)
        if not name.value.strip():
            name.value = probe.title
        parts: list[Content | str | tuple[str, str]] = [
            (_("Title: "), "bold"),
            plain(probe.title or "—", limit=200),
            "\n",
            count_text("{n} item now.", "{n} items now.", probe.items),
        ]
        if probe.url != message.url:
            parts += ["\n", _("Moved permanently; followed at: "), plain(probe.url, limit=300)]
        if probe.warning:
            parts += ["\n", (clean_line(probe.warning), "$warning")]
        parts += ["\n", (_("enter again or ctrl+s follows it."), "$text-muted")]
        self._result(Content.assemble(*parts))

    def action_save(self) -> None:
        probe = self.probe
        if probe is None or not probe.ok:
            self.submitted()
            return
        name = clean_line(self.query_one("#addfeed-name", Input).value, limit=200).strip()
        self.dismiss((name or probe.title or probe.url, probe.url, probe.title))

    def action_cancel(self) -> None:
        self.dismiss(None)


# --- the screen ------------------------------------------------------------------------------------


class FeedsScreen(AreaScreen):
    AREA = "feeds"
    STYLES_IN_APP_CSS = True
    AUTO_FOCUS = "#feeds-list"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding(key, action, description, id=binding_id, tooltip=tooltip, show=shown, key_display=display)
        for key, action, description, binding_id, tooltip, shown, display in (
            ("slash", "search", N_("Search"), "feeds.search", N_("Title and text, as you type"), True, None),
            (
                "space",
                "page_or_next",
                N_("Page/next unread"),
                "feeds.space",
                N_("Page through the item; at its end, the next unread item"),
                False,
                None,
            ),
            ("N", "toggle_read", N_("Read/unread"), "feeds.read", N_("Toggle read and unread"), False, None),
            ("s", "star", N_("Star"), "feeds.star", N_("Star or unstar the item"), True, None),
            (
                "o",
                "open_link",
                N_("Open in browser"),
                "feeds.open",
                N_("Open the item's link in the browser (or copy it where there is none)"),
                True,
                None,
            ),
            ("F", "forward", N_("Forward"), "feeds.forward", N_("Pass the item on to a list"), True, None),
            ("x", "select", N_("Select"), "feeds.select", N_("Select the item for a digest"), False, None),
            (
                "D",
                "digest",
                N_("Digest"),
                "feeds.digest",
                N_("One email of the selected items, grouped by feed"),
                True,
                None,
            ),
            (
                "C",
                "create_request",
                N_("New request"),
                "feeds.create_request",
                N_("Make a service request of the item"),
                False,
                None,
            ),
            (
                "A",
                "mark_feed_read",
                N_("Feed read"),
                "feeds.feed_read",
                N_("Mark the feed read"),
                False,
                None,
            ),
            (
                "a",
                "add_feed",
                N_("Add feed"),
                "feeds.add",
                N_("Follow a new feed by its address"),
                False,
                None,
            ),
            (
                "f",
                "toggle_forwarded",
                N_("Passed on"),
                "feeds.forwarded",
                N_("Show only the items passed on (again: all)"),
                False,
                None,
            ),
            (
                "ctrl+r",
                "refresh_feeds",
                N_("Refresh"),
                "feeds.refresh",
                N_("Fetch every feed now"),
                True,
                None,
            ),
        )
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view = "all"
        self.feeds: list[FeedRow] = []
        self.search_text = ""
        self._options_shown: tuple[tuple[FeedRow, ...], str] | None = None
        self._showing_options = False
        self._reader_item_id: int | None = None
        self._request_service: RequestService | None = None

    # --- layout -------------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="feeds-body"):
            yield OptionList(id="feeds-feeds")
            with Vertical(id="feeds-main"):
                yield Static(Content(""), id="feeds-list-title")
                yield FeedList(now=self.coordinator.now, id="feeds-list")
                yield FeedReader(id="feeds-reader")

    @property
    def feed_list(self) -> FeedList:
        return self.query_one("#feeds-list", FeedList)

    @property
    def reader(self) -> FeedReader:
        return self.query_one("#feeds-reader", FeedReader)

    def on_mount(self) -> None:
        FeedRefresher.of(self.coordinator).listen(self._refreshed)

    def on_screen_resume(self) -> None:
        self.sub_title = _(AREA_BY_MODE[self.AREA].title)
        if self.query(FeedList):
            self.reload()

    def _refreshed(self, report: RefreshReport | None, gathered: int) -> None:
        if self.is_attached:
            self.reload(keep_reader=True)

    # --- reading ------------------------------------------------------------------------------

    def reload(self, *, keep_reader: bool = False) -> None:
        if self.coordinator.store is None:
            return
        row = self.feed_list.current_row()
        keep_id = row.id if row is not None else None
        if self.search_text:
            self.run_search(self.search_text, debounce=False)
            self.load(self.view, None, self.feed_list.cursor, list_too=False)
        else:
            self.load(self.view, keep_id, self.feed_list.cursor)
        if keep_reader and self._reader_item_id is not None:
            self.load_item(self._reader_item_id, mark_read=False)

    def action_refresh(self) -> None:
        self.reload(keep_reader=True)

    @work(thread=True, exclusive=True, group="feeds-load", exit_on_error=False)
    def load(self, view: str, keep_id: int | None, keep_index: int, list_too: bool = True) -> None:
        from store.feedview import screen_state

        store = self.coordinator.store
        assert store is not None
        flt = view_filter(view)
        state = screen_state(store, flt, keep_id, list_too=list_too)
        cursor = keep_index if state.position is None else state.position
        self.post_message(
            FeedsLoaded(state.feeds, view, FilterSource(store, flt, state.count), cursor if list_too else -1)
        )

    @on(FeedsLoaded)
    def show_loaded(self, message: FeedsLoaded) -> None:
        self.feeds = message.feeds
        if message.view.startswith("feed-") and all(f"feed-{f.id}" != message.view for f in message.feeds):
            self.view = "all"  # the feed went away
            self.load("all", None, 0)
            return
        if message.cursor >= 0 and not self.search_text and message.view == self.view:
            self.feed_list.set_source(message.source, message.cursor)
        self._show_options()
        self._show_title()
        self.loaded_at = self.coordinator.now()

    def _show_options(self) -> None:
        shown = (tuple(self.feeds), self.view)
        if shown == self._options_shown:
            return
        self._options_shown = shown
        options = self.query_one("#feeds-feeds", OptionList)
        self._showing_options = True
        try:
            options.clear_options()
            unread = sum(feed.unread for feed in self.feeds)
            rows: list[Option] = []
            for view, name in VIEWS.items():
                counts = str(unread) if view == "unread" and unread else ""
                rows.append(
                    Option(self._label(_(name), counts, bold=view == "unread" and unread > 0), id=view)
                )
            now = self.coordinator.now()
            for feed in self.feeds:
                counts = f"{feed.unread}" if feed.unread else ""
                label = self._label(clean_line(feed.name, limit=80), counts, bold=feed.unread > 0)
                when = short_datetime(feed.last_success_at, now) if feed.last_success_at else ""
                health, style = feed_health(feed, when)
                label = Content.assemble(label, "\n", (" " + fit(health, FEEDS_WIDTH - 1), style))
                if feed.last_error and not feed.is_mail:
                    # A failing feed says when it last worked, too.
                    last = _("last ok {when}").format(when=when) if when else _("never read")
                    label = Content.assemble(label, "\n", (" " + fit(last, FEEDS_WIDTH - 1), "$text-muted"))
                rows.append(Option(label, id=f"feed-{feed.id}"))
            options.add_options(rows)
            index = next((i for i, option in enumerate(rows) if option.id == self.view), 0)
            options.highlighted = index
        finally:
            self._showing_options = False

    @staticmethod
    def _label(name: str, counts: str, *, bold: bool) -> Content:
        width = max(1, FEEDS_WIDTH - cell_len(counts) - 1)
        return Content.assemble((f"{fit(name, width):<{width}} ", "bold" if bold else ""), (counts, "dim"))

    def _view_name(self) -> str:
        if self.view in VIEWS:
            return _(VIEWS[self.view])
        feed = next((f for f in self.feeds if f"feed-{f.id}" == self.view), None)
        return clean_line(feed.name, limit=80) if feed is not None else ""

    def _show_title(self) -> None:
        title = self.query_one("#feeds-list-title", Static)
        count = self.feed_list.count
        if self.search_text:
            text = count_text("Search: {n} item", "Search: {n} items", count)
            parts: list[Content | str | tuple[str, str]] = [
                (text, "bold"),
                " · ",
                plain(self.search_text, 80),
            ]
        else:
            if not self.feeds:
                title.update(Content(_("No feeds yet: a adds one, or [[feeds]] in the config.")))
                return
            parts = [(self._view_name(), "bold"), " · ", count_text("{n} item", "{n} items", count)]
            feed = next((f for f in self.feeds if f"feed-{f.id}" == self.view), None)
            if feed is not None and (feed.last_error or feed.warning):
                # The whole reason, which the feed row can only begin.
                text = clean_line(feed.last_error or feed.warning, limit=300)
                parts += [" · ", (text, "$error" if feed.last_error else "$warning")]
        marked = len(self.feed_list.marked)
        if marked:
            parts += [" · ", (count_text("{n} selected", "{n} selected", marked), "bold $warning")]
        refresher = FeedRefresher.of(self.coordinator)
        if refresher.running:
            parts += [" · ", (_("refreshing…"), "$text-muted")]
        title.update(Content.assemble(*parts))

    @on(OptionList.OptionHighlighted, "#feeds-feeds")
    def view_chosen(self, event: OptionList.OptionHighlighted) -> None:
        if self._showing_options or event.option.id is None:
            return
        if event.option.id == self.view and not self.search_text:
            return
        self._end_search()
        self.view = event.option.id
        self._options_shown = None
        self.load(self.view, None, 0)

    @on(OptionList.OptionSelected, "#feeds-feeds")
    def view_entered(self) -> None:
        self.feed_list.focus()

    def action_toggle_forwarded(self) -> None:
        self._end_search()
        self.view = "all" if self.view == "forwarded" else "forwarded"
        self._options_shown = None
        self.load(self.view, None, 0)

    # --- the item -------------------------------------------------------------------------------

    @on(FeedList.Highlighted)
    def row_highlighted(self) -> None:
        self._show_title()

    @on(FeedList.Opened)
    def row_opened(self, event: FeedList.Opened) -> None:
        self.load_item(event.row.id, mark_read=not event.row.read)

    def load_item(self, item_id: int, *, mark_read: bool) -> None:
        self._reader_item_id = item_id
        self._read_item(item_id, mark_read)

    @work(thread=True, exclusive=True, group="feeds-item", exit_on_error=False)
    def _read_item(self, item_id: int, mark_read: bool) -> None:
        from coordinator_tui.feeds.reading import load_item

        store = self.coordinator.store
        assert store is not None
        if mark_read:
            from store.feeds import set_read

            set_read(store, [item_id], True)
        detail = load_item(store, item_id)
        if detail is not None:
            self.post_message(ItemLoaded(detail, mark_read))

    @on(ItemLoaded)
    def show_item(self, message: ItemLoaded) -> None:
        if message.detail.row.id != self._reader_item_id:
            return
        self.reader.show(message.detail)
        if message.marked_read:
            self._changed()

    def _changed(self) -> None:
        """The store changed under the list (read, star, forward): read the window and counts again."""
        self.feed_list.invalidate()
        self.reload()

    def _target(self) -> int | None:
        """The item in the reader when the reader has the focus, else the one under the cursor."""
        focused = self.focused
        detail = self.reader.detail
        if (
            detail is not None
            and focused is not None
            and (focused is self.reader or self.reader in focused.ancestors)
        ):
            return detail.row.id
        row = self.feed_list.current_row()
        return row.id if row is not None else None

    def _no_item(self) -> None:
        self.notify(_("No item here."), markup=False)

    def action_page_or_next(self) -> None:
        """newsboat's space: page through the open item; at its end, on to the next unread one."""
        reader = self.reader
        row = self.feed_list.current_row()
        shown = reader.detail.row.id if reader.detail is not None else None
        reader_focused = self.focused is reader
        if (
            shown is not None
            and (reader_focused or (row is not None and row.id == shown))
            and not reader.at_end()
        ):
            reader.scroll_page_down(animate=False)
            return
        if row is not None and not row.read and row.id != shown:
            self.load_item(row.id, mark_read=True)  # the unread item under the cursor first
            return
        if self.search_text:
            self.feed_list.action_cursor_down()
            row = self.feed_list.current_row()
            if row is not None and row.id != shown:
                self.load_item(row.id, mark_read=not row.read)
            return
        self.next_unread(self.view, self.feed_list.cursor)

    @work(thread=True, exclusive=True, group="feeds-next", exit_on_error=False)
    def next_unread(self, view: str, after: int) -> None:
        from store.feedview import next_unread_position

        store = self.coordinator.store
        assert store is not None
        position = next_unread_position(store, view_filter(view), after)
        self.app.call_from_thread(self._go_to_unread, view, position)

    def _go_to_unread(self, view: str, position: int | None) -> None:
        if view != self.view:
            return
        if position is None:
            self.notify(_("No more unread items here."), markup=False)
            return
        self.feed_list.move_to(position)
        row = self.feed_list.current_row()
        if row is not None:
            self.load_item(row.id, mark_read=not row.read)

    def action_toggle_read(self) -> None:
        item_id = self._target()
        if item_id is None:
            self._no_item()
            return
        self.change_item("read", [item_id])

    def action_star(self) -> None:
        item_id = self._target()
        if item_id is None:
            self._no_item()
            return
        self.change_item("star", [item_id])

    @work(thread=True, group="feeds-change", exit_on_error=False)
    def change_item(self, what: str, item_ids: Sequence[int]) -> None:
        from store.feeds import toggle_read, toggle_starred

        store = self.coordinator.store
        assert store is not None
        if what == "read":
            state = toggle_read(store, item_ids)
            text = _("Marked read.") if state else _("Marked unread.")
        else:
            state = toggle_starred(store, item_ids)
            text = _("Starred.") if state else _("Star removed.")
        self.app.call_from_thread(self._after_change, text)

    def _after_change(self, text: str) -> None:
        self.notify(text, markup=False, timeout=2)
        self._changed()
        if self._reader_item_id is not None:
            self.load_item(self._reader_item_id, mark_read=False)

    def action_mark_feed_read(self) -> None:
        feed_id: int | None = None
        if self.view.startswith("feed-"):
            feed_id = int(self.view.removeprefix("feed-"))
        else:
            row = self.feed_list.current_row()
            feed_id = row.feed_id if row is not None else None
        if feed_id is None:
            self._no_item()
            return
        feed = next((f for f in self.feeds if f.id == feed_id), None)
        self.mark_feed_read(feed_id, feed.name if feed is not None else "")

    @work(thread=True, group="feeds-change", exit_on_error=False)
    def mark_feed_read(self, feed_id: int, name: str) -> None:
        from store.feeds import mark_feed_read

        store = self.coordinator.store
        assert store is not None
        mark_feed_read(store, feed_id)
        self.app.call_from_thread(
            self._after_change, _("Every item of {feed} marked read.").format(feed=clean_line(name, limit=80))
        )

    # --- the browser --------------------------------------------------------------------------

    def action_open_link(self) -> None:
        item_id = self._target()
        row = self.feed_list.current_row()
        link = ""
        if self.reader.detail is not None and self.reader.detail.row.id == item_id:
            link = self.reader.detail.row.link
        elif row is not None and row.id == item_id:
            link = row.link
        if not link:
            self.notify(_("This item has no link."), markup=False)
            return
        self.open_in_browser(link)

    @work(thread=True, exclusive=True, group="feeds-browser", exit_on_error=False)
    def open_in_browser(self, link: str) -> None:
        from coordinator_tui.feeds.browser import open_link

        if open_link(link):
            self.app.call_from_thread(self.notify, _("Opened in the browser."), markup=False, timeout=2)
            return
        self.app.call_from_thread(self._copy_link, link)

    def _copy_link(self, link: str) -> None:
        self.app.copy_to_clipboard(link)
        self.notify(
            _("No browser on this machine: the link was copied to the clipboard."),
            markup=False,
        )

    # --- search ---------------------------------------------------------------------------------

    def _search_field(self) -> Input | None:
        found = self.query("#feeds-search")
        return found.first(Input) if found else None

    def action_search(self) -> None:
        field = self._search_field()
        if field is None:
            field = Input(id="feeds-search", placeholder=_("Search the items: title and text"))
            self.query_one("#feeds-main", Vertical).mount(field, before="#feeds-list-title")
        field.display = True
        field.focus()

    @on(Input.Changed, "#feeds-search")
    def search_changed(self, event: Input.Changed) -> None:
        text = event.value.strip()
        if not text:
            if self.search_text:
                self.search_text = ""
                self.load(self.view, None, 0)
            return
        self.run_search(text, debounce=True)

    @on(Input.Submitted, "#feeds-search")
    def search_submitted(self) -> None:
        self.feed_list.focus()

    @work(thread=True, exclusive=True, group="feeds-search", exit_on_error=False)
    def run_search(self, text: str, debounce: bool) -> None:
        from store.feedview import search_item_ids

        if debounce:
            time.sleep(SEARCH_DEBOUNCE_S)
            if get_current_worker().is_cancelled:
                return
        store = self.coordinator.store
        assert store is not None
        ids = search_item_ids(store, text, view_filter(self.view))
        if not get_current_worker().is_cancelled:
            self.post_message(SearchLoaded(text, ItemIdsSource(store, tuple(ids))))

    @on(SearchLoaded)
    def show_search(self, message: SearchLoaded) -> None:
        field = self._search_field()
        if field is None or not field.display or message.text != field.value.strip():
            return
        new_search = message.text != self.search_text
        self.search_text = message.text
        self.feed_list.set_source(message.source, 0 if new_search else self.feed_list.cursor)
        self._show_title()
        self.loaded_at = self.coordinator.now()

    def _end_search(self) -> None:
        self.workers.cancel_group(self, "feeds-search")
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
            self.feed_list.focus()
            if was_searching:
                self.load(self.view, None, 0)
            return
        if self.focused is not self.feed_list and self.focused is not None:
            self.feed_list.focus()
            return
        super().action_back()

    # --- refresh and adding feeds ------------------------------------------------------------------

    def action_refresh_feeds(self) -> None:
        if self.coordinator.context.demo:
            self.notify(_("The demo refreshes nothing: its feeds are made up."), markup=False)
            return
        if self.coordinator.store is None:
            return
        if FeedRefresher.of(self.coordinator).refresh(announce=True):
            self.notify(_("Refreshing every feed…"), markup=False, timeout=2)
        else:
            self.notify(_("The feeds are being refreshed already."), markup=False, timeout=2)
        self._show_title()

    def action_add_feed(self) -> None:
        def chosen(result: tuple[str, str, str] | None) -> None:
            if result is not None:
                self.add_feed(*result)

        self.app.push_screen(AddFeedScreen(), chosen)

    @work(thread=True, group="feeds-change", exit_on_error=False)
    def add_feed(self, name: str, url: str, title: str) -> None:
        from store.feeds import add_feed

        store = self.coordinator.store
        assert store is not None
        feed = add_feed(store, name, url, title=title)
        self.app.call_from_thread(self._feed_added, feed)

    def _feed_added(self, feed: FeedRow) -> None:
        self.notify(_("Following {feed}.").format(feed=clean_line(feed.name, limit=80)), markup=False)
        self.view = f"feed-{feed.id}"
        self._options_shown = None
        self.load(self.view, None, 0)
        if not self.coordinator.context.demo:
            FeedRefresher.of(self.coordinator).refresh(announce=True)

    # --- passing on ---------------------------------------------------------------------------

    def action_select(self) -> None:
        if self.feed_list.toggle_mark() is not None:
            self.feed_list.action_cursor_down()
        self._show_title()

    def action_forward(self) -> None:
        item_id = self._target()
        if item_id is None:
            self._no_item()
            return
        self.prepare_forward([item_id], "forward")

    def action_digest(self) -> None:
        if not self.feed_list.marked:
            self.notify(_("Nothing is selected: x selects items for the digest."), markup=False)
            return
        self.prepare_forward(list(self.feed_list.marked), "digest")

    @work(thread=True, exclusive=True, group="feeds-forward", exit_on_error=False)
    def prepare_forward(self, item_ids: Sequence[int], kind: str) -> None:
        from coordinator_tui.feeds import forward
        from coordinator_tui.feeds.reading import load_item
        from coordinator_tui.mail.compose import Draft

        store = self.coordinator.store
        assert store is not None
        config = self.coordinator.config
        details = [detail for detail in (load_item(store, i) for i in item_ids) if detail is not None]
        if not details:
            self.app.call_from_thread(self._no_item)
            return
        settings = config.newsletters
        if kind == "digest":
            order = {feed.id: index for index, feed in enumerate(self.feeds)}
            details.sort(
                key=lambda d: (order.get(d.row.feed_id, len(order)), -d.row.published_at.timestamp())
            )
            subject = forward.digest_subject(self.coordinator.now())
            body = forward.digest_body(details, settings.forward_intro)
        else:
            subject = forward.forward_subject(details[0])
            body = forward.forward_body(details[0], settings.forward_intro)
        choice = forward.resolve_list(store, forward.default_list_name(store, settings.forward_list))
        # To: the address notices go to (the list's own) or our own; the members are in Bcc.
        own = config.notices.to_address or config.smtp.from_address
        if not own and self.coordinator.context.demo:
            from coordinator_tui.demo.data import SHARED_MAILBOX

            own = SHARED_MAILBOX
        draft = Draft(kind="forward", to=own, subject=subject, body=body)
        again = []
        for detail in details:
            for sent in detail.forwards[:1]:
                from coordinator_tui.timefmt import fi_datetime

                again.append(
                    _("{title}: {when}, {where}").format(
                        title=clean_line(detail.row.title, limit=60),
                        when=fi_datetime(sent.sent_at),
                        where=sent.list_name or "—",
                    )
                )
        ids = [detail.row.id for detail in details]
        self.app.call_from_thread(self._open_forward, draft, ids, choice, kind, again)

    def _open_forward(
        self, draft: Draft, item_ids: list[int], choice: ListChoice, kind: str, again: list[str]
    ) -> None:
        from coordinator_tui.screens.feedcompose import FeedForwardScreen, ForwardAgainQuestion

        def closed(_result: object = None) -> None:
            if kind == "digest":
                self.feed_list.clear_marks()
            self._changed()
            if self._reader_item_id is not None:
                self.load_item(self._reader_item_id, mark_read=False)

        def open_compose() -> None:
            screen = FeedForwardScreen(draft, item_ids=item_ids, choice=choice, kind=kind)
            self.app.push_screen(screen, closed)

        if not again:
            open_compose()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                open_compose()

        self.app.push_screen(ForwardAgainQuestion(again), answered)

    # --- requests -------------------------------------------------------------------------------

    def _requests(self) -> RequestService:
        if self._request_service is None:
            from coordinator_tui.requests.service import RequestService

            store = self.coordinator.store
            assert store is not None
            self._request_service = RequestService(
                store, self.coordinator.config.requests, clock=self.coordinator.now
            )
        return self._request_service

    def action_create_request(self) -> None:
        item_id = self._target()
        if item_id is None:
            self._no_item()
            return
        self.ask_new_request(item_id)

    @work(thread=True, exclusive=True, group="feeds-request", exit_on_error=False)
    def ask_new_request(self, item_id: int) -> None:
        from coordinator_tui.feeds.reading import load_item
        from coordinator_tui.screens.requestpickers import NewRequestPicker

        service = self._requests()
        detail = load_item(service.store, item_id)
        if detail is None:
            self.app.call_from_thread(self._no_item)
            return
        title = clean_line(detail.row.title, limit=200) or _("From the newsletters")

        def chosen(choice: NewRequestChoice | None) -> None:
            if choice is not None:
                self.create_request(detail, title, choice)

        picker = NewRequestPicker(title, clean_line(detail.row.feed_name, limit=80), service.categories)
        self.app.call_from_thread(self.app.push_screen, picker, chosen)

    @work(thread=True, group="feeds-request-write", exit_on_error=False)
    def create_request(self, detail: ItemDetail, title: str, choice: NewRequestChoice) -> None:
        from coordinator_tui.feeds.forward import short_summary
        from coordinator_tui.requests.rules import RuleError
        from store.errors import StoreError

        row = detail.row
        description = "\n\n".join(
            part
            for part in (
                _("From the feed {feed}.").format(feed=clean_line(row.feed_name, limit=120)),
                short_summary(detail.content_text or row.summary, 1500),
                row.link,
            )
            if part
        )
        from coordinator_tui.requests.service import REASON_CREATED

        mail = [(row.mail_message_id, REASON_CREATED)] if row.mail_message_id is not None else []
        try:
            created = self._requests().create(
                title, description=description, category=choice.category, priority=choice.priority, mail=mail
            )
        except (RuleError, StoreError) as error:
            self.app.call_from_thread(
                self.notify,
                clean_line(_("The request was not created: {error}").format(error=error), limit=400),
                severity="error",
                markup=False,
            )
            return
        self.app.call_from_thread(
            self.notify, _("{reference} created").format(reference=created.reference), markup=False
        )
