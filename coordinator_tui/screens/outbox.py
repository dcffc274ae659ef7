"""The outbox: what has been sent, is waiting, failed — and in the demo, what would have been sent."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from coordinator_tui.i18n import N_, _
from coordinator_tui.screens.base import translated
from coordinator_tui.timefmt import fi_datetime
from coordinator_tui.widgets.keyfooter import KeyFooter
from coordinator_tui.widgets.safe import plain_block, plain_cell
from store.outbox import DeliveryEntry, OutboxEntry, deliveries, outbox_entries

STATE_NAMES = {
    "demo": N_("demo: not sent"),
    "queued": N_("waiting"),
    "sending": N_("sending"),
    "sent": N_("sent"),
    "failed": N_("failed"),
    "unknown": N_("delivery unknown"),
}


class OutboxLoaded(Message):
    def __init__(self, entries: list[OutboxEntry]) -> None:
        super().__init__()
        self.entries = entries


class DeliveriesLoaded(Message):
    def __init__(self, entry: OutboxEntry, deliveries: list[DeliveryEntry]) -> None:
        super().__init__()
        self.entry = entry
        self.deliveries = deliveries


DELIVERY_NAMES = {
    "pending": N_("not yet tried"),
    "accepted": N_("accepted"),
    "refused": N_("refused"),
    "retry": N_("refused for now (try again later)"),
    "unknown": N_("delivery unknown (may have arrived)"),
}


class OutboxScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape,q", "dismiss", N_("Close"), id="outbox.close"),
        Binding("j", "cursor_down", N_("Down"), id="outbox.down", show=False),
        Binding("k", "cursor_up", N_("Up"), id="outbox.up", show=False),
    ]
    DEFAULT_CSS = """
    OutboxScreen { align: center middle; }
    OutboxScreen > Vertical { width: 95%; height: 85%; border: round $accent; background: $surface; }
    OutboxScreen DataTable { height: 1fr; }
    OutboxScreen #outbox-detail { height: auto; max-height: 10; padding: 0 1; border-top: solid $panel; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self._entries: dict[str, OutboxEntry] = {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(_("Outbox")), classes="heading")
            yield Static(Content(""), id="outbox-intro", classes="intro")
            yield DataTable(id="outbox-rows", cursor_type="row", zebra_stripes=True)
            yield Static(Content(""), id="outbox-detail")
        yield KeyFooter()

    def on_mount(self) -> None:
        if getattr(self.app, "context", None) is not None and self.app.context.demo:  # type: ignore[attr-defined]
            intro = _("Demo: these messages were stored here instead of being sent.")
        else:
            intro = _("Every message is stored here before it is sent.")
        self.query_one("#outbox-intro", Static).update(Content(intro))
        table = self.query_one("#outbox-rows", DataTable)
        for column in (_("Created"), _("State"), _("Kind"), _("Recipients"), _("Subject")):
            table.add_column(plain_cell(column))
        table.focus()
        self.load()

    @work(thread=True, exclusive=True, group="outbox", exit_on_error=False)
    def load(self) -> None:
        store = self.app.store  # type: ignore[attr-defined]
        if store is not None:
            self.post_message(OutboxLoaded(outbox_entries(store)))

    @on(OutboxLoaded)
    def show(self, message: OutboxLoaded) -> None:
        table = self.query_one("#outbox-rows", DataTable)
        table.clear()
        self._entries = {str(entry.id): entry for entry in message.entries}
        for entry in message.entries:
            table.add_row(*self._cells(entry), key=str(entry.id))
        self.loaded = True

    def _cells(self, entry: OutboxEntry) -> tuple[Text, ...]:
        return (
            plain_cell(fi_datetime(entry.created_at)),
            Text(_(STATE_NAMES.get(entry.state, entry.state))),
            plain_cell(entry.kind),
            plain_cell(str(len(entry.recipients))),
            plain_cell(entry.subject),
        )

    @on(DataTable.RowHighlighted, "#outbox-rows")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        entry = self._entries.get(event.row_key.value or "")
        if entry is not None:
            self.load_deliveries(entry)

    @work(thread=True, exclusive=True, group="outbox-detail", exit_on_error=False)
    def load_deliveries(self, entry: OutboxEntry) -> None:
        store = self.app.store  # type: ignore[attr-defined]
        if store is not None:
            self.post_message(DeliveriesLoaded(entry, deliveries(store, entry.id)))

    @on(DeliveriesLoaded)
    def show_deliveries(self, message: DeliveriesLoaded) -> None:
        """The highlighted message's reason for failing and each recipient's answer."""
        lines = []
        if message.entry.error:
            lines.append(_("Note: {error}").format(error=message.entry.error))
        for delivery in message.deliveries:
            status = _(DELIVERY_NAMES.get(delivery.status, delivery.status))
            reply = f" ({delivery.smtp_reply})" if delivery.smtp_reply else ""
            lines.append(f"{delivery.recipient}: {status}{reply}")
        if not lines:
            lines.append(_("Recipients: {recipients}").format(recipients=", ".join(message.entry.recipients)))
        self.query_one("#outbox-detail", Static).update(plain_block("\n".join(lines)))

    def action_cursor_down(self) -> None:
        self.query_one("#outbox-rows", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#outbox-rows", DataTable).action_cursor_up()

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        self.dismiss(result)
