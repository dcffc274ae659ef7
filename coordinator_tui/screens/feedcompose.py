"""Passing feed items on: the compose screen with a directory list in Bcc, and the forward recorded.

The editor, its checks (the henkilötunnus guard first) and its keys are the compose screen's own;
this adds the list whose members get the message in Bcc, and records every item of it in
FeedForward as the message enters the outbox, so the item shows it was passed on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from coordinator_tui.feeds.forward import ListChoice
from coordinator_tui.i18n import N_, _
from coordinator_tui.mail.compose import Draft, DraftError, envelope_recipients
from coordinator_tui.screens.compose import ComposeScreen, SendFinished
from coordinator_tui.widgets.safe import plain, plain_block

if TYPE_CHECKING:
    from coordinator_tui.oauth2 import TokenSource

HEADINGS = {"forward": N_("Passing an item on"), "digest": N_("A digest of the selected items")}


@dataclass
class ListResolved(Message):
    name: str
    choice: ListChoice


class ForwardAgainQuestion(ModalScreen[bool]):
    """y sends again; n or escape does not."""

    DEFAULT_CSS = """
    ForwardAgainQuestion { align: center middle; }
    ForwardAgainQuestion > Vertical {
        width: 80; height: auto; border: round $warning; background: $surface; padding: 1 2;
    }
    """

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__()
        self.lines = list(lines)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(_("Already passed on. Send again?")), classes="heading", id="again-heading")
            yield Static(plain_block("\n".join(self.lines[:12])), id="again-lines")
            yield Static(Content(_("y: write it again · n or escape: no")), classes="intro")

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        if event.key in ("y", "k", "enter"):  # k = kyllä
            self.dismiss(True)
        elif event.key in ("n", "e", "escape"):  # e = ei
            self.dismiss(False)


class FeedForwardScreen(ComposeScreen):
    """Compose a forward (or a digest) of feed items to a directory list, its members in Bcc."""

    AUTO_FOCUS = ""

    def __init__(self, draft: Draft, *, item_ids: Sequence[int], choice: ListChoice, kind: str) -> None:
        super().__init__(draft)
        self.item_ids = list(item_ids)
        self.choice = choice
        self.kind = kind  # forward or digest: the outbox row's kind
        self.resolving = False
        self.outbox_id: int | None = None  # set once the message is in the outbox

    def on_mount(self) -> None:
        # Runs before ComposeScreen.on_mount (Textual calls each class's handler, subclass first).
        grid = self.query_one("#compose-fields", Grid)
        grid.mount(
            Static(Content(_("List (Bcc)")), classes="label"),
            Input(self.choice.name, id="compose-list", placeholder=_("A list of the directory")),
        )
        self.mount(Static(Content(""), id="compose-bcc"), after="#compose-fields")
        self.call_after_refresh(self._after_mount)

    def _after_mount(self) -> None:
        self.sub_title = _(HEADINGS.get(self.kind, HEADINGS["forward"]))
        self.query_one("#compose-heading", Static).update(
            Content(
                _(HEADINGS.get(self.kind, HEADINGS["forward"]))
                + (" · " + _("demo: stored in the outbox, nothing is sent") if self.demo else "")
            )
        )
        # The editor's own "goes to" line counts To and Cc only; this screen's line counts the Bcc too.
        self.query_one("#compose-recipients", Static).display = False
        self._show_bcc()
        self.query_one("#compose-body").focus()

    def _show_bcc(self) -> None:
        found = self.query("#compose-bcc")
        if not found:
            return
        widget = found.first(Static)
        if self.resolving:
            widget.update(Content(_("Reading the list…")))
        elif self.choice.problem:
            widget.update(plain(self.choice.problem, limit=400))
        else:
            try:
                to = ", ".join(envelope_recipients(self.current_draft())) or "—"
            except DraftError as error:
                to = str(error)
            text = _("To: {to} · Bcc: the list {name}, {count} addresses (they do not see each other)")
            widget.update(
                plain(text.format(to=to, name=self.choice.name, count=len(self.choice.addresses)), limit=600)
            )

    @on(Input.Changed, "#compose-to")
    def to_changed(self) -> None:
        self._show_bcc()

    @on(Input.Changed, "#compose-list")
    def list_changed(self, event: Input.Changed) -> None:
        self.resolving = True
        self._show_bcc()
        self.resolve_list(event.value)

    @work(thread=True, exclusive=True, group="compose-list", exit_on_error=False)
    def resolve_list(self, name: str) -> None:
        from coordinator_tui.feeds.forward import resolve_list

        store = self.coordinator.store
        assert store is not None
        self.post_message(ListResolved(name, resolve_list(store, name)))

    @on(ListResolved)
    def list_resolved(self, message: ListResolved) -> None:
        if message.name != self.query_one("#compose-list", Input).value:
            return  # typed on meanwhile
        self.resolving = False
        self.choice = message.choice
        self._show_bcc()

    def changed(self) -> bool:
        return True  # a forward is built, not typed: escape still asks, so a draft is never lost silently

    def check(self, draft: Draft) -> str:
        problem = super().check(draft)
        if problem:
            return problem
        if self.resolving:
            return _("Wait a moment: the list is still being read.")
        return self.choice.problem

    def _recipients(self, draft: Draft) -> list[str]:
        seen: set[str] = set()
        out: list[str] = []
        for address in [*envelope_recipients(draft), *self.choice.addresses]:
            if address.casefold() not in seen:
                seen.add(address.casefold())
                out.append(address)
        return out

    def _record(self, outbox_id: int) -> None:
        from store.feeds import record_forwards

        store = self.coordinator.store
        assert store is not None
        self.outbox_id = outbox_id
        record_forwards(
            store,
            self.item_ids,
            list_id=self.choice.list_id,
            outbox_id=outbox_id,
            sent_at=self.coordinator.now(),
        )

    @work(thread=True, exclusive=True, group="compose-send", exit_on_error=False)
    def send(self, draft: Draft, attachment: bytes | None) -> None:
        from coordinator_tui.mail.compose import build_message
        from coordinator_tui.outgoing import DEMO_DOMAIN, queue_message

        app = self.coordinator
        store = app.store
        assert store is not None
        config = app.config
        recipients = self._recipients(draft)
        if self.demo:
            from coordinator_tui.demo.data import SHARED_MAILBOX, SHARED_MAILBOX_NAME

            message = build_message(
                draft,
                from_address=config.smtp.from_address or SHARED_MAILBOX,
                from_name=SHARED_MAILBOX_NAME,
                now=app.now(),
                message_id_domain=DEMO_DOMAIN,
            )
            self._record(queue_message(store, message, recipients, kind=self.kind, demo=True))
            self.post_message(
                SendFinished("demo", _("Demo: the message was stored in the outbox and not sent."))
            )
            return
        try:
            message = build_message(
                draft, from_address=config.smtp.from_address, from_name=config.smtp.from_name
            )
        except DraftError as error:
            self.post_message(SendFinished("cancelled", str(error)))
            return
        if not config.smtp.host:
            self.post_message(
                SendFinished(
                    "cancelled", _("No SMTP server is configured: set [smtp] host in the config file.")
                )
            )
            return
        password: str | TokenSource = ""  # a password, or with [smtp] auth = "oauth2" a token source
        if config.smtp.username:
            secret = app.password_from_worker("smtp", config.smtp.username)
            if secret is None:
                self.post_message(
                    SendFinished("cancelled", _("No SMTP password was given; nothing was sent."))
                )
                return
            password = secret.value
        from coordinator_tui.mail.send import file_sent_copy, send_outbox
        from store.outbox import note_outbox_error

        outbox_id = queue_message(store, message, recipients, kind=self.kind, demo=False)
        self._record(outbox_id)  # in the outbox: passed on, whatever SMTP says next
        result = send_outbox(store, outbox_id, config.smtp, password)
        if result.state != "sent":
            self.post_message(SendFinished(result.state, result.error, result))
            return
        text = _("Sent to {count} recipient(s).").format(count=len(result.accepted))
        if result.error:
            text += " " + result.error
        if config.imap.host:
            imap_secret = app.password_from_worker("imap", config.imap.username)
            if imap_secret is None:
                result.sent_copy_error = _("The copy in Sent was not saved: no IMAP password was given.")
            else:
                result.sent_copy_error = file_sent_copy(
                    store, config.imap, imap_secret.value, message.as_bytes()
                )
        if result.sent_copy_error:
            note_outbox_error(store, outbox_id, result.sent_copy_error)
            text += " " + result.sent_copy_error
        self.post_message(SendFinished("sent", text, result))
