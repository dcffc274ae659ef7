"""The request list: a line-API ScrollView over a saved view, read by keyset windows of the store.

Like the message list (widgets/maillist.py) it holds only a few blocks of rows around what is
painted. The store pages by keyset (the cursor of the row before), not by offset, so the list
remembers where each block it has read starts; a jump far down walks the blocks once.
"""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input

from coordinator_tui.i18n import N_, _
from coordinator_tui.requests import rules
from coordinator_tui.textclean import clean_line
from coordinator_tui.timefmt import duration, short_datetime
from coordinator_tui.widgets.maillist import fit

if TYPE_CHECKING:
    from coordinator_tui.requests.service import RequestService
    from store.requests import ListRow, SortName, ViewName

BLOCK_ROWS = 100
_NOTHING_YET = object()  # no row announced yet: the first one always is
KEPT_BLOCKS = 6
# Within this many calendar days of the due time the list counts office time (as the rules do);
# further out, calendar days say enough and cost nothing (office time walks the days one by one).
OFFICE_TIME_WITHIN = timedelta(days=7)
# Less office time left than this shows as "due soon".
SOON = timedelta(hours=4)

MARK_WIDTH = 2
REFERENCE_WIDTH = 14
PRIORITY_WIDTH = 3
STATUS_WIDTH = 14
WHO_WIDTH = 22
DUE_WIDTH = 14
UPDATED_WIDTH = 7


PENDING = "…"  # a due cell waiting for the holiday calendar
CALENDAR_DELAY_S = 0.1
REUSE_PAINTED_S = 30.0  # painted rows are reused by the next read of the same list for this long

# The calendars (by id) whose holidays are loaded. Loading them the first time (the holidays
# library and its Finnish calendar) takes 0.3–0.9 s: in render_line it held up the first paint.
_READY_CALENDARS: set[int] = set()


def calendar_ready(service: RequestService) -> bool:
    return id(service.calendar) in _READY_CALENDARS


def load_calendar(service: RequestService, now: datetime) -> None:
    """Load the holidays the due cells need (this year's and the next week's). Worker only.

    A calendar that fails to load counts as loaded all the same: the cells then compute (and
    fail) as they did before, rather than waiting for ever.
    """
    try:
        today = now.astimezone(service.calendar.zone).date()
        service.calendar.is_holiday(today)
        service.calendar.is_holiday(today + OFFICE_TIME_WITHIN + timedelta(days=1))
    finally:
        _READY_CALENDARS.add(id(service.calendar))


@dataclass(frozen=True)
class DueCell:
    text: str
    kind: str  # "" · "soon" · "overdue" · "paused"


def due_cell(service: RequestService, row: ListRow, now: datetime, *, office: bool = True) -> DueCell:
    """Time left (or overdue) for a list row, in office time near the due time.

    Without ``office`` (the holiday calendar is not loaded yet) a row near its due time shows
    ``…`` until it is: the list is painted first, the calendar read in a worker after.
    """
    if row.due_at is None or not rules.is_open(row.status):
        return DueCell("", "")
    if row.status == rules.WAITING_REQUESTER:
        return DueCell(_("paused"), "paused")
    delta = row.due_at - now
    if abs(delta) <= OFFICE_TIME_WITHIN and not office:
        return DueCell(PENDING, "")
    if abs(delta) <= OFFICE_TIME_WITHIN:
        left = service.calendar.state(row.due_at, now).left
        text = duration(abs(left))
    else:
        left = delta
        text = _("{days} d").format(days=abs(delta).days)
    if left < timedelta(0):
        return DueCell(f"−{text}", "overdue")  # a minus sign, in red: short enough for the column
    return DueCell(text, "soon" if left < SOON else "")


