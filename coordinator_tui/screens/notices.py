"""Häiriötiedotteet: the disruption and maintenance notices — open ones first, with their stage and how
long they have lasted; drafts above them. ``n`` writes a new notice, ``U`` posts an update, ``K``
the resolved notice, ``enter`` opens a notice with its versions and each recipient's delivery,
``/`` searches.

A version whose delivery is unknown (the app stopped after the server may have taken it) is shown
with its Message-ID; the coordinator decides: ``m`` marks it sent, ``a`` sends it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker, WorkerState

from coordinator_tui.i18n import N_, _, count_text
from coordinator_tui.notices import model
from coordinator_tui.notices.form import lasted
from coordinator_tui.screens.base import AreaScreen, translated
from coordinator_tui.timefmt import duration, fi_datetime, short_datetime
from coordinator_tui.widgets.keyfooter import KeyFooter
from coordinator_tui.widgets.safe import plain, plain_block, plain_cell

if TYPE_CHECKING:
    from coordinator_tui.app import CoordinatorApp
    from coordinator_tui.notices.drafts import SavedDraft
    from coordinator_tui.notices.send import NoticeSendResult
    from store.notices import LinkedRequest, NoticeRecord, NoticeSummary, VersionRecord
    from store.outbox import DeliveryEntry

OUTBOX_WORDS = {
    "queued": N_("queued"),
    "sending": N_("sending"),
    "sent": N_("sent"),
    "failed": N_("failed"),
    "unknown": N_("delivery unknown"),
    "demo": N_("demo, not sent"),
}
OUTBOX_STYLES = {"failed": "bold red", "unknown": "bold yellow", "queued": "cyan", "sent": "green"}


def kind_label(kind: str) -> str:
    return _(model.KIND_LABELS.get(kind, kind))


def stage_label(stage: str) -> str:
    return _(model.STAGE_LABELS.get(stage, stage))


def lasted_text(notice: NoticeRecord, now: datetime) -> str:
    """How long it has lasted (open), or lasted (closed); a maintenance ahead says when it starts."""
    if notice.start_at > now and notice.is_open:
        return _("starts {time}").format(time=short_datetime(notice.start_at, now))
    span = duration(lasted(notice.start_at, notice.actual_end_at if not notice.is_open else None, now))
    return span if notice.is_open else _("lasted {span}").format(span=span)


def start_line(notice: NoticeRecord, now: datetime) -> str:
    """When it started and how long it has lasted; for a start still ahead, when it starts."""
    if notice.start_at > now and notice.is_open:
        return _("Starts {time}").format(time=fi_datetime(notice.start_at))
    return _("Started {time}").format(time=fi_datetime(notice.start_at)) + " · " + lasted_text(notice, now)


# --- messages ------------------------------------------------------------------------------------------


@dataclass
class NoticesLoaded(Message):
    summaries: list[NoticeSummary]
    drafts: list[SavedDraft]
    match: str


@dataclass
class NoticeLoaded(Message):
    notice: NoticeRecord
    versions: list[VersionRecord]
    counts: dict[int, dict[str, int]]
    linked: list[LinkedRequest]
    unit_names: list[str]


@dataclass
class DeliveriesLoaded(Message):
    version_id: int
    deliveries: list[DeliveryEntry]


@dataclass
class DecisionDone(Message):
    text: str
    ok: bool


@dataclass
class OpenCompose(Message):
    """Open the compose screen (the worker read what it needs)."""

    mode: str
    notice: NoticeRecord | None
    saved: SavedDraft | None
    lists: list[int]
    units: list[int]
    everyone: bool


# --- opening the compose screen (shared by the list and the notice) -------------------------------------


class ComposeOpener:
    """Mixin: ``n``/``U``/``K`` read the notice, its saved draft and last recipients, then compose."""

    if TYPE_CHECKING:

        @property
        def coordinator(self) -> CoordinatorApp: ...

    @work(thread=True, exclusive=True, group="notice-open-compose", exit_on_error=False)
    def open_compose(self, mode: str, notice_id: int | None, draft_key: str = "") -> None:
        from coordinator_tui.notices import drafts
        from store import notices as notice_store

        store = self.coordinator.store
        assert store is not None
        notice = notice_store.get_notice(store, notice_id) if notice_id is not None else None
        saved = None
        if draft_key:
            saved = next((draft for draft in drafts.load_all() if draft.key == draft_key), None)
        elif notice_id is not None:
            saved = drafts.for_notice(notice_id)
            if saved is not None and saved.mode != mode:
                saved = None  # a saved update is not what a resolve starts from
        lists: list[int] = []
        units: list[int] = []
        everyone = False
        if saved is not None:
            lists, units, everyone = list(saved.lists), list(saved.units), saved.everyone
            if saved.notice_id is not None and notice is None:
                notice = notice_store.get_notice(store, saved.notice_id)
        elif notice_id is not None:
            remembered = drafts.last_choice(notice_id)
            if remembered is not None:
                lists, units, everyone = remembered
            elif notice is not None:
                units = list(notice.units)
        if saved is not None and saved.notice_id is not None:
            mode = saved.mode
        self.post_message(OpenCompose(mode, notice, saved, lists, units, everyone))  # type: ignore[attr-defined]

    def on_open_compose(self, message: OpenCompose) -> None:
        from coordinator_tui.notices.recipients import Choice
        from coordinator_tui.screens.noticecompose import NoticeComposeScreen, Setup

        notice = message.notice
        if message.mode != "new" and notice is not None and not notice.is_open:
            self.coordinator.notify(  # type: ignore[attr-defined]
                _("The notice is already closed ({stage}); start a new notice instead.").format(
                    stage=stage_label(notice.status)
                ),
                severity="warning",
                markup=False,
            )
            return
        setup = Setup(
            mode=message.mode,
            notice=notice,
            saved=message.saved,
            choice=Choice(lists=message.lists, units=message.units, everyone=message.everyone),
        )
        self.coordinator.push_screen(NoticeComposeScreen(setup), lambda _result: self.action_refresh())  # type: ignore[attr-defined]


# --- the list ------------------------------------------------------------------------------------------


class NoticesScreen(ComposeOpener, AreaScreen):
    AREA = "notices"
    DEFAULT_CSS = """
    NoticesScreen #notices-search { margin: 0 1; }
    NoticesScreen #notices-list { height: 1fr; margin: 1 1 0 1; }
    NoticesScreen #notices-detail { height: 7; padding: 0 1; border-top: solid $panel; }
    """
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("n", "new", N_("New notice"), id="notices.new", tooltip=N_("Write a new notice")),
        Binding(
            "U", "update", N_("Update"), id="notices.update", tooltip=N_("Post an update in the same thread")
        ),
        Binding("K", "resolve", N_("Resolved"), id="notices.resolve", tooltip=N_("Send the resolved notice")),
        Binding("enter", "open", N_("Open"), id="notices.open", tooltip=N_("Versions and deliveries")),
        Binding("slash", "search", N_("Search"), id="notices.search"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[NoticeSummary | SavedDraft] = []
        self.match = ""

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="area-body"):
            yield Static(Content(_("Notices")), classes="heading")
            yield Input(placeholder=_("Search: words of the subject, services or text"), id="notices-search")
            yield Static(Content(""), classes="intro", id="notices-figures")
            table: DataTable[Text] = DataTable(id="notices-list", cursor_type="row", zebra_stripes=True)
            yield table
            yield Static(Content(""), id="notices-detail")

    def on_mount(self) -> None:
        self.query_one("#notices-search", Input).display = False
        table = self.query_one("#notices-list", DataTable)
        for key, label, width in (
            ("state", "", 2),
            ("kind", N_("Kind"), 12),
            ("services", N_("Services"), 24),
            ("stage", N_("Status"), 15),
            ("since", N_("Since start"), 17),
            ("versions", N_("Versions"), 7),
            ("sent", N_("Last sent"), 9),
            # A fixed width: an automatic one followed the rows of whichever load painted first,
            # so the column came out 4 or 17 characters wide (the table scrolls sideways for more).
            ("subject", N_("Subject"), 60),
        ):
            table.add_column(Text(_(label)) if label else Text(""), key=key, width=width)
        table.focus()

    def action_refresh(self) -> None:
        if self.coordinator.store is not None:
            self.load_notices(self.match)

    @work(thread=True, exclusive=True, group="notices-load", exit_on_error=False)
    def load_notices(self, match: str) -> None:
        from coordinator_tui.notices import drafts
        from store import notices as notice_store

        store = self.coordinator.store
        assert store is not None
        summaries = notice_store.notice_summaries(store, match=match)
        saved = drafts.load_all() if not match.strip() else []
        self.post_message(NoticesLoaded(summaries, saved, match))

    @on(NoticesLoaded)
    def show_notices(self, message: NoticesLoaded) -> None:
        table = self.query_one("#notices-list", DataTable)
        keep = table.cursor_row
        table.clear()
        now = self.coordinator.now()
        self.rows = [*message.drafts, *message.summaries]
        for draft in message.drafts:
            table.add_row(
                Text("✎", style="cyan"),
                plain_cell(kind_label(draft.kind)),
                plain_cell(", ".join(draft.services)),
                Text(_("draft"), style="cyan"),
                plain_cell(draft.start),
                Text(""),
                Text(""),
                plain_cell(_("Draft: {what}").format(what=_(draft_mode_label(draft.mode)))),
            )
        for summary in message.summaries:
            notice = summary.notice
            marker = Text("")
            if summary.unknown:
                marker = Text("?", style="bold yellow")
            elif summary.failed:
                marker = Text("!", style="bold red")
            elif notice.is_open:
                marker = Text("●", style="bold red" if not model.is_maintenance(notice.kind) else "cyan")
            table.add_row(
                marker,
                plain_cell(kind_label(notice.kind)),
                plain_cell(", ".join(notice.services)),
                Text(stage_label(notice.status), style="bold" if notice.is_open else "dim"),
                plain_cell(lasted_text(notice, now)),
                Text(str(summary.versions)),
                plain_cell(short_datetime(summary.last_sent_at, now) if summary.last_sent_at else "—"),
                plain_cell(notice.subject or "—"),
            )
        open_count = sum(1 for summary in message.summaries if summary.notice.is_open)
        figures = (
            count_text("{n} open", "{n} open", open_count)
            + " · "
            + count_text("{n} notice", "{n} notices", len(message.summaries))
        )
        if message.drafts:
            figures += " · " + count_text("{n} draft", "{n} drafts", len(message.drafts))
        if message.match:
            figures += " · " + _("search: {words}").format(words=message.match)
        self.query_one("#notices-figures", Static).update(plain(figures))
        if self.rows:
            table.move_cursor(row=min(keep, len(self.rows) - 1))
        self._show_detail()
        self.loaded_at = self.coordinator.now()

    def current(self) -> NoticeSummary | SavedDraft | None:
        table = self.query_one("#notices-list", DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    @on(DataTable.RowHighlighted, "#notices-list")
    def _highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        from coordinator_tui.notices.drafts import SavedDraft

        widget = self.query_one("#notices-detail", Static)
        row = self.current()
        if row is None:
            widget.update(Content(_("No notices yet. n writes the first one.")))
            return
        if isinstance(row, SavedDraft):
            widget.update(
                Content(_("A saved draft: enter opens it to go on writing. Nothing of it has been sent."))
            )
            return
        notice = row.notice
        now = self.coordinator.now()
        lines = [
            Content.assemble((stage_label(notice.status), "bold"), " · ", plain(kind_label(notice.kind))),
            plain(start_line(notice, now)),
        ]
        if notice.expected_end_at and notice.is_open:
            lines.append(plain(_("Expected end {time}").format(time=fi_datetime(notice.expected_end_at))))
        if row.unknown:
            lines.append(
                Content.styled(
                    count_text(
                        "{n} version's delivery is unknown: enter opens it to decide.",
                        "{n} versions' delivery is unknown: enter opens them to decide.",
                        row.unknown,
                    ),
                    "bold $warning",
                )
            )
        if row.scheduled:
            lines.append(plain(count_text("{n} version scheduled", "{n} versions scheduled", row.scheduled)))
        widget.update(Content("\n").join(lines))

    # -- keys ---------------------------------------------------------------------------------------

    def action_new(self) -> None:
        self.open_compose("new", None)

    def _notice_for_verb(self) -> NoticeSummary | None:
        from coordinator_tui.notices.drafts import SavedDraft

        row = self.current()
        if row is None or isinstance(row, SavedDraft):
            self.notify(_("Choose a notice first."), markup=False)
            return None
        return row

    def action_update(self) -> None:
        row = self._notice_for_verb()
        if row is not None:
            self.open_compose("update", row.notice.id)

    def action_resolve(self) -> None:
        row = self._notice_for_verb()
        if row is not None:
            self.open_compose("resolve", row.notice.id)

    def action_open(self) -> None:
        from coordinator_tui.notices.drafts import SavedDraft

        row = self.current()
        if row is None:
            return
        if isinstance(row, SavedDraft):
            self.open_compose(row.mode, row.notice_id, row.key)
            return
        self.app.push_screen(NoticeScreen(row.notice.id), lambda _result: self.action_refresh())

    @on(DataTable.RowSelected, "#notices-list")
    def _selected(self) -> None:
        self.action_open()

    def action_search(self) -> None:
        search = self.query_one("#notices-search", Input)
        search.display = True
        search.focus()

    @on(Input.Changed, "#notices-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.match = event.value
        self.action_refresh()

    @on(Input.Submitted, "#notices-search")
    def _search_done(self) -> None:
        self.query_one("#notices-list", DataTable).focus()

    def action_back(self) -> None:
        search = self.query_one("#notices-search", Input)
        if search.display and (search.has_focus or self.match):
            search.value = ""
            search.display = False
            self.match = ""
            self.query_one("#notices-list", DataTable).focus()
            self.action_refresh()
            return
        super().action_back()


def draft_mode_label(mode: str) -> str:
    return {"new": N_("new notice"), "update": N_("update"), "resolve": N_("resolved notice")}.get(mode, mode)


# --- one notice ----------------------------------------------------------------------------------------


class NoticeScreen(ComposeOpener, Screen[None]):
    """One notice: its fields, its versions with delivery counts, and each recipient's delivery."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "back", N_("Back"), id="notice.back"),
        Binding(
            "U", "update", N_("Update"), id="notice.update", tooltip=N_("Post an update in the same thread")
        ),
        Binding("K", "resolve", N_("Resolved"), id="notice.resolve", tooltip=N_("Send the resolved notice")),
        Binding(
            "m",
            "mark_sent",
            N_("Mark sent"),
            id="notice.mark_sent",
            tooltip=N_("Delivery unknown: decide that it reached its recipients"),
        ),
        Binding(
            "a",
            "send_again",
            N_("Send again"),
            id="notice.send_again",
            tooltip=N_("Delivery unknown or not finished: send to those who may not have it"),
        ),
        Binding("ctrl+r", "refresh", N_("Refresh"), id="notice.refresh"),
        Binding("j", "cursor_down", N_("Down"), id="notice.down", show=False),
        Binding("k", "cursor_up", N_("Up"), id="notice.up", show=False),
    ]
    DEFAULT_CSS = """
    NoticeScreen #notice-fields { height: auto; max-height: 12; padding: 0 1; }
    NoticeScreen #notice-versions { height: auto; max-height: 10; margin: 1 1 0 1; }
    NoticeScreen #notice-decision { height: auto; padding: 0 1; color: $warning; text-style: bold; }
    NoticeScreen #notice-lower { height: 1fr; }
    NoticeScreen #notice-deliveries { width: 1fr; height: 1fr; margin: 0 1; }
    NoticeScreen #notice-text { width: 1fr; height: 1fr; padding: 0 1; border-left: vkey $panel; }
    """

    def __init__(self, notice_id: int) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.notice_id = notice_id
        self.notice: NoticeRecord | None = None
        self.versions: list[VersionRecord] = []
        self.counts: dict[int, dict[str, int]] = {}
        self.busy = False
        self.loaded_at: datetime | None = None

    @property
    def coordinator(self) -> CoordinatorApp:
        from coordinator_tui.app import CoordinatorApp

        assert isinstance(self.app, CoordinatorApp)
        return self.app

    def compose(self) -> ComposeResult:
        from textual.containers import Horizontal

        yield Static(Content(""), classes="heading", id="notice-heading")
        yield Static(Content(""), id="notice-fields")
        versions: DataTable[Text] = DataTable(id="notice-versions", cursor_type="row")
        yield versions
        yield Static(Content(""), id="notice-decision")
        with Horizontal(id="notice-lower"):
            deliveries: DataTable[Text] = DataTable(
                id="notice-deliveries", cursor_type="row", zebra_stripes=True
            )
            yield deliveries
            with VerticalScroll(id="notice-text"):
                yield Static(Content(""), id="notice-body")
        yield KeyFooter()

    def on_mount(self) -> None:
        versions = self.query_one("#notice-versions", DataTable)
        for key, label, width in (
            ("number", "#", 3),
            ("stage", N_("Status"), 16),
            ("state", N_("Delivery"), 18),
            ("sent", N_("Sent"), 21),
            ("counts", N_("OK · refused · unknown · waiting"), 26),
            ("subject", N_("Subject"), 60),  # fixed: see NoticesScreen.on_mount
        ):
            versions.add_column(Text(_(label)), key=key, width=width)
        deliveries = self.query_one("#notice-deliveries", DataTable)
        deliveries.add_column(Text(_("Recipient")), key="recipient", width=34)
        deliveries.add_column(Text(_("Delivery")), key="status", width=16)
        deliveries.add_column(Text(_("Server's reply")), key="reply", width=60)
        versions.focus()
        self.action_refresh()

    def on_screen_resume(self) -> None:
        if self.loaded_at is not None:
            self.action_refresh()

    def action_refresh(self) -> None:
        self.load_notice()

    @work(thread=True, exclusive=True, group="notice-load", exit_on_error=False)
    def load_notice(self) -> None:
        from store import notices as notice_store
        from store.outbox import delivery_counts

        store = self.coordinator.store
        assert store is not None
        notice = notice_store.get_notice(store, self.notice_id)
        versions = notice_store.versions(store, self.notice_id)
        counts = delivery_counts(store, [v.outbox_id for v in versions if v.outbox_id is not None])
        linked = notice_store.linked_requests(store, self.notice_id, open_only=False)
        names = {unit.id: unit.name for unit in notice_store.units_with_people(store)} if notice.units else {}
        unit_names = [names.get(unit_id, str(unit_id)) for unit_id in notice.units]
        self.post_message(NoticeLoaded(notice, versions, counts, linked, unit_names))

    @on(NoticeLoaded)
    def show_notice(self, message: NoticeLoaded) -> None:
        notice = message.notice
        self.notice, self.versions, self.counts = notice, message.versions, message.counts
        now = self.coordinator.now()
        self.query_one("#notice-heading", Static).update(plain(notice.subject or _("Notice"), 300))
        fields = [
            Content.assemble(
                (stage_label(notice.status), "bold"),
                " · ",
                plain(kind_label(notice.kind)),
                " · ",
                plain(", ".join(notice.services)),
            ),
            plain(start_line(notice, now)),
        ]
        if notice.expected_end_at:
            fields.append(plain(_("Expected end {time}").format(time=fi_datetime(notice.expected_end_at))))
        if notice.actual_end_at:
            fields.append(plain(_("Ended {time}").format(time=fi_datetime(notice.actual_end_at))))
        fields.append(plain(_("Units: {units}").format(units=", ".join(message.unit_names) or _("all")), 300))
        fields.append(plain(_("Impact: {text}").format(text=notice.impact), 400))
        fields.append(plain(_("Contact: {text}").format(text=notice.contact), 200))
        fields.append(plain(_("Thread Message-ID: {id}").format(id=notice.thread_message_id or "—"), 300))
        if message.linked:
            open_linked = [
                r
                for r in message.linked
                if r.status in ("uusi", "käsittelyssä", "odottaa pyytäjää", "odottaa DigiFinlandia")
            ]
            fields.append(
                plain(
                    count_text("{n} linked request", "{n} linked requests", len(message.linked))
                    + " ("
                    + count_text("{n} open", "{n} open", len(open_linked))
                    + "): "
                    + ", ".join(r.reference for r in message.linked[:8]),
                    300,
                )
            )
        self.query_one("#notice-fields", Static).update(Content("\n").join(fields))
        table = self.query_one("#notice-versions", DataTable)
        keep = table.cursor_row
        table.clear()
        for version in message.versions:
            counts = message.counts.get(version.outbox_id or -1, {})
            state = version.outbox_state or "—"
            sent = fi_datetime(version.sent_at) if version.sent_at else "—"
            if version.outbox_state == "queued" and version.scheduled_at:
                sent = _("at {time}").format(time=fi_datetime(version.scheduled_at))
            table.add_row(
                Text(str(version.number)),
                Text(stage_label(version.status)),
                Text(_(OUTBOX_WORDS.get(state, state)), style=OUTBOX_STYLES.get(state, "")),
                plain_cell(sent),
                Text(
                    " · ".join(
                        str(value)
                        for value in (
                            counts.get("accepted", 0),
                            counts.get("refused", 0),
                            counts.get("unknown", 0),
                            counts.get("pending", 0) + counts.get("retry", 0),
                        )
                    )
                ),
                plain_cell(version.subject),
            )
        if message.versions:
            if self.loaded_at is None:  # first look: a version waiting for a decision, else the newest
                states = [version.outbox_state for version in message.versions]
                keep = states.index("unknown") if "unknown" in states else len(states) - 1
            table.move_cursor(row=min(max(keep, 0), len(message.versions) - 1))
        self._show_version()
        self.loaded_at = now

    def current_version(self) -> VersionRecord | None:
        table = self.query_one("#notice-versions", DataTable)
        if not self.versions or not 0 <= table.cursor_row < len(self.versions):
            return None
        return self.versions[table.cursor_row]

    @on(DataTable.RowHighlighted, "#notice-versions")
    def _version_highlighted(self) -> None:
        self._show_version()

    def _show_version(self) -> None:
        version = self.current_version()
        decision = self.query_one("#notice-decision", Static)
        if version is None:
            decision.update(Content(""))
            self.query_one("#notice-body", Static).update(Content(""))
            return
        text = version.body_fi + (f"\n\n---- På svenska ----\n\n{version.body_sv}" if version.body_sv else "")
        self.query_one("#notice-body", Static).update(plain_block(text))
        counts = self.counts.get(version.outbox_id or -1, {})
        waiting = counts.get("pending", 0) + counts.get("retry", 0)
        if version.outbox_state == "unknown":
            decision.update(
                plain_block(
                    _(
                        "Delivery unknown: the app stopped while the server may have taken it. "
                        "Message-ID {id}.\n"
                        "Check a recipient's inbox (or the server's log) for this Message-ID, then decide: "
                        "m marks it sent; a sends it again to those whose delivery is unknown or who were "
                        "never reached."
                    ).format(id=version.message_id)
                )
            )
        elif version.outbox_state in ("failed", "sent") and waiting:
            decision.update(
                plain(
                    count_text(
                        "{n} recipient was not reached: a sends to them.",
                        "{n} recipients were not reached: a sends to them.",
                        waiting,
                    )
                    + (" " + version.outbox_error if version.outbox_error else ""),
                    1000,
                )
            )
        elif version.outbox_error:
            decision.update(plain(version.outbox_error, 1000))
        else:
            decision.update(Content(""))
        if version.outbox_id is not None:
            self.load_deliveries(version.id, version.outbox_id)

    @work(thread=True, exclusive=True, group="notice-deliveries", exit_on_error=False)
    def load_deliveries(self, version_id: int, outbox_id: int) -> None:
        from store.outbox import deliveries

        store = self.coordinator.store
        assert store is not None
        self.post_message(DeliveriesLoaded(version_id, deliveries(store, outbox_id)))

    @on(DeliveriesLoaded)
    def show_deliveries(self, message: DeliveriesLoaded) -> None:
        from coordinator_tui.screens.noticesend import DELIVERY_STYLES, DELIVERY_WORDS

        version = self.current_version()
        if version is None or version.id != message.version_id:
            return
        table = self.query_one("#notice-deliveries", DataTable)
        table.clear()
        for entry in message.deliveries:
            table.add_row(
                plain_cell(entry.recipient),
                Text(
                    _(DELIVERY_WORDS.get(entry.status, entry.status)),
                    style=DELIVERY_STYLES.get(entry.status, ""),
                ),
                plain_cell(entry.smtp_reply),
            )

    def action_cursor_down(self) -> None:
        focused = self.focused
        if isinstance(focused, DataTable):
            focused.action_cursor_down()

    def action_cursor_up(self) -> None:
        focused = self.focused
        if isinstance(focused, DataTable):
            focused.action_cursor_up()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_update(self) -> None:
        self.open_compose("update", self.notice_id)

    def action_resolve(self) -> None:
        self.open_compose("resolve", self.notice_id)

    # -- the coordinator's decision on a version ---------------------------------------------------

    def action_mark_sent(self) -> None:
        version = self.current_version()
        if version is None or version.outbox_state != "unknown" or version.outbox_id is None:
            self.notify(_("Only a version whose delivery is unknown can be marked sent."), markup=False)
            return
        if not self.busy:
            self.busy = True
            self.decide(version, "mark")

    def action_send_again(self) -> None:
        version = self.current_version()
        if version is None or version.outbox_id is None:
            return
        counts = self.counts.get(version.outbox_id, {})
        waiting = counts.get("pending", 0) + counts.get("retry", 0)
        if version.outbox_state == "unknown" or (version.outbox_state in ("sent", "failed") and waiting):
            if not self.busy:
                self.busy = True
                self.notify(_("Sending…"), markup=False)
                self.decide(version, "again")
            return
        self.notify(_("Nothing to send again: every recipient was dealt with."), markup=False)

    @work(thread=True, exclusive=True, group="notice-decide", name="notice decision", exit_on_error=False)
    def decide(self, version: VersionRecord, what: str) -> None:
        from coordinator_tui.notices import send
        from store import notices as notice_store
        from store import outbox as outbox_store

        app = self.coordinator
        store = app.store
        assert store is not None and version.outbox_id is not None
        try:
            if what == "mark":
                moved = outbox_store.mark_unknown_sent(
                    store, version.outbox_id, "marked sent by the coordinator after an interrupted send"
                )
                notice_store.mark_version_sent(store, version.id)
                self.post_message(
                    DecisionDone(
                        count_text("Marked sent ({n} recipient).", "Marked sent ({n} recipients).", moved),
                        True,
                    )
                )
                return
            if app.context.demo:
                self.post_message(DecisionDone(_("The demo sends nothing."), False))
                return
            config = app.config
            if not config.smtp.host:
                self.post_message(
                    DecisionDone(
                        _("No SMTP server is configured: set [smtp] host in the config file."), False
                    )
                )
                return
            password = ""
            if config.smtp.username:
                secret = app.password_from_worker("smtp", config.smtp.username)
                if secret is None:
                    self.post_message(DecisionDone(_("No SMTP password was given; nothing was sent."), False))
                    return
                password = secret.value
            after_unknown = version.outbox_state == "unknown"
            if after_unknown:
                outbox_store.requeue_unknown(store, version.outbox_id)
            result: NoticeSendResult = send.resume_version(
                store,
                version.id,
                config.smtp,
                password,
                after_unknown=after_unknown,
                max_per_message=config.notices.max_recipients_per_message,
                backoff=config.notices.retry_backoff_seconds,
            )
            from coordinator_tui.screens.noticesend import result_text

            self.post_message(DecisionDone(result_text(result), result.state == "sent"))
        except outbox_store.OutboxStateError:
            self.post_message(
                DecisionDone(
                    _("The version changed meanwhile (another instance?); read again with ctrl+r."), False
                )
            )

    @on(DecisionDone)
    def decision_done(self, message: DecisionDone) -> None:
        self.busy = False
        self.notify(message.text, severity="information" if message.ok else "error", markup=False)
        self.action_refresh()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            if event.worker.group == "notice-decide":
                self.busy = False
            self.coordinator.report_worker_error(event.worker)


# --- the running app's due sends --------------------------------------------------------------------


def announce_due_results(app: CoordinatorApp, results: list[NoticeSendResult]) -> None:
    """(On the app's thread.) Tell the user what the minute's timer sent, and refresh the Notices list."""
    if not results:
        return
    sent = [result for result in results if result.state == "sent"]
    other = [result for result in results if result.state != "sent"]
    if sent:
        app.notify(
            count_text(
                "A scheduled notice version was sent.", "{n} scheduled notice versions were sent.", len(sent)
            ),
            markup=False,
        )
    for result in other:
        app.notify(
            _("A scheduled notice version was not sent: {error}").format(error=result.error or result.state),
            severity="error",
            markup=False,
        )
    screen = app.screen
    if isinstance(screen, (NoticesScreen, NoticeScreen)):
        screen.action_refresh()
