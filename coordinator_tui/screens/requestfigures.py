"""The request figures for the cooperation meetings: per month, category and unit, median times to
first response and to resolution, the overdue share — as tables over a period (RequestService.figures)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from coordinator_tui.i18n import N_, _
from coordinator_tui.requests import rules
from coordinator_tui.screens.base import translated
from coordinator_tui.textclean import clean_line
from coordinator_tui.timefmt import duration, fi_date, local
from coordinator_tui.widgets.maillist import fit
from coordinator_tui.widgets.safe import plain_cell

if TYPE_CHECKING:
    from coordinator_tui.requests.service import RequestService
    from store.requests import Figures

PERIODS = (12, 3, 1, 24)  # months back from today; `p` steps through them
LABEL_WIDTH = 26  # three tables side by side: long unit names are cut so that the counts show


@dataclass
class FiguresLoaded(Message):
    since: date
    until: date
    figures: Figures


class RequestFiguresScreen(Screen[None]):
    """`v` on the Requests screen: the figures of the last months; `p` changes the period."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "leave", N_("Back"), id="figures.leave", tooltip=N_("Back to the list")),
        Binding("p", "period", N_("Period"), id="figures.period", tooltip=N_("12, 3, 1 or 24 months")),
    ]

    def __init__(self, service: RequestService) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.service = service
        self.period = 0
        self.figures: Figures | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content(_("Figures")), id="figures-title")
        yield Static(Content(""), id="figures-summary")
        with Horizontal(id="figures-tables"):
            for name in ("month", "category", "unit"):
                with Vertical(classes="figures-column"):
                    yield DataTable(id=f"figures-{name}", cursor_type="row", show_cursor=False)
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        today = local(self.service.now()).date()
        months = PERIODS[self.period]
        first = date(today.year, today.month, 1)
        for _step in range(months - 1):
            first = (first - timedelta(days=1)).replace(day=1)
        self.compute(first, today)

    @work(thread=True, exclusive=True, group="request-figures", exit_on_error=False)
    def compute(self, since: date, until: date) -> None:
        self.post_message(FiguresLoaded(since, until, self.service.figures(since, until)))

    @on(FiguresLoaded)
    def show(self, message: FiguresLoaded) -> None:
        figures = message.figures
        self.figures = figures
        share = figures.overdue_share
        none = "—"
        self.query_one("#figures-title", Static).update(
            Content.assemble(
                (_("Figures"), "bold"),
                f" · {fi_date(message.since)}–{fi_date(message.until)}",
            )
        )
        summary = [
            (_("Requests"), str(figures.total)),
            (_("Open now"), str(figures.open)),
            (
                _("Median to first response"),
                duration(figures.median_first_response) if figures.median_first_response else none,
            ),
            (
                _("Median to resolution"),
                duration(figures.median_resolution) if figures.median_resolution else none,
            ),
            (
                _("Overdue share"),
                f"{share * 100:.1f} % ({figures.overdue}/{figures.with_due})" if share is not None else none,
            ),
        ]
        self.query_one("#figures-summary", Static).update(
            Content("\n").join(Content.assemble((f"{label:<28}", "bold"), value) for label, value in summary)
        )
        self._table("month", _("Month"), [(label, count) for label, count in figures.per_month])
        self._table(
            "category",
            _("Category"),
            [
                (rules.category_label(name) if name else _("not triaged"), count)
                for name, count in figures.per_category
            ],
        )
        self._table("unit", _("Unit"), [(name or _("no unit"), count) for name, count in figures.per_unit])

    def _table(self, name: str, heading: str, rows: list[tuple[str, int]]) -> None:
        table = self.query_one(f"#figures-{name}", DataTable)
        table.clear(columns=True)
        table.add_column(plain_cell(heading), key="name")
        table.add_column(Text(_("Requests"), justify="right"), key="count")
        for label, count in rows:
            table.add_row(
                plain_cell(fit(clean_line(label, limit=200), LABEL_WIDTH)), Text(str(count), justify="right")
            )

    def action_period(self) -> None:
        self.period = (self.period + 1) % len(PERIODS)
        self.load()

    def action_leave(self) -> None:
        self.dismiss(None)
