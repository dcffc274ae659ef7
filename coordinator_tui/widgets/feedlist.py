"""The feed items list: a line-API ScrollView that reads only the rows it paints (as MailList does), so
10,000 items cost no more than a screenful; and the reader pane of one item.

Every title, feed name and text here came from someone else's server: nothing is markup.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Protocol

from rich.segment import Segment
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from coordinator_tui.i18n import N_, _
from coordinator_tui.textclean import clean_line
from coordinator_tui.timefmt import fi_datetime, short_datetime
from coordinator_tui.widgets.maillist import fit
from coordinator_tui.widgets.safe import plain, plain_block
from store.feedview import ItemDetail, ItemFilter, ItemRow, items_at, items_by_ids

if TYPE_CHECKING:
    from store.engine import Store

BLOCK_ROWS = 100
KEPT_BLOCKS = 6

MARK_WIDTH = 2
FLAGS_WIDTH = 4
DATE_WIDTH = 11
FEED_WIDTH = 18


class ItemSource(Protocol):
    @property
    def count(self) -> int: ...

    def fetch(self, offset: int, limit: int) -> list[ItemRow]: ...


@dataclass(frozen=True)
class FilterSource:
    store: Store
    filter: ItemFilter
    count: int

    def fetch(self, offset: int, limit: int) -> list[ItemRow]:
        return items_at(self.store, self.filter, offset, limit)


@dataclass(frozen=True)
class ItemIdsSource:
    """Search hits, in the order shown."""

    store: Store
    ids: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.ids)

    def fetch(self, offset: int, limit: int) -> list[ItemRow]:
        return items_by_ids(self.store, self.ids[offset : offset + limit])


class NoItems:
    count = 0

    def fetch(self, offset: int, limit: int) -> list[ItemRow]:
        return []


def item_flags(row: ItemRow) -> str:
    """N unread, * starred, F forwarded (passed on already)."""
    return ("N" if not row.read else " ") + ("*" if row.starred else " ") + ("F" if row.forwarded else " ")


class FeedList(ScrollView, can_focus=True):
    """Items newest first; the cursor row is highlighted, selected rows carry a star in the margin."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("up", "cursor_up", N_("Up"), id="feedlist.up", show=False),
        Binding("down", "cursor_down", N_("Down"), id="feedlist.down", show=False),
        Binding("pageup", "page_up", N_("Page up"), id="feedlist.page_up", show=False),
        Binding("pagedown", "page_down", N_("Page down"), id="feedlist.page_down", show=False),
        Binding("home", "first", N_("First"), id="feedlist.first", show=False),
        Binding("end", "last", N_("Last"), id="feedlist.last", show=False),
        Binding("enter", "open", N_("Open the item"), id="feedlist.open", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "feedlist--cursor",
        "feedlist--unread",
        "feedlist--marked",
        "feedlist--flag",
        "feedlist--dim",
    }
    # Styles in app.tcss (see MailList: a DEFAULT_CSS re-parses every stylesheet on the first open).

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    @dataclass
    class Highlighted(Message):
        feed_list: FeedList
        row: ItemRow | None

    @dataclass
    class Opened(Message):
        feed_list: FeedList
        row: ItemRow

    def __init__(self, *, now: Callable[[], datetime], id: str | None = None) -> None:
        super().__init__(id=id)
        self._now = now
        self.source: ItemSource = NoItems()
        self._blocks: OrderedDict[int, list[ItemRow]] = OrderedDict()
        self.marked: list[int] = []  # selected item ids, in the order selected
        self.painted_cursor: int | None = None  # for bench/feeds_screen: the cursor row last painted

    @property
    def count(self) -> int:
        return self.source.count

    def held_rows(self) -> int:
        return sum(len(block) for block in self._blocks.values())

    def set_source(self, source: ItemSource, cursor: int = 0) -> None:
        self.source = source
        self._blocks.clear()
        self.virtual_size = Size(1, source.count)
        self.set_reactive(FeedList.cursor, self._clamp(cursor))
        self._scroll_to_cursor(center=True)
        self.refresh()
        self.post_message(self.Highlighted(self, self.current_row()))

    def invalidate(self) -> None:
        self._blocks.clear()
        self.refresh()

    def row_at(self, index: int) -> ItemRow | None:
        if not 0 <= index < self.source.count:
            return None
        block_number, within = divmod(index, BLOCK_ROWS)
        block = self._blocks.get(block_number)
        if block is None:
            block = self.source.fetch(block_number * BLOCK_ROWS, BLOCK_ROWS)
            self._blocks[block_number] = block
            while len(self._blocks) > KEPT_BLOCKS:
                self._blocks.popitem(last=False)
        else:
            self._blocks.move_to_end(block_number)
        return block[within] if within < len(block) else None

    def current_row(self) -> ItemRow | None:
        return self.row_at(self.cursor)

    def toggle_mark(self) -> ItemRow | None:
        row = self.current_row()
        if row is not None:
            if row.id in self.marked:
                self.marked.remove(row.id)
            else:
                self.marked.append(row.id)
            self.refresh()
        return row

    def clear_marks(self) -> None:
        self.marked.clear()
        self.refresh()

    # --- moving -------------------------------------------------------------------------------

    def _clamp(self, index: int) -> int:
        return max(0, min(index, self.source.count - 1)) if self.source.count else 0

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def move_to(self, index: int) -> None:
        self.cursor = self._clamp(index)

    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self, self.current_row()))

    def _scroll_to_cursor(self, *, center: bool = False) -> None:
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        top = int(self.scroll_y)
        if center and not top <= self.cursor < top + height:
            self.scroll_to(y=max(0, self.cursor - height // 2), animate=False, immediate=True)
        elif self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_page_down(self) -> None:
        self.move_to(self.cursor + self._page())

    def action_page_up(self) -> None:
        self.move_to(self.cursor - self._page())

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(self.source.count - 1)

    def action_open(self) -> None:
        row = self.current_row()
        if row is not None:
            self.post_message(self.Opened(self, row))

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_y) + event.y
        if 0 <= index < self.source.count:
            self.move_to(index)
            if event.chain >= 2:
                self.action_open()

    def on_resize(self) -> None:
        self._scroll_to_cursor()

    # --- painting -----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_y) + y
        base = self.rich_style
        row = self.row_at(index)
        if row is None:
            return Strip.blank(width, base)
        is_cursor = index == self.cursor
        style = base
        if not row.read:
            style += self.get_component_rich_style("feedlist--unread")
        if is_cursor:
            style += self.get_component_rich_style("feedlist--cursor")
            self.painted_cursor = index
        dim = style if is_cursor else style + self.get_component_rich_style("feedlist--dim")
        marked = row.id in self.marked
        mark_style = style + self.get_component_rich_style("feedlist--marked") if marked else style
        flag_style = (
            style + self.get_component_rich_style("feedlist--flag") if row.starred or row.forwarded else style
        )
        title_width = max(0, width - MARK_WIDTH - FLAGS_WIDTH - DATE_WIDTH - FEED_WIDTH)
        title = clean_line(row.title, limit=300) or "—"
        segments = [
            Segment("* " if marked else "  ", mark_style),
            Segment(fit(item_flags(row), FLAGS_WIDTH).ljust(FLAGS_WIDTH), flag_style),
            Segment(pad(fit(short_datetime(row.published_at, self._now()), DATE_WIDTH - 1), DATE_WIDTH), dim),
            Segment(pad(fit(clean_line(row.feed_name, limit=80), FEED_WIDTH - 1), FEED_WIDTH), dim),
            Segment(pad(fit(title, title_width - 1), title_width), style),
        ]
        return Strip(segments).crop_extend(0, width, base)


def pad(text: str, width: int) -> str:
    from rich.cells import set_cell_size

    return set_cell_size(text, width)


# --- the reader -------------------------------------------------------------------------------------


def reader_hint() -> Content:
    return Content.assemble(
        _("Enter opens the highlighted item here; space pages through it, then goes to the next unread."),
        "\n\n",
        (
            _(
                "N read/unread · s star · o open in the browser · F forward · x select · D digest of the "
                "selected · C new request · A mark the feed read · / search · a add a feed · ? every key"
            ),
            "$text-muted",
        ),
    )


FORWARD_STATES = {
    "queued": N_("waiting in the outbox"),
    "sending": N_("being sent"),
    "sent": N_("sent"),
    "failed": N_("not sent (see the outbox)"),
    "unknown": N_("unknown (see the outbox)"),
    "demo": N_("demo, not sent"),
}


class FeedReader(ScrollableContainer, can_focus=True):
    """One item: title, feed and date, the link, what was passed on, and its text."""

    BINDINGS: ClassVar[list[Binding]] = []

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.detail: ItemDetail | None = None

    def compose(self) -> ComposeResult:
        yield Static(reader_hint(), id="feed-reader-head")
        yield Static(Content(""), id="feed-reader-text")

    def clear(self) -> None:
        self.detail = None
        self.query_one("#feed-reader-head", Static).update(reader_hint())
        self.query_one("#feed-reader-text", Static).update(Content(""))

    def show(self, detail: ItemDetail) -> None:
        same = self.detail is not None and self.detail.row.id == detail.row.id
        self.detail = detail
        row = detail.row
        parts: list[Content | str | tuple[str, str]] = [
            (clean_line(row.title, limit=500) or "—", "bold"),
            "\n",
            (f"{clean_line(row.feed_name, limit=120)} · {fi_datetime(row.published_at)}", "$text-muted"),
        ]
        if row.starred:
            parts += ["  ", ("* " + _("starred"), "$warning")]
        if row.link:
            parts += ["\n", (_("Link: "), "$text-muted"), plain(row.link, limit=1000)]
        if row.mail_message_id is not None:
            parts += ["\n", (_("Arrived as mail: the message is in the Mail screen."), "$text-muted")]
        for forward in detail.forwards:
            where = forward.list_name or _("addresses typed by hand")
            state = _(FORWARD_STATES.get(forward.state, forward.state)) if forward.state else ""
            text = _("Passed on {when} to {where}").format(when=fi_datetime(forward.sent_at), where=where)
            if forward.subject:
                text += f": {forward.subject}"
            if state:
                text += f" ({state})"
            parts += ["\n", ("F ", "bold $warning"), plain(text, limit=400)]
        self.query_one("#feed-reader-head", Static).update(Content.assemble(*parts))
        text = (
            detail.content_text.strip() or row.summary.strip() or _("The item has no text; the link has it.")
        )
        self.query_one("#feed-reader-text", Static).update(plain_block(text))
        if not same:
            self.scroll_home(animate=False)

    def action_cursor_down(self) -> None:
        self.scroll_down(animate=False)

    def action_cursor_up(self) -> None:
        self.scroll_up(animate=False)

    def at_end(self) -> bool:
        return self.scroll_y >= self.max_scroll_y
