"""The request figures for the cooperation meetings: requests per month, category and unit, the median
times to first response and to resolution, and the overdue share — each as a table and as a terminal
plot (plotext), over a period (`p`) and for one unit or all (`u`), exported from the screen (`e`)
as the same CSV or JSON that ``coordinator-tui export requests`` writes.

The figures and the plots are made in a thread worker. plotext draws text; the plots are shown as
literal Content (never markup), and every unit name in them is cleaned first (they are untrusted).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from coordinator_tui.i18n import N_, _, count_text
from coordinator_tui.requests import rules
from coordinator_tui.screens.base import translated
from coordinator_tui.textclean import clean_line, clean_text
from coordinator_tui.timefmt import duration, fi_date, local
from coordinator_tui.widgets.keyfooter import KeyFooter
from coordinator_tui.widgets.maillist import fit
from coordinator_tui.widgets.safe import plain

if TYPE_CHECKING:
    from coordinator_tui.requests.export import Format
    from coordinator_tui.requests.service import RequestService
    from store.requests import Figures

PERIODS = (12, 3, 1, 24)  # months back from today, this month included; `p` steps through them
LABEL_WIDTH = 28  # a table's label column: long unit names are cut so that the counts show
PLOT_LABEL_WIDTH = 18  # a horizontal bar's label in a plot
PLOT_UNITS = 12  # the units with most requests that the unit plot shows (the table has them all)
VALUE_WIDTH = 16
TABLE_WIDTH = LABEL_WIDTH + VALUE_WIDTH + 4  # the tables' column with its padding
PLOT_MIN_WIDTH = 30
NONE = "—"

# plotext keeps one figure for the process: one plot is drawn at a time.
_PLOT_LOCK = threading.Lock()


@dataclass(frozen=True)
class Plots:
    month: str
    category: str
    unit: str
    times: str


@dataclass
class _Early:
    """Figures asked for when the view is made; ``done`` is set when they (or an error) are in."""

    since: date
    until: date
    unit_id: int | None
    width: int
    done: threading.Event = field(default_factory=threading.Event)
    result: FiguresLoaded | None = None
    error: Exception | None = None


@dataclass
class FiguresLoaded(Message):
    since: date
    until: date
    unit_id: int | None
    figures: Figures
    plots: Plots
    units: list[tuple[int, str]]


@dataclass
class PlotsDrawn(Message):
    figures: Figures
    plots: Plots


@dataclass
class Exported(Message):
    text: str
    severity: str


def period_start(today: date, months: int) -> date:
    """The first day of the month ``months - 1`` months before ``today``'s."""
    first = date(today.year, today.month, 1)
    for _step in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def month_label(label: str) -> str:
    """``2026-03`` → ``3/26``: short enough for a bar of its own."""
    year, _sep, month = label.partition("-")
    return f"{int(month)}/{year[2:]}" if month.isdigit() and len(year) == 4 else clean_line(label, limit=8)


def category_name(name: str) -> str:
    return rules.category_label(name) if name else _("not triaged")


def unit_name(name: str) -> str:
    return clean_line(name, limit=200) if name else _("no unit")


def hours(span: timedelta | None) -> float:
    return 0.0 if span is None else round(span.total_seconds() / 3600, 1)


def plot_text(
    labels: list[str],
    values: list[float],
    *,
    width: int,
    height: int,
    horizontal: bool = False,
    title: str = "",
) -> str:
    """A bar plot as plain text: no colours, no escapes, labels cleaned and cut to fit."""
    if not labels:
        return ""
    import plotext

    shown = [fit(clean_line(label, limit=200), PLOT_LABEL_WIDTH) or "?" for label in labels]
    # plotext takes a label for a place on the axis: two equal labels would share a bar.
    seen: dict[str, int] = {}
    for index, label in enumerate(shown):
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            shown[index] = fit(label, PLOT_LABEL_WIDTH - 3) + f" {seen[label]}"
    # The bars stand at 1, 2, 3 ... with the labels as ticks (plotext's own placing of text
    # coordinates drifts), and the value axis starts at zero.
    places = list(range(1, len(shown) + 1))
    top = max(values) * 1.05 or 1.0
    with _PLOT_LOCK:
        figure = plotext.figure
        figure.clear()
        if horizontal:
            # plotext draws the first bar at the bottom: reversed, the list reads top-down.
            figure.draw(figure.bar(places, values[::-1], orientation="horizontal", width=0.6))
            figure.ruler("x").lim(0, top)
            figure.ruler("y").ticks(places, shown[::-1]).lim(0.4, len(shown) + 0.6)
        else:
            figure.draw(figure.bar(places, values, width=0.6))
            figure.ruler("y").lim(0, top)
            figure.ruler("x").ticks(places, shown).lim(0.4, len(shown) + 0.6)
        if title:
            figure.title(clean_line(title, limit=60))
        figure.plot_size(max(PLOT_MIN_WIDTH, width), max(6, height))
        text = figure.build().string(colorless=True)
        figure.clear()
    return clean_text(text)


