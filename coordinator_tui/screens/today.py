"""Tänään: the morning overview — what is waiting in every area, open disruptions first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from coordinator_tui.i18n import N_, _, count_text
from coordinator_tui.messages import DashboardLoaded
from coordinator_tui.screens.base import AREA_BY_MODE, AreaScreen
from coordinator_tui.textclean import clean_line
from coordinator_tui.timefmt import day_bounds, duration, fi_date, fi_datetime, local
from store.queries import DashboardCounts, dashboard_counts, last_mail_sync, open_notices

if TYPE_CHECKING:
    from coordinator_tui.meetings.schedule import DueMeeting
    from store.engine import Store

WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)


MEETING_DAYS = 30  # the cooperation meetings due within this many days are shown
MEETINGS_NAMED = 2  # of them, the first few units by name (on one line under the count)


@dataclass
class MeetingsDue(Message):
    """The cooperation meetings due within MEETING_DAYS (overdue ones included), earliest first."""

    meetings: list[DueMeeting]
    today: date


def meetings_due(store: Store, now: datetime) -> tuple[list[DueMeeting], date]:
    """Worker side: every unit's next meeting from the units alone (no people read), then the due."""
    from coordinator_tui.directory.service import DirectoryService
    from coordinator_tui.meetings.schedule import due_within
    from store.directory import Directory, load_units

    service = DirectoryService(store, clock=lambda: now)
    due, _held = service.meetings(Directory(units=load_units(store)))
    today = service.today()
    return due_within(due, today, MEETING_DAYS), today


class TodayScreen(AreaScreen):
    AREA = "today"
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("enter", "open_area", N_("Open the selected area"), id="today.open", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._meetings: MeetingsDue | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="today-body"):
            yield Static(id="today-heading", classes="heading")
            yield OptionList(id="today-areas")
            yield Static(_("Open disruptions"), classes="subheading")
            yield OptionList(id="today-notices")

    def on_mount(self) -> None:
        now = local(self.coordinator.now())
        weekday = _(WEEKDAYS[now.weekday()])
        self.query_one("#today-heading", Static).update(
            Content(_("Today, {weekday} {date}").format(weekday=weekday, date=fi_date(now.date())))
        )
        self.query_one("#today-areas", OptionList).focus()
        self.call_after_refresh(self.coordinator.startup_mark, "first_paint")
        # New mail synced while Today is on screen changes its counts.
        self.watch(self.coordinator, "mail_version", self._mail_changed, init=False)

    def _mail_changed(self, _version: int) -> None:
        if self.is_current:
            self.action_refresh()

    def action_refresh(self) -> None:
        if self.coordinator.store is not None:
            self.load_dashboard()

    @work(thread=True, exclusive=True, group="today", exit_on_error=False)
    def load_dashboard(self) -> None:
        store = self.coordinator.store
        assert store is not None
        now = self.coordinator.now()
        today, end_of_today = day_bounds(now)
        counts = dashboard_counts(store, now, end_of_today, today)
        notices = open_notices(store)
        due, today_local = meetings_due(store, now)
        self.post_message(MeetingsDue(due, today_local))  # before the counts: they show it
        self.post_message(DashboardLoaded(counts, notices, last_mail_sync(store)))

    @on(MeetingsDue)
    def meetings_read(self, message: MeetingsDue) -> None:
        self._meetings = message

    @on(DashboardLoaded)
    def show_dashboard(self, message: DashboardLoaded) -> None:
        # While the mail watcher runs, the status bar shows its live words instead.
        watching = self.coordinator.mail_watcher is not None
        if message.last_sync is not None and not self.coordinator.context.demo and not watching:
            self.coordinator.sync_state = _("mail last synced {time}").format(
                time=fi_datetime(message.last_sync)
            )
        areas = self.query_one("#today-areas", OptionList)
        highlighted = areas.highlighted
        areas.clear_options()
        areas.add_options(
            Option(self._area_line(mode, text), id=mode)
            for mode, text in [*self._area_texts(message.counts), ("network", self._meetings_text())]
        )
        areas.highlighted = highlighted if highlighted is not None else 0
        notices = self.query_one("#today-notices", OptionList)
        notices.clear_options()
        now = self.coordinator.now()
        if not message.notices:
            notices.add_option(Option(Content(_("No open disruptions")), disabled=True))
        for notice in message.notices:
            started = notice.start_at if notice.start_at.tzinfo else notice.start_at.replace(tzinfo=UTC)
            when = (
                _("starts {time}").format(time=fi_datetime(started))
                if started > now
                else _("lasted {duration}").format(duration=duration(now - started))
            )
            line = Content.assemble(
                (f"{clean_line(notice.status, limit=16):<17}", "bold $text-error"),
                clean_line(notice.subject, limit=80),
                (f" · {when}", "italic"),
            )
            notices.add_option(Option(line, id=f"notice-{notice.id}"))
        self.coordinator.dashboard_loaded_at = datetime.now(UTC)
        self.loaded_at = self.coordinator.now()
        self.call_after_refresh(self.coordinator.startup_mark, "counts_painted", last=True)
        self.call_after_refresh(self.coordinator.warm_up_screens)

    @staticmethod
    def _area_texts(counts: DashboardCounts) -> list[tuple[str, str]]:
        requests = ", ".join(
            [
                count_text("{n} untriaged", "{n} untriaged", counts.untriaged_requests),
                count_text("{n} overdue", "{n} overdue", counts.overdue_requests),
                count_text("{n} due today", "{n} due today", counts.due_today_requests),
            ]
        )
        return [
            ("mail", count_text("{n} unread message", "{n} unread messages", counts.unread_mail)),
            ("requests", requests),
            ("notices", count_text("{n} open notice", "{n} open notices", counts.open_notices)),
            ("feeds", count_text("{n} new item", "{n} new items", counts.new_feed_items)),
            ("onboarding", count_text("{n} task due", "{n} tasks due", counts.onboarding_due)),
        ]

    def _meetings_text(self) -> str:
        """``12 cooperation meetings due within 30 days, 12 of them overdue`` and, on a second line
        under it, the first units with their due dates."""
        if self._meetings is None:
            return ""
        due, today = self._meetings.meetings, self._meetings.today
        text = count_text(
            "{n} cooperation meeting due within 30 days",
            "{n} cooperation meetings due within 30 days",
            len(due),
        )
        overdue = sum(1 for meeting in due if meeting.due_on < today)
        if overdue:
            text += ", " + _("{n} of them overdue").format(n=overdue)
        if due:
            named = " · ".join(
                f"{clean_line(meeting.unit_name, limit=30)} {fi_date(meeting.due_on)}"
                for meeting in due[:MEETINGS_NAMED]
            )
            if len(due) > MEETINGS_NAMED:
                named += " · " + _("{n} more").format(n=len(due) - MEETINGS_NAMED)
            text += "\n" + " " * 20 + named
        return text

    @staticmethod
    def _area_line(mode: str, text: str) -> Content:
        area = AREA_BY_MODE[mode]
        return Content.assemble(
            (f"{area.digit} ", "bold $accent"),
            (f"{_(area.title):<18}", "bold"),
            text,
        )

    @on(OptionList.OptionSelected, "#today-areas")
    def open_selected_area(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.app.switch_mode(event.option.id)

    def action_open_area(self) -> None:
        areas = self.query_one("#today-areas", OptionList)
        if areas.highlighted is not None:
            option = areas.get_option_at_index(areas.highlighted)
            if option.id:
                self.app.switch_mode(option.id)
