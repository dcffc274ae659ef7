"""The six work areas. Until each area's own issue lands, a screen shows its real figures and newest
rows from the store, read-only, so the demo and the Today counts can be checked against them."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable, Static

from coordinator_tui.i18n import N_, _
from coordinator_tui.messages import AreaLoaded
from coordinator_tui.screens.base import AREA_BY_MODE, AreaScreen
from coordinator_tui.timefmt import short_datetime
from coordinator_tui.widgets.safe import plain_cell
from store.queries import area_overview, parse_sql_time

# Columns whose stored value is a time, shown the Finnish way.
_TIME_COLUMNS = {"Date", "Start"}


class OverviewScreen(AreaScreen):
    """Figures and newest rows of one area."""

    INTRO: ClassVar[str] = ""

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="area-body"):
            yield Static(Content(_(AREA_BY_MODE[self.AREA].title)), classes="heading")
            yield Static(Content(_(self.INTRO)), classes="intro")
            yield Horizontal(classes="figures", id="figures")
            table: DataTable[Text] = DataTable(id="rows", cursor_type="row", zebra_stripes=True)
            yield table

    def on_mount(self) -> None:
        self.query_one("#rows", DataTable).focus()

    def action_refresh(self) -> None:
        if self.coordinator.store is not None:
            self.load_overview()

    @work(thread=True, exclusive=True, group="overview", exit_on_error=False)
    def load_overview(self) -> None:
        store = self.coordinator.store
        assert store is not None
        self.post_message(AreaLoaded(self.AREA, area_overview(store, self.AREA)))

    @on(AreaLoaded)
    async def show_overview(self, message: AreaLoaded) -> None:
        overview = message.overview
        figures = self.query_one("#figures", Horizontal)
        await figures.remove_children()
        await figures.mount_all(
            Static(
                Content.assemble((f"{count}", "bold $accent"), "\n", _(label)),
                classes="figure",
            )
            for label, count in overview.figures
        )
        table = self.query_one("#rows", DataTable)
        table.clear(columns=True)
        for column in overview.columns:
            table.add_column(plain_cell(_(column)), key=column)
        now = self.coordinator.now()
        for row in overview.rows:
            cells = []
            for column, value in zip(overview.columns, row, strict=True):
                if column in _TIME_COLUMNS and value:
                    moment = parse_sql_time(value) if len(value) > 10 else None
                    cells.append(plain_cell(short_datetime(moment, now) if moment else value))
                else:
                    cells.append(plain_cell(value))
            table.add_row(*cells)
        self.loaded_at = self.coordinator.now()


class NoticesScreen(OverviewScreen):
    AREA = "notices"
    INTRO = N_("Disruption notices. Writing, previewing and sending come with the notice issue.")


class FeedsScreen(OverviewScreen):
    AREA = "feeds"
    INTRO = N_("Newsletter feeds. Refreshing, reading and forwarding come with the feed issue.")


class OnboardingScreen(OverviewScreen):
    AREA = "onboarding"
    INTRO = N_("Onboarding checklists for new responsible users.")


class NetworkScreen(OverviewScreen):
    AREA = "network"
    INTRO = N_("The network directory: units, people and distribution lists.")
