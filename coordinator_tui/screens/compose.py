"""Writing a message: a new one, a reply, a reply to all or a forward, with canned replies.

ctrl+s sends (through the outbox), ctrl+t picks a canned reply, escape cancels (asking first when
something was typed). Before anything is queued the text is checked: a valid henkilötunnus, an
unfilled placeholder or an address that is not one stops it here, with the reason on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from coordinator_tui.i18n import N_, _
from coordinator_tui.mail.canned import (
    PLACEHOLDERS,
    CannedError,
    CannedReply,
    filter_replies,
    render,
    unfilled_placeholders,
    unknown_placeholders,
)
from coordinator_tui.mail.compose import (
    OUTBOX_KIND,
    Draft,
    DraftError,
    envelope_recipients,
    hetu_block_message,
    hetu_in_draft,
    hetu_in_original,
    parse_recipients,
)
from coordinator_tui.screens.base import translated
from coordinator_tui.textclean import clean_line, clean_text
from coordinator_tui.widgets.keyfooter import KeyFooter
from coordinator_tui.widgets.safe import plain, plain_block

if TYPE_CHECKING:
    from email.message import EmailMessage

    from coordinator_tui.app import CoordinatorApp
    from coordinator_tui.mail.send import SendResult

HEADINGS = {
    "new": N_("New message"),
    "reply": N_("Your reply"),
    "reply_all": N_("Your reply to all"),
    "forward": N_("Forwarding"),
}
LANGUAGE_NAMES = {"fi": N_("Finnish"), "sv": N_("Swedish")}


@dataclass(frozen=True)
class SendHooks:
    """What the screen that opened the editor does around the send, in the send worker.

    ``prepare`` adjusts the built message before it enters the outbox (e.g. a Message-ID that
    names a request); ``sent`` runs once it has gone (or was stored in the demo outbox) and
    returns a note for the user, "" when all went well. A failure in either is said, never raised.
    """

    prepare: Callable[[EmailMessage], None] | None = None
    sent: Callable[[EmailMessage], str] | None = None


# --- messages from the workers -------------------------------------------------------------------


@dataclass
class AttachmentReady(Message):
    raw: bytes | None
    note: str


@dataclass
class CannedLoaded(Message):
    replies: list[CannedReply]
    problems: list[str]


@dataclass
class SendFinished(Message):
    """The worker is done: ``outcome`` is demo, sent, failed, unknown, or cancelled."""

    outcome: str
    text: str
    result: SendResult | None = None


# --- the canned-reply picker and the discard question ------------------------------------------------


class CannedPicker(ModalScreen[CannedReply | None]):
    """Type to filter; enter picks; escape closes."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "cancel", N_("Cancel"), id="canned.cancel"),
        Binding("down", "down", N_("Down"), id="canned.down", show=False),
        Binding("up", "up", N_("Up"), id="canned.up", show=False),
    ]
    DEFAULT_CSS = """
    CannedPicker { align: center middle; }
    CannedPicker > Vertical {
        width: 90%; max-width: 100; height: 80%; border: round $accent; background: $surface; padding: 0 1;
    }
    CannedPicker OptionList { height: 1fr; }
    CannedPicker #canned-preview { height: 8; color: $text-muted; }
    """

    def __init__(self, replies: list[CannedReply], problems: list[str]) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.replies = replies
        self.problems = problems
        self.shown: list[CannedReply] = list(replies)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(_("Canned replies")), classes="heading")
            yield Input(placeholder=_("Filter: a word of the name or text, fi or sv"), id="canned-filter")
            yield OptionList(id="canned-list")
            yield Static(Content(""), id="canned-preview")
            if self.problems:
                yield Static(plain_block("\n".join(self.problems)), classes="intro")
            yield Static(Content(_("enter: insert · escape: cancel")), classes="intro")

    def on_mount(self) -> None:
        self._fill()
        self.query_one("#canned-filter", Input).focus()

    def _fill(self) -> None:
        options = self.query_one("#canned-list", OptionList)
        options.clear_options()
        options.add_options(
            Option(
                Content.assemble(
                    (f"{reply.language}  ", "bold $accent"),
                    plain(reply.title),
                    (f"  {_(LANGUAGE_NAMES.get(reply.language, reply.language))}", "dim"),
                )
            )
            for reply in self.shown
        )
        if self.shown:
            options.highlighted = 0
        self._preview()

    def _preview(self) -> None:
        options = self.query_one("#canned-list", OptionList)
        index = options.highlighted
        text = self.shown[index].text if index is not None and index < len(self.shown) else ""
        self.query_one("#canned-preview", Static).update(plain_block(text))

    @on(Input.Changed, "#canned-filter")
    def refilter(self, event: Input.Changed) -> None:
        self.shown = filter_replies(self.replies, event.value)
        self._fill()

    @on(OptionList.OptionHighlighted)
    def highlighted(self) -> None:
        self._preview()

    @on(Input.Submitted, "#canned-filter")
    def submit_from_filter(self) -> None:
        self._pick(self.query_one("#canned-list", OptionList).highlighted)

    @on(OptionList.OptionSelected)
    def selected(self, event: OptionList.OptionSelected) -> None:
        self._pick(event.option_index)

    def _pick(self, index: int | None) -> None:
        if index is not None and 0 <= index < len(self.shown):
            self.dismiss(self.shown[index])

    def action_down(self) -> None:
        self.query_one("#canned-list", OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one("#canned-list", OptionList).action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)