class ViewSource:
    """The rows of one saved view (with a filter and a sort), read block by block by keyset."""

    def __init__(
        self,
        service: RequestService,
        view: ViewName,
        count: int,
        *,
        match: str = "",
        sort: SortName = "due",
    ) -> None:
        self.service = service
        self.view = view
        self.count = count
        self.match = match
        self.sort = sort
        self._starts: dict[int, tuple[Any, ...] | None] = {0: None}  # block → cursor before it
        self._first: list[ListRow] | None = None  # block 0, read by the worker before the first paint
        self.prefetched = 0

    def prefetch(self) -> bool:
        """Read the first block now (in the worker that made the source); True if more rows follow."""
        window = self.service.window(self.view, sort=self.sort, limit=BLOCK_ROWS, match=self.match)
        self._first = window.rows
        self.prefetched = len(window.rows)
        if window.rows:
            self._starts[1] = window.after
        return window.more

    def fetch_block(self, number: int) -> list[ListRow]:
        if number == 0 and self._first is not None:
            rows, self._first = self._first, None
            return rows
        known = max(block for block in self._starts if block <= number)
        rows: list[ListRow] = []
        for block in range(known, number + 1):
            window = self.service.window(
                self.view, sort=self.sort, after=self._starts[block], limit=BLOCK_ROWS, match=self.match
            )
            rows = window.rows
            if not rows:
                return []
            self._starts[block + 1] = window.after
        return rows


class FilterInput(Input):
    """The filter field of a list: one fixed line, so a key typed into it never lays out the screen.

    Textual's Input sets its virtual size (the text's width) on every change, and that reactive
    asks for a layout of the whole screen: ~25 % of the main thread's work per filter key on the
    Requests screen. Here the new size is set first without one (the field's own size cannot
    change: height 3, the width of its column), so Input's own assignment finds it unchanged.
    """

    def _watch_value(self, value: str) -> None:
        self.set_reactive(Widget.virtual_size, Size(self.content_width, 1))
        super()._watch_value(value)


class EmptyRequests:
    count = 0
    view = "open"

    def fetch_block(self, number: int) -> list[ListRow]:
        return []