def draw_plots(figures: Figures, width: int) -> Plots:
    months = figures.per_month
    categories = figures.per_category
    units = figures.per_unit[:PLOT_UNITS]
    share = figures.overdue_share
    times = plot_text(
        [_("First response, h"), _("Resolution, h"), _("Overdue, %")],
        [
            hours(figures.median_first_response),
            hours(figures.median_resolution),
            round(share * 100, 1) if share is not None else 0.0,
        ],
        width=width,
        height=10,
        horizontal=True,
    )
    return Plots(
        month=plot_text(
            [month_label(label) for label, _count in months],
            [count for _label, count in months],
            width=width,
            height=12,
        ),
        category=plot_text(
            [category_name(name) for name, _count in categories],
            [count for _name, count in categories],
            width=width,
            height=2 * len(categories) + 3,
            horizontal=True,
        ),
        unit=plot_text(
            [unit_name(name) for name, _count in units],
            [count for _name, count in units],
            width=width,
            height=2 * len(units) + 3,
            horizontal=True,
        ),
        times=times,
    )


class ExportScreen(ModalScreen["tuple[Format, Path] | None"]):
    """Where to write the export: a path; ``.json`` at its end writes JSON, anything else CSV."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "cancel", N_("Cancel"), id="figures-export.cancel", tooltip=N_("Export nothing")),
    ]

    def __init__(self, what: str, path: str) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.what = what
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(classes="request-dialog", id="figures-export-dialog"):
            yield Static(Content(_("Export the requests")), classes="heading")
            yield Static(self.what, id="figures-export-what")
            yield Input(value=self.path, id="figures-export-path")
            yield Static(
                Content(
                    _(
                        "A file name ending in .json writes JSON; any other, CSV for Excel set to Finnish. "
                        "enter: export · escape: cancel"
                    )
                ),
                classes="intro",
            )

    def on_mount(self) -> None:
        self.query_one("#figures-export-path", Input).focus()

    @on(Input.Submitted, "#figures-export-path")
    def submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.notify(_("Give a file name to export to."), severity="warning", markup=False)
            return
        path = Path(text).expanduser()
        fmt: Format = "json" if path.suffix.lower() == ".json" else "csv"
        self.dismiss((fmt, path))

    def action_cancel(self) -> None:
        self.dismiss(None)


class RequestFiguresScreen(Screen[None]):
    """`v` on the Requests screen: the figures of the last months; `p` period, `u` unit, `e` export."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "leave", N_("Back"), id="figures.leave", tooltip=N_("Back to the list")),
        Binding("p", "period", N_("Period"), id="figures.period", tooltip=N_("12, 3, 1 or 24 months")),
        Binding("u", "unit", N_("Unit"), id="figures.unit", tooltip=N_("The figures of one unit, or of all")),
        Binding(
            "e",
            "export",
            N_("Export"),
            id="figures.export",
            tooltip=N_("These requests as CSV or JSON, one row per request"),
        ),
        Binding("j", "scroll_down", N_("Down"), id="figures.down", show=False),
        Binding("k", "scroll_up", N_("Up"), id="figures.up", show=False),
    ]
    DEFAULT_CSS = """
    RequestFiguresScreen #figures-body { height: 1fr; }
    RequestFiguresScreen .figures-heading {
        height: 1; padding: 0 1; margin-top: 1; text-style: bold; color: $accent;
    }
    RequestFiguresScreen .figures-row { height: auto; }
    RequestFiguresScreen .figures-table { width: 48; height: auto; padding: 0 1; }
    RequestFiguresScreen .figures-plot { width: 1fr; height: auto; }
    RequestFiguresScreen #figures-export-what { padding: 0 1; }
    """

    def __init__(self, service: RequestService, *, unit_id: int | None = None) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.service = service
        self.period = 0
        self.unit_id = unit_id
        self.units: list[tuple[int, str]] = []
        self.since: date | None = None
        self.figures: Figures | None = None
        self.plots: Plots | None = None
        self.shown_at: float | None = None  # perf_counter when figures were last put on screen (bench)
        self.tables: dict[str, list[tuple[str, str]]] = {}  # what each table shows, as text
        self._plot_width = 0
        # The figures are read from the moment the view is made, while Textual builds its widgets.
        self._early: _Early | None = None
        try:
            since, until = self._period()
            self._early = _Early(since, until, unit_id, self.plot_width())
            self.app.run_worker(
                partial(self._read_early, self._early),
                name="request figures",
                group="request-figures-early",
                thread=True,
                exit_on_error=False,
            )
        except RuntimeError:  # made outside a running app (no active app): read when mounted
            self._early = None

    def compose(self) -> ComposeResult:
        yield Static(Content(_("Figures")), id="figures-title")
        with VerticalScroll(id="figures-body"):
            for name, heading in (
                ("times", _("Response times and overdue share")),
                ("month", _("Requests per month")),
                ("category", _("Requests per category")),
                ("unit", _("Requests per unit")),
            ):
                yield Static(Content(heading), classes="figures-heading")
                with Horizontal(classes="figures-row"):
                    yield Static(Content(""), id=f"figures-{name}", classes="figures-table")
                    yield Static(Content(""), id=f"figures-plot-{name}", classes="figures-plot")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#figures-body", VerticalScroll).focus()
        if self._early is not None:
            self.collect(self._early)
            self._plot_width = self._early.width
            self._early = None
        else:
            self.load()

    def plot_width(self) -> int:
        # The table, its margins and the body's scroll bar take the rest.
        return max(PLOT_MIN_WIDTH, self.app.size.width - TABLE_WIDTH - 6)

    def _period(self) -> tuple[date, date]:
        today = local(self.service.now()).date()
        return period_start(today, PERIODS[self.period]), today

    def load(self) -> None:
        since, until = self._period()
        self._plot_width = self.plot_width()
        self.compute(since, until, self.unit_id, self._plot_width)

    def _gather(self, since: date, until: date, unit_id: int | None, width: int) -> FiguresLoaded:
        """The figures, their plots and the unit list. Worker only."""
        from store.requests import unit_list

        figures = self.service.figures(since, until, unit_id)
        plots = draw_plots(figures, width)
        return FiguresLoaded(since, until, unit_id, figures, plots, unit_list(self.service.store))

    def _read_early(self, early: _Early) -> None:
        """The first figures, in an app worker started before the view is mounted."""
        try:
            early.result = self._gather(early.since, early.until, early.unit_id, early.width)
        except Exception as error:  # handed to the view's own worker, which reports it
            early.error = error
        finally:
            early.done.set()

    @work(thread=True, exclusive=True, group="request-figures", exit_on_error=False)
    def collect(self, early: _Early) -> None:
        early.done.wait()
        if early.error is not None:
            raise early.error
        if early.result is not None:
            self.post_message(early.result)

    @work(thread=True, exclusive=True, group="request-figures", exit_on_error=False)
    def compute(self, since: date, until: date, unit_id: int | None, width: int) -> None:
        self.post_message(self._gather(since, until, unit_id, width))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            report = getattr(self.app, "report_worker_error", None)
            if report is not None:
                report(event.worker)

    @work(thread=True, exclusive=True, group="request-figures-plots", exit_on_error=False)
    def redraw(self, figures: Figures, width: int) -> None:
        self.post_message(PlotsDrawn(figures, draw_plots(figures, width)))

    def on_resize(self) -> None:
        width = self.plot_width()
        if self.figures is not None and width != self._plot_width:
            self._plot_width = width
            self.redraw(self.figures, width)

    @on(PlotsDrawn)
    def plots_drawn(self, message: PlotsDrawn) -> None:
        if message.figures is self.figures:
            self._show_plots(message.plots)

    def unit_label(self) -> str:
        if self.unit_id is None:
            return _("all units")
        name = dict(self.units).get(self.unit_id, "")
        return clean_line(name, limit=80) or str(self.unit_id)

    @on(FiguresLoaded)
    def show(self, message: FiguresLoaded) -> None:
        import time as clock

        figures = message.figures
        self.figures = figures
        self.since = message.since
        self.unit_id = message.unit_id
        self.units = message.units
        self.query_one("#figures-title", Static).update(
            Content.assemble(
                (_("Figures"), "bold"),
                f" · {fi_date(message.since)}–{fi_date(message.until)} · ",
                (_("unit") + ": ", "dim"),
                plain(self.unit_label(), limit=80),
                " · ",
                count_text("{n} request", "{n} requests", figures.total),
            )
        )
        share = figures.overdue_share
        self._table(
            "times",
            _("Figure"),
            [
                (_("Requests"), str(figures.total)),
                (_("Open now"), str(figures.open)),
                (
                    _("Median to first response"),
                    duration(figures.median_first_response) if figures.median_first_response else NONE,
                ),
                (
                    _("Median to resolution"),
                    duration(figures.median_resolution) if figures.median_resolution else NONE,
                ),
                (
                    _("Overdue share"),
                    f"{share * 100:.1f} % ({figures.overdue}/{figures.with_due})".replace(".", ",")
                    if share is not None
                    else NONE,
                ),
            ],
            value_heading=_("Value"),
        )
        self._table("month", _("Month"), [(label, str(count)) for label, count in figures.per_month])
        self._table(
            "category",
            _("Category"),
            [(category_name(name), str(count)) for name, count in figures.per_category],
        )
        self._table("unit", _("Unit"), [(unit_name(name), str(count)) for name, count in figures.per_unit])
        self._show_plots(message.plots)
        self.shown_at = clock.perf_counter()

    def _show_plots(self, plots: Plots) -> None:
        self.plots = plots
        for name in ("times", "month", "category", "unit"):
            # plotext's output is plain text already cleaned: shown literally, never parsed.
            self.query_one(f"#figures-plot-{name}", Static).update(Content(getattr(plots, name)))

    def _table(
        self, name: str, heading: str, rows: list[tuple[str, str]], *, value_heading: str | None = None
    ) -> None:
        """A table as lines of text: the labels (untrusted: cleaned, literal) left, the values right."""
        self.tables[name] = rows
        lines = [
            Content.assemble(
                (fit(heading, LABEL_WIDTH).ljust(LABEL_WIDTH), "bold"),
                ((value_heading or _("Requests")).rjust(VALUE_WIDTH), "bold"),
            )
        ]
        for label, value in rows:
            shown = fit(clean_line(label, limit=200), LABEL_WIDTH)
            lines.append(
                Content(shown + " " * max(0, LABEL_WIDTH - cell_len(shown)) + value.rjust(VALUE_WIDTH))
            )
        self.query_one(f"#figures-{name}", Static).update(Content("\n").join(lines))

    # --- keys -----------------------------------------------------------------------------------

    def action_period(self) -> None:
        self.period = (self.period + 1) % len(PERIODS)
        self.load()

    def action_unit(self) -> None:
        from coordinator_tui.screens.requests import PickerScreen

        choices = [("", _("All units"))] + [(str(unit_id), name) for unit_id, name in self.units]

        def chosen(value: str | None) -> None:
            if value is None:
                return
            self.unit_id = int(value) if value else None
            self.load()

        current = "" if self.unit_id is None else str(self.unit_id)
        self.app.push_screen(PickerScreen(_("The figures of which unit?"), choices, current), chosen)

    def action_export(self) -> None:
        if self.since is None:
            return
        since = self.since
        unit_id = self.unit_id
        what = Content.assemble(
            _("Requests created since {day}").format(day=fi_date(since)),
            " · ",
            (_("unit") + ": ", "dim"),
            plain(self.unit_label(), limit=80),
        )
        today = local(self.service.now()).date()
        default = f"~/palvelupyynnot-{today.isoformat()}.csv"

        def chosen(answer: tuple[Format, Path] | None) -> None:
            if answer is not None:
                self.run_export(answer[0], answer[1], since, unit_id)

        self.app.push_screen(ExportScreen(what, default), chosen)

    @work(thread=True, group="request-figures-export", exit_on_error=False)
    def run_export(self, fmt: Format, out: Path, since: date, unit_id: int | None) -> None:
        """The same rows as ``coordinator-tui export requests --since DAY [--unit ...]`` writes."""
        from coordinator_tui.requests.export import ExportBlocked, export
        from store.errors import StoreError
        from store.requests import export_rows

        shown = clean_line(str(out), limit=200)
        if not out.parent.is_dir():
            self.post_message(
                Exported(
                    _("Nothing was exported: the folder {folder} does not exist.").format(
                        folder=clean_line(str(out.parent), limit=200)
                    ),
                    "warning",
                )
            )
            return
        start = datetime.combine(since, time(0), tzinfo=self.service.calendar.zone)
        try:
            summary = export(export_rows(self.service.store, unit_id=unit_id, since=start), fmt, out)
        except ExportBlocked as error:
            self.post_message(Exported(str(error), "error"))
            return
        except StoreError as error:
            self.post_message(Exported(_("Nothing was exported: {error}").format(error=error), "error"))
            return
        except OSError as error:
            self.post_message(
                Exported(
                    _("Could not write {path}: {reason}. Choose another file.").format(
                        path=shown, reason=error.strerror or error
                    ),
                    "error",
                )
            )
            return
        self.post_message(
            Exported(
                count_text("Exported {n} request.", "Exported {n} requests.", summary.rows)
                + " "
                + _("File: {path}").format(path=shown),
                "information",
            )
        )

    @on(Exported)
    def exported(self, message: Exported) -> None:
        self.notify(clean_line(message.text, limit=400), severity=message.severity, markup=False)  # type: ignore[arg-type]

    def action_scroll_down(self) -> None:
        self.query_one("#figures-body", VerticalScroll).scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.query_one("#figures-body", VerticalScroll).scroll_up(animate=False)

    def action_leave(self) -> None:
        self.dismiss(None)
