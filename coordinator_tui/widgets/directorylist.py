"""A list of a few thousand rows held in memory and painted through the line API.

The Network screen's people, units and lists, and the import preview's rows: the rows are plain,
already cleaned strings built in a worker, so painting a line is cutting strings to the columns.
Only what is on screen is painted; 5,000 rows cost nothing until they are scrolled to.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from coordinator_tui.i18n import N_
from coordinator_tui.widgets.maillist import fit


@dataclass(frozen=True)
class Row:
    """One row: ``key`` names what it shows (a person's id, ...); ``cells`` are clean text."""

    key: int
    cells: tuple[str, ...]
    dim: bool = False  # a person who left, an unchanged import row
    alert: bool = False  # a rejected import row
    search: str = ""  # folded text that the search matches


class DirectoryList(ScrollView, can_focus=True):
    """Rows in columns; one column (``flex``) takes the width the others leave."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("up", "cursor_up", N_("Up"), id="directorylist.up", show=False),
        Binding("down", "cursor_down", N_("Down"), id="directorylist.down", show=False),
        Binding("pageup", "page_up", N_("Page up"), id="directorylist.page_up", show=False),
        Binding("pagedown", "page_down", N_("Page down"), id="directorylist.page_down", show=False),
        Binding("home", "first", N_("First"), id="directorylist.first", show=False),
        Binding("end", "last", N_("Last"), id="directorylist.last", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "directorylist--cursor",
        "directorylist--dim",
        "directorylist--alert",
        "directorylist--header",
    }
    # Styled in app.tcss: a DEFAULT_CSS here would make Textual parse the whole stylesheet
    # again when the first list is mounted (a second on this machine).

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    @dataclass
    class Highlighted(Message):
        directory_list: DirectoryList
        row: Row | None
        # False when new rows were set (the screen chose the row itself); True when the cursor moved.
        # A screen that loads on highlight must not act on a stale set_rows message: it could arrive
        # after the screen has chosen another row (a checklist just started) and undo that choice.
        moved: bool = True

        @property
        def control(self) -> DirectoryList:
            return self.directory_list

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: Sequence[Row] = ()
        self.header: tuple[str, ...] = ()
        self.widths: tuple[int, ...] = ()  # 0 = the flexible column
        self._base: Style | None = None
        self.painted_rows = 0  # rows painted so far (bench/network_screen.py waits for the first)
        # Set at the first paint (with rows or without): a worker may wait for it before it takes
        # the GIL for long (screens/network.py reads the whole directory after the first window).
        self.painted = threading.Event()

    # --- the data -----------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return len(self.rows)

    def set_rows(
        self,
        rows: Sequence[Row],
        header: tuple[str, ...],
        widths: tuple[int, ...],
        *,
        keep_key: int | None = None,
    ) -> None:
        """Show ``rows``; the cursor stays on the row with ``keep_key`` if it is still there."""
        self.rows = rows
        self.header = header
        self.widths = widths
        index = 0
        if keep_key is not None:
            index = next(
                (i for i, row in enumerate(rows) if row.key == keep_key), min(self.cursor, len(rows) - 1)
            )
        self.virtual_size = Size(1, len(rows) + 1)
        self.set_reactive(DirectoryList.cursor, self._clamp(index))
        self._scroll_to_cursor(center=True)
        self.refresh()
        self.post_message(self.Highlighted(self, self.current_row(), moved=False))

    def current_row(self) -> Row | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    # --- moving -------------------------------------------------------------------------------

    def _clamp(self, index: int) -> int:
        return max(0, min(index, len(self.rows) - 1)) if self.rows else 0

    def move_to(self, index: int) -> None:
        self.cursor = self._clamp(index)

    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Highlighted(self, self.current_row()))

    def _scroll_to_cursor(self, *, center: bool = False) -> None:
        height = self.scrollable_content_region.height - 1  # the header line stays
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
        return max(1, self.scrollable_content_region.height - 2)

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
        self.move_to(len(self.rows) - 1)

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_y) + event.y - 1
        if event.y >= 1 and 0 <= index < len(self.rows):
            self.move_to(index)

    def on_resize(self) -> None:
        self._scroll_to_cursor()

    def notify_style_update(self) -> None:
        self._base = None
        super().notify_style_update()

    # --- painting -----------------------------------------------------------------------------

    def _column_widths(self, width: int) -> list[int]:
        fixed = sum(self.widths)
        return [w if w else max(8, width - fixed) for w in self.widths]

    def _line(self, cells: Sequence[str], widths: list[int], style: Style, width: int, base: Style) -> Strip:
        segments = [
            Segment(set_cell_size(fit(text, max(0, w - 1)), w) if w > 0 else "", style)
            for text, w in zip(cells, widths, strict=False)
        ]
        return Strip([Segment(" ", style), *segments]).crop_extend(0, width, base)

    def render_line(self, y: int) -> Strip:
        if not self.painted.is_set():
            self.painted.set()
        width = self.scrollable_content_region.width
        if self._base is None:
            self._base = self.rich_style
        base = self._base
        widths = self._column_widths(width - 1)
        if y == 0:
            return self._line(
                self.header,
                widths,
                base + self.get_component_rich_style("directorylist--header"),
                width,
                base,
            )
        index = int(self.scroll_y) + y - 1
        if not 0 <= index < len(self.rows):
            return Strip.blank(width, base)
        row = self.rows[index]
        self.painted_rows += 1
        style = base
        if row.alert:
            style += self.get_component_rich_style("directorylist--alert")
        elif row.dim:
            style += self.get_component_rich_style("directorylist--dim")
        if index == self.cursor:
            style += self.get_component_rich_style("directorylist--cursor")
        return self._line(row.cells, widths, style, width, base)