class RequestList(ScrollView, can_focus=True):
    """The requests of a view; the cursor row highlighted, selected rows marked with a star."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("up", "cursor_up", N_("Up"), id="requestlist.up", show=False),
        Binding("down", "cursor_down", N_("Down"), id="requestlist.down", show=False),
        Binding("pageup", "page_up", N_("Page up"), id="requestlist.page_up", show=False),
        Binding("pagedown", "page_down", N_("Page down"), id="requestlist.page_down", show=False),
        Binding("home", "first", N_("First"), id="requestlist.first", show=False),
        Binding("end", "last", N_("Last"), id="requestlist.last", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "requestlist--cursor",
        "requestlist--marked",
        "requestlist--dim",
        "requestlist--overdue",
        "requestlist--soon",
        "requestlist--p1",
        "requestlist--new",
    }

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    @dataclass
    class Highlighted(Message):
        request_list: RequestList
        row: ListRow | None

    def __init__(self, *, now: Callable[[], datetime], id: str | None = None) -> None:
        super().__init__(id=id)
        self._now = now
        self.source: ViewSource | EmptyRequests = EmptyRequests()
        self._blocks: OrderedDict[int, list[ListRow]] = OrderedDict()
        self._due: dict[tuple[int, int], DueCell] = {}  # by (request id, version)
        self._painted_since = 0.0  # monotonic time the painted rows' cache was started
        # Painted rows by what they show: a cursor move repaints every line, but only two change.
        self._strips: dict[tuple[Any, ...], Strip] = {}
        self._base: Style | None = None
        self.marked: dict[int, int] = {}  # request id → the version the user saw when selecting
        self.painted_cursor: int | None = None  # for bench/requests_screen: the cursor row last painted
        self.painted_version: int | None = None  # ... and the version of the row painted there
        self._highlighted: object = _NOTHING_YET  # (id, version) of the row last announced
        self._calendar_loading = False

    # --- the data -----------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return self.source.count

    def held_rows(self) -> int:
        return sum(len(block) for block in self._blocks.values())

    def set_source(self, source: ViewSource | EmptyRequests, cursor: int = 0) -> None:
        old = self.source
        self.source = source
        if (
            isinstance(source, ViewSource)
            and not calendar_ready(source.service)
            and not self._calendar_loading
        ):
            # The holidays, read a moment after the rows are painted (or, for a screen built in the
            # background, while the user is still elsewhere): the rows near their due time wait.
            self._calendar_loading = True
            self.set_timer(CALENDAR_DELAY_S, partial(self.load_calendar, source.service))
        self._blocks.clear()
        # The rows painted for the last source serve this one where the same request (at the same
        # version) comes again: a filter key mostly keeps the rows at the top. Only for a while,
        # for the time left and the "updated" column follow the clock.
        same_list = (
            isinstance(old, ViewSource)
            and isinstance(source, ViewSource)
            and (old.view, old.sort) == (source.view, source.sort)
        )
        if not same_list or time.monotonic() - self._painted_since > REUSE_PAINTED_S:
            self._due.clear()
            self._strips.clear()
            self._painted_since = time.monotonic()
        self.virtual_size = Size(1, source.count)
        self.set_reactive(RequestList.cursor, self._clamp(cursor))
        self._scroll_to_cursor(center=True)
        self.refresh()
        # A list read again (a filter key, a count) often has the same request at the cursor:
        # announcing it would read and paint its details again for nothing.
        self._announce(self.current_row(), only_if_changed=True)

    def set_count(self, count: int) -> None:
        """The source's exact length, known after its first rows were shown."""
        self.source.count = count
        self.virtual_size = Size(1, count)
        self.refresh()

    def row_at(self, index: int) -> ListRow | None:
        if not 0 <= index < self.source.count:
            return None
        number, within = divmod(index, BLOCK_ROWS)
        block = self._blocks.get(number)
        if block is None:
            block = self.source.fetch_block(number)
            self._blocks[number] = block
            while len(self._blocks) > KEPT_BLOCKS:
                self._blocks.popitem(last=False)
        else:
            self._blocks.move_to_end(number)
        return block[within] if within < len(block) else None

    def current_row(self) -> ListRow | None:
        return self.row_at(self.cursor)

    def show_change(self, **fields: Any) -> None:
        """Paint the cursor row with ``fields`` changed at once, before the store has it.

        A triage key repaints in a frame this way; the worker's write and the list read after it
        (the row may move: a new priority moves its due time) follow a moment later and replace
        the row with what the store holds, also when the write was refused.
        """
        number, within = divmod(self.cursor, BLOCK_ROWS)
        block = self._blocks.get(number)
        if block is None or within >= len(block):
            return
        block = list(block)  # the source may share its block with a cache of its own
        block[within] = dataclasses.replace(block[within], **fields)
        self._blocks[number] = block
        self.refresh_line(self.cursor)  # virtual y: ScrollView subtracts the scroll offset

    def toggle_mark(self) -> ListRow | None:
        row = self.current_row()
        if row is not None:
            if row.id in self.marked:
                del self.marked[row.id]
            else:
                self.marked[row.id] = row.version
            self.refresh()
        return row

    def clear_marks(self) -> None:
        self.marked.clear()
        self.refresh()

    # --- moving -------------------------------------------------------------------------------

    def _clamp(self, index: int) -> int:
        return max(0, min(index, self.source.count - 1)) if self.source.count else 0

    def move_to(self, index: int) -> None:
        self.cursor = self._clamp(index)

    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        self._announce(self.current_row())

    def _announce(self, row: ListRow | None, *, only_if_changed: bool = False) -> None:
        key = None if row is None else (row.id, row.version)
        if only_if_changed and key == self._highlighted:
            return
        self._highlighted = key
        self.post_message(self.Highlighted(self, row))

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

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

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

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_y) + event.y
        if 0 <= index < self.source.count:
            self.move_to(index)

    def on_resize(self) -> None:
        self._scroll_to_cursor()

    def notify_style_update(self) -> None:
        # A theme or focus change restyles the rows: paint them again.
        self._strips.clear()
        self._base = None
        super().notify_style_update()

    # --- painting -----------------------------------------------------------------------------

    def _due_of(self, row: ListRow) -> DueCell:
        cell = self._due.get((row.id, row.version))
        if cell is None and isinstance(self.source, ViewSource):
            service = self.source.service
            ready = calendar_ready(service)
            cell = due_cell(service, row, self._now(), office=ready)
            if ready:
                self._due[(row.id, row.version)] = cell
            elif cell.text == PENDING and not self._calendar_loading:
                self._calendar_loading = True
                self.load_calendar(service)
        return cell or DueCell("", "")

    @work(thread=True, exclusive=True, group="requestlist-calendar", exit_on_error=False)
    def load_calendar(self, service: RequestService) -> None:
        try:
            load_calendar(service, self._now())
        finally:
            self.app.call_from_thread(self._calendar_loaded)

    def _calendar_loaded(self) -> None:
        self._calendar_loading = False
        self._strips.clear()  # the rows painted with "…" are painted again with their times
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_y) + y
        if self._base is None:
            self._base = self.rich_style  # walks the ancestors' backgrounds: once, not per line
        base = self._base
        row = self.row_at(index)
        if row is None:
            return Strip.blank(width, base)
        is_cursor = index == self.cursor
        if is_cursor:
            self.painted_cursor = index
            self.painted_version = row.version
        marked = row.id in self.marked
        # updated_at too: a note or incoming mail touches it without a new version.
        key = (row.id, row.version, row.updated_at, is_cursor, marked, width, self.has_focus)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._render_row(row, is_cursor, marked, width, base)
            if len(self._strips) > 4 * BLOCK_ROWS:
                self._strips.clear()
            self._strips[key] = strip
        return strip

    def _render_row(self, row: ListRow, is_cursor: bool, marked: bool, width: int, base: Style) -> Strip:
        style = base
        if row.status == rules.NEW:
            style += self.get_component_rich_style("requestlist--new")
        if is_cursor:
            style += self.get_component_rich_style("requestlist--cursor")
        dim = style if is_cursor else style + self.get_component_rich_style("requestlist--dim")
        mark_style = style + self.get_component_rich_style("requestlist--marked") if marked else style
        priority = f"P{row.priority}" if row.priority is not None else "–"
        priority_style = (
            style + self.get_component_rich_style("requestlist--p1") if row.priority == 1 else style
        )
        due = self._due_of(row)
        due_style: Style = dim
        if due.kind == "overdue":
            due_style = style + self.get_component_rich_style("requestlist--overdue")
        elif due.kind == "soon":
            due_style = style + self.get_component_rich_style("requestlist--soon")
        who = clean_line(row.requester, limit=80)
        if row.unit:
            who = f"{who} / {clean_line(row.unit, limit=80)}" if who else clean_line(row.unit, limit=80)
        title = clean_line(row.title, limit=300) or "—"
        title_width = max(
            0,
            width
            - MARK_WIDTH
            - REFERENCE_WIDTH
            - PRIORITY_WIDTH
            - STATUS_WIDTH
            - WHO_WIDTH
            - DUE_WIDTH
            - UPDATED_WIDTH,
        )
        segments = [
            Segment("* " if marked else "  ", mark_style),
            Segment(cell(row.reference, REFERENCE_WIDTH), dim),
            Segment(cell(priority, PRIORITY_WIDTH), priority_style),
            Segment(cell(rules.status_label(row.status), STATUS_WIDTH), style),
            Segment(cell(title, title_width), style),
            Segment(cell(who, WHO_WIDTH), dim),
            Segment(cell(due.text, DUE_WIDTH), due_style),
            Segment(cell(short_datetime(row.updated_at, self._now()), UPDATED_WIDTH), dim),
        ]
        return Strip(segments).crop_extend(0, width, base)


def cell(text: str, width: int) -> str:
    """``text`` fitted into a column of ``width`` cells with one cell of space after it."""
    from rich.cells import set_cell_size

    return set_cell_size(fit(text, width - 1), width) if width > 0 else ""
