"""Sending a version of a notice: the confirmation, then a progress bar and one row per recipient.

The worker queues the version (notice, version and outbox row with every recipient committed
before the first byte) and sends it through ``notices.send``; a second worker reads the
deliveries from the store while it runs, so the table shows each recipient's answer as it comes.
After a resolved version, the open requests linked to the notice are offered a reply and closing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, ProgressBar, Static
from textual.worker import Worker, WorkerState, get_current_worker

from coordinator_tui.i18n import N_, _, count_text
from coordinator_tui.notices.compose import NoticeDraft
from coordinator_tui.notices.recipients import Choice
from coordinator_tui.screens.base import translated
from coordinator_tui.widgets.keyfooter import KeyFooter
from coordinator_tui.widgets.safe import plain, plain_block, plain_cell

if TYPE_CHECKING:
    from coordinator_tui.app import CoordinatorApp
    from coordinator_tui.notices.send import NoticeSendResult
    from store.notices import LinkedRequest

POLL_SECONDS = 0.5  # the table follows the store; more often only slows the sender down
DELIVERY_WORDS = {
    "pending": N_("waiting"),
    "accepted": N_("accepted"),
    "refused": N_("refused"),
    "retry": N_("put off (4xx)"),
    "unknown": N_("unknown"),
    "demo": N_("demo, not sent"),
    "scheduled": N_("scheduled"),
}
DELIVERY_STYLES = {"accepted": "green", "refused": "bold red", "retry": "yellow", "unknown": "bold yellow"}


@dataclass
class SendJob:
    mode: str
    notice_id: int | None
    draft: NoticeDraft
    choice: Choice
    message_id: str
    scheduled_at: datetime | None
    from_address: str
    from_name: str
    to_address: str
    recipients: list[str]
    number: int
    subject: str
    draft_key: str = ""


class ConfirmSend(ModalScreen[bool]):
    """The last question: how many people, which lists, which languages. y or enter sends."""

    DEFAULT_CSS = """
    ConfirmSend { align: center middle; }
    ConfirmSend > Vertical {
        width: 80; height: auto; border: round $accent; background: $surface; padding: 1 2;
    }
    ConfirmSend #confirm-warnings { color: $warning; height: auto; margin-top: 1; }
    """

    def __init__(self, question: str, warnings: list[str]) -> None:
        super().__init__()
        self.question = question
        self.warnings = warnings

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(plain_block(self.question), classes="heading", id="confirm-question")
            if self.warnings:
                yield Static(plain_block("\n".join("⚠ " + w for w in self.warnings)), id="confirm-warnings")
            yield Static(Content(_("y or enter: send · n or escape: back to the notice")), classes="intro")

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        if event.key in ("y", "k", "enter"):
            self.dismiss(True)
        elif event.key in ("n", "e", "escape"):
            self.dismiss(False)


class LinkedQuestion(ModalScreen[bool]):
    """After a resolve: reply to the linked requests with the resolved text and close them?"""

    DEFAULT_CSS = """
    LinkedQuestion { align: center middle; }
    LinkedQuestion > Vertical {
        width: 84; height: auto; max-height: 80%; border: round $accent; background: $surface; padding: 1 2;
    }
    """

    def __init__(self, requests: list[LinkedRequest]) -> None:
        super().__init__()
        self.requests = requests

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Content(
                    count_text(
                        "{n} open request is linked to this notice. Reply to it with the resolved text "
                        "and close it?",
                        "{n} open requests are linked to this notice. Reply to each with the resolved "
                        "text and close them?",
                        len(self.requests),
                    )
                ),
                classes="heading",
                id="linked-question",
            )
            lines = [
                f"{request.reference}  {request.title}  <{request.requester_email or '?'}>"
                for request in self.requests[:12]
            ]
            if len(self.requests) > 12:
                lines.append("…")
            yield Static(plain_block("\n".join(lines)), classes="intro")
            yield Static(
                Content(_("y: reply and close · n or escape: leave them as they are")), classes="intro"
            )

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        if event.key in ("y", "k"):
            self.dismiss(True)
        elif event.key in ("n", "e", "escape"):
            self.dismiss(False)


# --- messages from the workers -----------------------------------------------------------------------


@dataclass
class Queued(Message):
    notice_id: int
    version_id: int
    outbox_id: int
    recipients: list[str]


@dataclass
class DeliveriesRead(Message):
    statuses: dict[str, tuple[str, str]]


@dataclass
class SendDone(Message):
    outcome: str  # sent, failed, unknown, demo, scheduled, refused, cancelled
    text: str
    result: NoticeSendResult | None = None


@dataclass
class LinkedFound(Message):
    requests: list[LinkedRequest]
    resolved_text: str


@dataclass
class LinkedDone(Message):
    text: str


@dataclass
class Progress:
    outbox_id: int | None = None
    done: bool = False
    statuses: dict[str, tuple[str, str]] = field(default_factory=dict)


class SendProgressScreen(Screen[None]):
    """A version on its way: the progress bar and each recipient's answer; escape when it is done."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "close", N_("Close"), id="noticesend.close"),
    ]
    DEFAULT_CSS = """
    SendProgressScreen #ns-summary { height: auto; padding: 0 1; }
    SendProgressScreen #ns-bar { margin: 1 1; }
    SendProgressScreen #ns-result { height: auto; padding: 0 1; text-style: bold; }
    SendProgressScreen #ns-table { height: 1fr; margin: 1 1 0 1; }
    """

    def __init__(self, job: SendJob) -> None:
        super().__init__()
        self._bindings = translated(self._bindings)
        self.job = job
        self.progress = Progress()
        self.keys = {address.casefold() for address in job.recipients}
        self.statuses: dict[str, tuple[str, str]] = {}
        self.finished = False
        self.outcome = ""
        self.linked_text = ""
        self.notice_id = job.notice_id
        self.loaded_at: datetime | None = None

    @property
    def coordinator(self) -> CoordinatorApp:
        from coordinator_tui.app import CoordinatorApp

        assert isinstance(self.app, CoordinatorApp)
        return self.app

    def compose(self) -> ComposeResult:
        job = self.job
        yield Static(
            plain(
                _("Sending version {number}: {subject}").format(number=job.number, subject=job.subject), 300
            ),
            classes="heading",
        )
        yield Static(
            Content(count_text("{n} recipient in Bcc", "{n} recipients in Bcc", len(job.recipients))),
            id="ns-summary",
        )
        yield ProgressBar(total=max(1, len(job.recipients)), show_eta=False, id="ns-bar")
        yield Static(Content(_("Storing the version in the outbox…")), id="ns-result")
        table: DataTable[Text] = DataTable(id="ns-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#ns-table", DataTable)
        table.add_column(Text(_("Recipient")), key="recipient")
        table.add_column(Text(_("Delivery")), key="status", width=18)
        table.add_column(Text(_("Server's reply")), key="reply")
        for address in self.job.recipients:
            table.add_row(plain_cell(address), Text(_("waiting")), Text(""), key=address.casefold())
        table.focus()
        self.run_send(self.job)

    # -- the send ---------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="notice-send", name="notice send", exit_on_error=False)
    def run_send(self, job: SendJob) -> None:
        from coordinator_tui.notices import drafts, send
        from coordinator_tui.notices.compose import NoticeRefused

        app = self.coordinator
        store = app.store
        assert store is not None
        config = app.config
        try:
            queued, _built = send.queue(
                store,
                job.notice_id,
                job.draft,
                job.choice,
                from_address=job.from_address,
                from_name=job.from_name,
                to_address=job.to_address,
                now=app.now(),
                scheduled_at=job.scheduled_at,
                demo=app.context.demo,
                message_id=job.message_id,
            )
        except NoticeRefused as refused:
            self.post_message(SendDone("refused", " ".join(refused.problems)))
            return
        except Exception as error:  # e.g. another instance posted this version number first
            from sqlalchemy.exc import IntegrityError

            if isinstance(error, IntegrityError):
                self.post_message(
                    SendDone(
                        "refused",
                        _(
                            "Someone else posted a version of this notice at the same time; nothing was "
                            "sent. Open the notice again and write the update on top of theirs."
                        ),
                    )
                )
                return
            raise
        if job.draft_key:
            drafts.delete(job.draft_key)
        drafts.remember_choice(
            queued.notice_id,
            [int(value) for value in job.choice.lists if isinstance(value, int)],
            list(job.choice.units),
            job.choice.everyone,
        )
        self.post_message(Queued(queued.notice_id, queued.version_id, queued.outbox_id, job.recipients))
        if app.context.demo:
            self.post_message(SendDone("demo", _("Demo: the version was stored in the outbox and not sent.")))
            self._after_resolve(queued.notice_id)
            return
        if job.scheduled_at is not None:
            from coordinator_tui.timefmt import fi_datetime

            self.post_message(
                SendDone(
                    "scheduled",
                    _("Stored; the app (or `coordinator-tui outbox send-due`) sends it at {time}.").format(
                        time=fi_datetime(job.scheduled_at)
                    ),
                )
            )
            return
        smtp = config.smtp
        if not smtp.host:
            self.post_message(
                SendDone(
                    "failed",
                    _(
                        "No SMTP server is configured: set [smtp] host in the config file. The version "
                        "waits in the outbox."
                    ),
                )
            )
            return
        password = ""
        if smtp.username:
            secret = app.password_from_worker("smtp", smtp.username)
            if secret is None:
                self.post_message(
                    SendDone("failed", _("No SMTP password was given; the version waits in the outbox."))
                )
                return
            password = secret.value
        imap_password = ""
        if config.imap.host and config.imap.username:
            imap_secret = app.password_from_worker("imap", config.imap.username)
            imap_password = imap_secret.value if imap_secret is not None else ""
        notices = config.notices
        from pathlib import Path

        self.progress.outbox_id = queued.outbox_id
        self.poll_deliveries(queued.outbox_id)
        try:
            result = send.send_version(
                store,
                queued.version_id,
                smtp,
                password,
                imap=config.imap if imap_password else None,
                imap_password=imap_password,
                atom_path=Path(notices.atom_path).expanduser() if notices.atom_path else None,
                max_per_message=notices.max_recipients_per_message,
                backoff=notices.retry_backoff_seconds,
            )
        finally:
            self.progress.done = True
        self.post_message(SendDone(result.state, result_text(result), result))
        if result.accepted:
            self._after_resolve(queued.notice_id)

    def _after_resolve(self, notice_id: int) -> None:
        """(In the worker.) After a resolved version: find the open requests linked to the notice."""
        from coordinator_tui.notices import model
        from store import notices as notice_store

        if self.job.draft.status not in model.RESOLVED_STAGES:
            return
        store = self.coordinator.store
        assert store is not None
        linked = notice_store.linked_requests(store, notice_id)
        if linked:
            version = notice_store.versions(store, notice_id)[-1]
            self.post_message(
                LinkedFound(linked, version.body_fi + (f"\n\n{version.body_sv}" if version.body_sv else ""))
            )

    @work(thread=True, exclusive=True, group="notice-send-poll", exit_on_error=False)
    def poll_deliveries(self, outbox_id: int) -> None:
        import time

        from store.outbox import deliveries

        store = self.coordinator.store
        assert store is not None
        worker = get_current_worker()
        last: dict[str, tuple[str, str]] = {}
        while not worker.is_cancelled:
            done = self.progress.done
            statuses = {
                row.recipient.casefold(): (row.status, row.smtp_reply) for row in deliveries(store, outbox_id)
            }
            if statuses != last:
                last = statuses
                self.post_message(DeliveriesRead(statuses))
            if done:
                return
            time.sleep(POLL_SECONDS)

    # -- what the workers say ------------------------------------------------------------------------

    @on(Queued)
    def queued(self, message: Queued) -> None:
        self.notice_id = message.notice_id
        self.query_one("#ns-result", Static).update(Content(_("Stored in the outbox; sending…")))

    @on(DeliveriesRead)
    def deliveries_read(self, message: DeliveriesRead) -> None:
        self._show_statuses(message.statuses)

    def _show_statuses(self, statuses: dict[str, tuple[str, str]]) -> None:
        table = self.query_one("#ns-table", DataTable)
        for key, (status, reply) in statuses.items():
            if key not in self.statuses and key not in self.keys:
                continue
            if self.statuses.get(key) == (status, reply):
                continue
            self.statuses[key] = (status, reply)
            style = DELIVERY_STYLES.get(status, "")
            table.update_cell(key, "status", Text(_(DELIVERY_WORDS.get(status, status)), style=style))
            table.update_cell(key, "reply", plain_cell(reply))
        dealt = sum(1 for status, _reply in self.statuses.values() if status != "pending")
        self.query_one("#ns-bar", ProgressBar).update(progress=dealt)

    @on(SendDone)
    def send_done(self, message: SendDone) -> None:
        self.finished = True
        self.outcome = message.outcome
        if message.result is not None:
            result = message.result
            statuses: dict[str, tuple[str, str]] = {}
            for address in result.accepted:  # the poll shows the server's reply; keep it
                key = address.casefold()
                if self.statuses.get(key, ("",))[0] != "accepted":
                    statuses[key] = ("accepted", "")
            for address, reply in result.refused.items():
                statuses[address.casefold()] = ("refused", reply)
            for address, reply in result.deferred.items():
                statuses[address.casefold()] = ("retry", reply)
            for address in result.unknown:
                statuses[address.casefold()] = ("unknown", "")
            self._show_statuses(statuses)
        elif message.outcome in ("demo", "scheduled"):
            word = "demo" if message.outcome == "demo" else "scheduled"
            self._show_statuses({address.casefold(): (word, "") for address in self.job.recipients})
            self.query_one("#ns-bar", ProgressBar).update(progress=len(self.job.recipients))
        titles = {
            "sent": _("Sent"),
            "demo": _("Stored (demo)"),
            "scheduled": _("Scheduled"),
            "failed": _("Not sent"),
            "unknown": _("Delivery unknown"),
            "refused": _("Not sent"),
        }
        style = "$success" if message.outcome in ("sent", "demo", "scheduled") else "$error"
        self.query_one("#ns-result", Static).update(
            Content.assemble(
                (titles.get(message.outcome, message.outcome) + ": ", style), plain(message.text, 2000)
            )
        )
        self.notify(
            message.text,
            title=titles.get(message.outcome, ""),
            markup=False,
            severity="information" if message.outcome in ("sent", "demo", "scheduled") else "error",
        )
        self.loaded_at = self.coordinator.now()

    @on(LinkedFound)
    def linked_found(self, message: LinkedFound) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.linked_text = _("Replying to the linked requests…")
                self.reply_linked(message.resolved_text)

        self.app.push_screen(LinkedQuestion(message.requests), answered)

    @work(thread=True, exclusive=True, group="notice-linked", name="linked requests", exit_on_error=False)
    def reply_linked(self, resolved_text: str) -> None:
        from coordinator_tui.notices.linked import reply_and_close
        from coordinator_tui.requests.service import RequestService

        app = self.coordinator
        store = app.store
        assert store is not None and self.notice_id is not None
        config = app.config
        password = ""
        if not app.context.demo and config.smtp.username:
            secret = app.password_from_worker("smtp", config.smtp.username)
            if secret is None:
                self.post_message(LinkedDone(_("No SMTP password was given; no replies were sent.")))
                return
            password = secret.value
        imap_password = ""
        if not app.context.demo and config.imap.host and config.imap.username:
            imap_secret = app.password_from_worker("imap", config.imap.username)
            imap_password = imap_secret.value if imap_secret is not None else ""
        service = RequestService(store, config.requests, clock=app.context.clock)
        outcome = reply_and_close(
            store,
            self.notice_id,
            resolved_text,
            service,
            config,
            smtp_password=password,
            demo=app.context.demo,
            now=app.now(),
            imap_password=imap_password,
        )
        self.post_message(LinkedDone(outcome.summary()))

    @on(LinkedDone)
    def linked_done(self, message: LinkedDone) -> None:
        self.linked_text = message.text
        self.query_one("#ns-summary", Static).update(plain(message.text, 2000))
        self.notify(message.text, markup=False)

    def action_close(self) -> None:
        if not self.finished:
            self.notify(_("Sending is under way; wait for it to finish."), markup=False)
            return
        self.dismiss(None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            if event.worker.group == "notice-send":
                self.progress.done = True
                self.finished = True
                self.query_one("#ns-result", Static).update(
                    plain(_("Sending stopped: {error}").format(error=event.worker.error), 2000)
                )
            self.coordinator.report_worker_error(event.worker)


def result_text(result: NoticeSendResult) -> str:
    text = count_text("{n} recipient accepted it.", "{n} recipients accepted it.", len(result.accepted))
    if result.error:
        text += " " + result.error
    if result.sent_copy_error:
        text += " " + result.sent_copy_error
    if result.feed_error:
        text += " " + result.feed_error
    return text
