"""The message list: a line-API ScrollView that reads only the rows it paints, so 100,000 messages cost
no more than 100 (after Textualize/toolong's LogLines).

The list knows how many rows its source has and asks the source for blocks of rows around what is
painted, keeping a few blocks. A block is one index range read from the local store (about a
millisecond, and a WAL reader never waits for the sync's writer), so it is read in place rather
than in a worker: a worker would paint blank rows first and flicker on every page.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Protocol

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from coordinator_tui.i18n import N_
from coordinator_tui.textclean import clean_line
from coordinator_tui.timefmt import short_datetime
from store.mailview import MessageRow, folder_window, rows_by_ids

if TYPE_CHECKING:
    from store.engine import Store

BLOCK_ROWS = 100  # rows read at once
KEPT_BLOCKS = 6  # blocks kept; the widget never holds more than BLOCK_ROWS * KEPT_BLOCKS rows


class RowSource(Protocol):
    """Where the list's rows come from: a folder, or the hits of a search."""

    @property
    def count(self) -> int: ...

    def fetch(self, offset: int, limit: int) -> list[MessageRow]: ...


@dataclass(frozen=True)
class FolderSource:
    store: Store
    folder_id: int
    count: int

    def fetch(self, offset: int, limit: int) -> list[MessageRow]:
        return folder_window(self.store, self.folder_id, offset, limit)


@dataclass(frozen=True)
class IdsSource:
    """A fixed list of message ids (search hits), in the order shown."""

    store: Store
    ids: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.ids)

    def fetch(self, offset: int, limit: int) -> list[MessageRow]:
        return rows_by_ids(self.store, self.ids[offset : offset + limit])


class EmptySource:
    count = 0

    def fetch(self, offset: int, limit: int) -> list[MessageRow]:
        return []


# Column widths in cells; the subject takes what is left.
MARK_WIDTH = 2
FLAGS_WIDTH = 5
DATE_WIDTH = 11
SENDER_WIDTH = 24
THREAD_WIDTH = 6


def flag_text(row: MessageRow) -> str:
    """N unread, ! flagged, A answered, @ attachments: plain letters that every terminal shows."""
    return "".join(
        (
            "N" if not row.seen else " ",
            "!" if row.flagged else " ",
            "A" if row.answered else " ",
            "@" if row.has_attachments else " ",
        )
    )


def sender_text(row: MessageRow) -> str:
    return clean_line(row.from_name or row.from_addr, limit=80)


class MailList(ScrollView, can_focus=True):
    """Rows of a folder or of search hits; the cursor row is highlighted, marked rows carry a star."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("up", "cursor_up", N_("Up"), id="maillist.up", show=False),
        Binding("down", "cursor_down", N_("Down"), id="maillist.down", show=False),
        Binding("pageup", "page_up", N_("Page up"), id="maillist.page_up", show=False),
        Binding("pagedown", "page_down", N_("Page down"), id="maillist.page_down", show=False),
        Binding("home", "first", N_("First"), id="maillist.first", show=False),
        Binding("end", "last", N_("Last"), id="maillist.last", show=False),
        Binding("enter", "open", N_("Open the message"), id="maillist.open", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "maillist--cursor",
        "maillist--unread",
        "maillist--marked",
        "maillist--flag",
        "maillist--dim",
    }
    # The styles live in app.tcss: a widget's DEFAULT_CSS, met for the first time when the screen
    # opens, makes Textual parse every stylesheet of the app again (a third of the first open).

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    @dataclass
    class Highlighted(Message):
        """The cursor moved to another message."""

        mail_list: MailList
        row: MessageRow | None

    @dataclass
    class Opened(Message):
        """Enter (or a double click) on a message."""

        mail_list: MailList
        row: MessageRow

    def __init__(
        self, *, now: Callable[[], datetime], source: RowSource | None = None, id: str | None = None
    ) -> None:
        """``source``: rows to show from the first paint (else none until :meth:`set_source`)."""
        super().__init__(id=id)
        self._now = now
        self.source: RowSource = source or EmptySource()
        # Set without the watchers: the first layout sizes the scroll region from it.
        self.set_reactive(ScrollView.virtual_size, Size(1, self.source.count))
        self._blocks: OrderedDict[int, list[MessageRow]] = OrderedDict()
        self.marked: set[int] = set()
        self.painted_cursor: int | None = None  # for bench/mail_screen: the cursor row last painted

    # --- the data -----------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return self.source.count

    def held_rows(self) -> int:
        """How many rows the widget holds in memory (a window, never the folder)."""
        return sum(len(block) for block in self._blocks.values())

    def set_source(self, source: RowSource, cursor: int = 0) -> None:
        """Show ``source`` with the cursor on row ``cursor`` (clamped)."""
        self.source = source
        self._blocks.clear()
        self.virtual_size = Size(1, source.count)
        self.set_reactive(MailList.cursor, self._clamp(cursor))
        self._scroll_to_cursor(center=True)
        self.refresh()
        self.post_message(self.Highlighted(self, self.current_row()))

    def invalidate(self) -> None:
        """Forget the rows read so far (their flags changed); they are read again when painted."""
        self._blocks.clear()
        self.refresh()

    def row_at(self, index: int) -> MessageRow | None:
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

    def current_row(self) -> MessageRow | None:
        return self.row_at(self.cursor)

    def toggle_mark(self) -> MessageRow | None:
        row = self.current_row()
        if row is not None:
            self.marked.symmetric_difference_update({row.id})
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
        if not row.seen:
            style += self.get_component_rich_style("maillist--unread")
        if is_cursor:
            style += self.get_component_rich_style("maillist--cursor")
            self.painted_cursor = index
        dim = style + self.get_component_rich_style("maillist--dim") if not is_cursor else style
        mark = "* " if row.id in self.marked else "  "
        mark_style = (
            style + self.get_component_rich_style("maillist--marked") if row.id in self.marked else style
        )
        flags = flag_text(row)
        flag_style = style + self.get_component_rich_style("maillist--flag") if row.flagged else style
        date = short_datetime(row.date, self._now())
        thread = f"({row.thread_size})" if row.thread_size > 1 else ""
        subject_width = max(0, width - MARK_WIDTH - FLAGS_WIDTH - DATE_WIDTH - SENDER_WIDTH - THREAD_WIDTH)
        subject = clean_line(row.subject, limit=300) or "—"
        segments = [
            Segment(mark, mark_style),
            Segment(set_cell_size(flags, FLAGS_WIDTH), flag_style),
            Segment(set_cell_size(fit(date, DATE_WIDTH - 1), DATE_WIDTH), dim),
            Segment(set_cell_size(fit(sender_text(row), SENDER_WIDTH - 1), SENDER_WIDTH), style),
            Segment(set_cell_size(fit(subject, subject_width - 1), subject_width), style),
            Segment(set_cell_size(thread.rjust(THREAD_WIDTH - 1), THREAD_WIDTH), dim),
        ]
        return Strip(segments).crop_extend(0, width, base)


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells with an ellipsis when it does not fit."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1) + "…"