class DiscardQuestion(ModalScreen[bool]):
    """y discards the draft; n or escape goes back to it."""

    DEFAULT_CSS = """
    DiscardQuestion { align: center middle; }
    DiscardQuestion > Vertical {
        width: 60; height: auto; border: round $warning; background: $surface; padding: 1 2;
    }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(_("Discard this message? Nothing has been sent.")), classes="heading")
            yield Static(Content(_("y: discard · n or escape: keep writing")), classes="intro")

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        if event.key in ("y", "k", "enter"):  # k = kyllä
            self.dismiss(True)
        elif event.key in ("n", "e", "escape"):  # e = ei
            self.dismiss(False)


# --- the compose screen --------------------------------------------------------------------------


class ComposeScreen(Screen[None]):
    """Edit a :class:`Draft` and send it."""

    AUTO_FOCUS = ""  # none: on_mount chooses the text for a reply, To for a forward

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("ctrl+s", "send", N_("Send"), id="compose.send", priority=True, tooltip=N_("Send now")),
        Binding(
            "ctrl+t",
            "canned",
            N_("Canned reply"),
            id="compose.canned",
            priority=True,
            tooltip=N_("Insert a Finnish or Swedish canned reply"),
        ),
        Binding("escape", "cancel", N_("Cancel"), id="compose.cancel"),
    ]
    DEFAULT_CSS = """
    ComposeScreen { layout: vertical; }
    ComposeScreen #compose-fields {
        grid-size: 2; grid-columns: 17 1fr; grid-rows: 1; grid-gutter: 0 0; height: auto; margin: 1 0;
    }
    ComposeScreen .label { padding: 0 1; text-align: right; color: $text-muted; }
    ComposeScreen #compose-fields Input { border: none; height: 1; padding: 0 1; background: $boost; }
    ComposeScreen #compose-fields Input:focus { background: $accent 25%; }
    ComposeScreen #compose-recipients { padding: 0 1; height: auto; }
    ComposeScreen #compose-note { padding: 0 1; height: auto; color: $text-muted; }
    ComposeScreen #compose-problem { padding: 0 1; height: auto; color: $error; text-style: bold; }
    ComposeScreen #compose-body { height: 1fr; }
    """

    def __init__(self, draft: Draft, hooks: SendHooks | None = None) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.hooks = hooks or SendHooks()
        # What a draft carries came from a stranger's mail: no escapes or bidi tricks in the fields.
        self.draft = replace(
            draft,
            to=clean_line(draft.to, limit=10_000),
            cc=clean_line(draft.cc, limit=10_000),
            subject=clean_line(draft.subject, limit=998),
            body=clean_text(draft.body),
        )
        self.attachment: bytes | None = None
        self.sending = False
        self.canned: tuple[list[CannedReply], list[str]] | None = None
        self._pick_when_loaded = False
        self.problem = ""  # what stops sending now, as shown
        self.fetching = False  # the forwarded original is on its way

    @property
    def coordinator(self) -> CoordinatorApp:
        from coordinator_tui.app import CoordinatorApp

        assert isinstance(self.app, CoordinatorApp)
        return self.app

    @property
    def demo(self) -> bool:
        return bool(self.coordinator.context.demo)

    def compose(self) -> ComposeResult:
        heading = _(HEADINGS.get(self.draft.kind, HEADINGS["new"]))
        if self.demo:
            heading += " · " + _("demo: stored in the outbox, nothing is sent")
        yield Static(Content(heading), classes="heading", id="compose-heading")
        with Grid(id="compose-fields"):
            yield Static(Content(_("To")), classes="label")
            yield Input(self.draft.to, id="compose-to")
            yield Static(Content(_("Cc")), classes="label")
            yield Input(self.draft.cc, id="compose-cc")
            yield Static(Content(_("Subject")), classes="label")
            yield Input(self.draft.subject, id="compose-subject")
        yield Static(Content(""), id="compose-recipients")
        yield Static(Content(""), id="compose-note")
        yield Static(Content(""), id="compose-problem")
        with Horizontal(id="compose-editor"):
            yield TextArea(
                self.draft.body,
                id="compose-body",
                soft_wrap=True,
                show_line_numbers=False,
                placeholder=_("Write the message here; ctrl+t inserts a canned reply."),
            )
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = _(HEADINGS.get(self.draft.kind, HEADINGS["new"]))
        self._show_recipients()
        notes = []
        if self.draft.kind in ("reply", "reply_all"):
            notes.append(_("The original message is not quoted."))
        if self.draft.kind == "forward" and self.draft.source_has_attachments:
            if self.demo:
                notes.append(_("Attachments are not included (demo)."))
            else:
                notes.append(_("Fetching the original with its attachments…"))
                self.fetching = True
                self.fetch_original()
        self._set_note(" ".join(notes))
        # A reply starts in the text; a forward or a new message in To.
        self.query_one("#compose-body" if self.draft.to else "#compose-to").focus()
        self.load_canned()

    # -- what is shown ---------------------------------------------------------------------------

    def _set_note(self, text: str) -> None:
        self.query_one("#compose-note", Static).update(plain(text, limit=1000))

    def _set_problem(self, text: str) -> None:
        self.problem = text
        self.query_one("#compose-problem", Static).update(plain_block(text))

    def current_draft(self) -> Draft:
        return replace(
            self.draft,
            to=self.query_one("#compose-to", Input).value,
            cc=self.query_one("#compose-cc", Input).value,
            subject=self.query_one("#compose-subject", Input).value,
            body=self.query_one("#compose-body", TextArea).text,
        )

    @on(Input.Changed, "#compose-to")
    @on(Input.Changed, "#compose-cc")
    def _show_recipients(self) -> None:
        widget = self.query_one("#compose-recipients", Static)
        try:
            recipients = envelope_recipients(self.current_draft())
        except DraftError as error:
            widget.update(plain(str(error)))
            return
        if not recipients:
            widget.update(Content(_("No recipients yet.")))
            return
        shown = ", ".join(recipients[:8]) + (" …" if len(recipients) > 8 else "")
        widget.update(
            plain(_("Goes to {count}: {recipients}").format(count=len(recipients), recipients=shown), 1000)
        )

    def changed(self) -> bool:
        current = self.current_draft()
        return (current.to, current.cc, current.subject, current.body) != (
            self.draft.to,
            self.draft.cc,
            self.draft.subject,
            self.draft.body,
        )

    # -- cancel ----------------------------------------------------------------------------------

    def action_cancel(self) -> None:
        if self.sending:
            self.notify(_("Sending is under way; wait for it to finish."), markup=False)
            return
        if not self.changed():
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(DiscardQuestion(), answered)

    # -- canned replies --------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="compose-canned", exit_on_error=False)
    def load_canned(self) -> None:
        from coordinator_tui.mail.canned import load_replies

        replies, problems = load_replies()
        self.post_message(CannedLoaded(replies, problems))

    @on(CannedLoaded)
    def canned_loaded(self, message: CannedLoaded) -> None:
        self.canned = (message.replies, message.problems)
        if self._pick_when_loaded:
            self._pick_when_loaded = False
            self.action_canned()

    def action_canned(self) -> None:
        if self.canned is None:
            self._pick_when_loaded = True
            return
        replies, problems = self.canned
        self.app.push_screen(CannedPicker(replies, problems), self._insert_canned)

    def _insert_canned(self, reply: CannedReply | None) -> None:
        if reply is None:
            return
        try:
            rendered = render(reply, self.draft.placeholder_values)
        except CannedError as error:
            self._set_problem(str(error))
            return
        body = self.query_one("#compose-body", TextArea)
        if body.text.strip():
            body.insert(rendered.text)
        else:
            body.load_text(rendered.text)
        body.focus()
        if rendered.unfilled:
            names = ", ".join("{" + name + "}" for name in rendered.unfilled)
            self._set_problem(_("Fill in {placeholders} before sending.").format(placeholders=names))
        else:
            self._set_problem("")

    # -- the forwarded original ------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="compose-original", exit_on_error=False)
    def fetch_original(self) -> None:
        app = self.coordinator
        store = app.store
        section = app.config.imap
        source = self.draft.source_message_id
        raw: bytes | None = None
        note = ""
        from coordinator_tui.mail.ondemand import RAW_LIMIT, fetch_raw

        if store is None or source is None or not section.host:
            note = _("Attachments are not included: the original cannot be fetched from the server.")
        else:
            secret = app.password_from_worker("imap", section.username)
            if secret is None:
                note = _("Attachments are not included: no IMAP password was given.")
            else:
                try:
                    raw = fetch_raw(store, section, secret.value, source)
                except Exception as error:  # any failure leaves the forward usable without them
                    note = _("Attachments are not included: {error}").format(error=error)
                else:
                    if len(raw) >= RAW_LIMIT:  # fetch_raw stops there: a cut message cannot be attached
                        raw = None
                        note = _("Attachments are not included: the original message is too large.")
                    elif hetu_in_original(raw):
                        raw = None
                        note = _(
                            "Attachments are not included: the original message contains a personal "
                            "identity code (henkilötunnus)."
                        )
                    else:
                        note = _("The original message is attached with its attachments ({size} kB).").format(
                            size=max(1, len(raw) // 1024)
                        )
        self.post_message(AttachmentReady(raw, note))

    @on(AttachmentReady)
    def attachment_ready(self, message: AttachmentReady) -> None:
        self.fetching = False
        self.attachment = message.raw
        self._set_note(message.note)

    # -- send ------------------------------------------------------------------------------------

    def check(self, draft: Draft) -> str:
        """Why ``draft`` cannot go ("" when it can). Runs before anything is queued."""
        matches = hetu_in_draft(draft)
        if matches:
            return hetu_block_message(matches)
        unfilled = unfilled_placeholders(draft.subject + "\n" + draft.body)
        if unfilled:
            return _("Fill in {placeholders} before sending.").format(placeholders=", ".join(unfilled))
        unknown = unknown_placeholders(draft.subject + "\n" + draft.body)
        if unknown:
            return _(
                "{placeholders} is not a placeholder the app knows ({known}); fill it in or remove it "
                "before sending."
            ).format(
                placeholders=", ".join(unknown), known=", ".join("{" + name + "}" for name in PLACEHOLDERS)
            )
        try:
            if not parse_recipients(draft.to) and not parse_recipients(draft.cc):
                return _("Add at least one recipient (To).")
        except DraftError as error:
            return str(error)
        if not draft.subject.strip():
            return _("Write a subject.")
        if self.fetching:
            return _("Wait a moment: the original message is still being fetched.")
        return ""

    def action_send(self) -> None:
        if self.sending:
            return
        draft = self.current_draft()
        problem = self.check(draft)
        if problem:
            self._set_problem(problem)
            self.app.bell()
            return
        self._set_problem("")
        self.sending = True
        self.query_one("#compose-recipients", Static).update(Content(_("Sending…")))
        self.send(draft, self.attachment)

    @work(thread=True, exclusive=True, group="compose-send", exit_on_error=False)
    def send(self, draft: Draft, attachment: bytes | None) -> None:
        from coordinator_tui.mail.compose import build_message
        from coordinator_tui.outgoing import DEMO_DOMAIN, queue_message

        app = self.coordinator
        store = app.store
        assert store is not None
        config = app.config
        kind = OUTBOX_KIND.get(draft.kind, "mail")
        if self.demo:
            from coordinator_tui.demo.data import SHARED_MAILBOX, SHARED_MAILBOX_NAME

            message = build_message(
                draft,
                from_address=config.smtp.from_address or SHARED_MAILBOX,
                from_name=SHARED_MAILBOX_NAME,
                now=app.now(),
                message_id_domain=DEMO_DOMAIN,
                attachment=attachment,
            )
            if self.hooks.prepare is not None:
                self.hooks.prepare(message)
            queue_message(store, message, envelope_recipients(draft), kind=kind, demo=True)
            text = _("Demo: the message was stored in the outbox and not sent.")
            self.post_message(SendFinished("demo", (text + " " + self._after_sent(message)).strip()))
            return
        try:
            message = build_message(
                draft,
                from_address=config.smtp.from_address,
                from_name=config.smtp.from_name,
                attachment=attachment,
            )
        except DraftError as error:
            self.post_message(SendFinished("cancelled", str(error)))
            return
        if self.hooks.prepare is not None:
            self.hooks.prepare(message)
        if not config.smtp.host:
            self.post_message(
                SendFinished(
                    "cancelled", _("No SMTP server is configured: set [smtp] host in the config file.")
                )
            )
            return
        password = ""
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

        outbox_id = queue_message(store, message, envelope_recipients(draft), kind=kind, demo=False)
        result = send_outbox(store, outbox_id, config.smtp, password)
        if result.state != "sent":
            self.post_message(SendFinished(result.state, result.error, result))
            return
        text = _("Sent to {count} recipient(s).").format(count=len(result.accepted))
        if result.error:
            text += " " + result.error
        recorded = self._after_sent(message)
        if recorded:
            text += " " + recorded
        if config.imap.host:
            imap_secret = app.password_from_worker("imap", config.imap.username)
            if imap_secret is None:
                result.sent_copy_error = _("The copy in Sent was not saved: no IMAP password was given.")
            else:
                answered = draft.source_message_id if draft.kind in ("reply", "reply_all") else None
                result.sent_copy_error = file_sent_copy(
                    store, config.imap, imap_secret.value, message.as_bytes(), answered_message_id=answered
                )
        else:
            result.sent_copy_error = _("The copy in Sent was not saved: no IMAP server is configured.")
        if result.sent_copy_error:
            note_outbox_error(store, outbox_id, result.sent_copy_error)
            text += " " + result.sent_copy_error
        self.post_message(SendFinished("sent", text, result))

    def _after_sent(self, message: EmailMessage) -> str:
        """The caller's ``sent`` hook (worker only); its note, or the reason it failed."""
        if self.hooks.sent is None:
            return ""
        try:
            return self.hooks.sent(message)
        except Exception as error:  # the message has gone: say what was not recorded, never raise
            return _("The message went, but recording it failed: {error}").format(error=error)

    @on(SendFinished)
    def send_finished(self, message: SendFinished) -> None:
        self.sending = False
        if message.outcome in ("demo", "sent"):
            warning = message.result is not None and bool(
                message.result.sent_copy_error or message.result.error
            )
            title = _("Message sent") if message.outcome == "sent" else _("Stored in the outbox")
            self.app.notify(
                message.text, title=title, severity="warning" if warning else "information", markup=False
            )
            if message.outcome == "sent":
                self.coordinator.mail_version += 1
            self.dismiss(None)
            return
        self._show_recipients()
        if message.outcome == "unknown":
            self._set_problem(message.text)
        elif message.outcome == "failed":
            self._set_problem(
                _("Not sent: {reason} The message is in the outbox as failed; ctrl+s tries again.").format(
                    reason=message.text
                )
            )
        else:
            self._set_problem(message.text)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            if event.worker.group == "compose-original":
                self.fetching = False
                self._set_note(
                    _("Attachments are not included: the original cannot be fetched from the server.")
                )
            if event.worker.group == "compose-send":
                self.sending = False
                self._show_recipients()
                self._set_problem(_("Sending failed: {error}").format(error=event.worker.error))
            self.coordinator.report_worker_error(event.worker)
