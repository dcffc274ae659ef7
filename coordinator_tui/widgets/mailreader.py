"""The reader pane: a message's headers, its conversation, attachments, parse note and text.

Every value shown here came from a stranger's mail, so all of it goes through widgets/safe.py.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from coordinator_tui.i18n import N_, _
from coordinator_tui.textclean import clean_line
from coordinator_tui.timefmt import fi_datetime, short_datetime
from coordinator_tui.widgets.safe import plain, plain_block
from store.mailview import MessageDetail, ThreadMember, rebuilt_headers

ReaderMode = Literal["text", "headers", "raw"]

# Longest raw source shown; the rest is cut with a note (a 25 MB attachment is no reading).
RAW_SHOWN_CHARS = 512 * 1024


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} kB"
    return f"{size} B"


def address_line(name: str, address: str) -> str:
    return f"{name} <{address}>" if name and address else name or address


def empty_hint() -> Content:
    return Content.assemble(
        _("Enter opens the highlighted message here."),
        "\n\n",
        (
            _(
                "x selects · ; applies the next key to the selected · N read/unread · s flag · "
                "e archive · # delete · u undo · / search · r reply · ? every key"
            ),
            "$text-muted",
        ),
    )


class MailReader(ScrollableContainer, can_focus=True):
    """Shows one message; j/k scroll it when it has the focus."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("space", "page_down", N_("Page down"), id="mailreader.page", show=False),
    ]
    # Styles in app.tcss, not DEFAULT_CSS: see MailList.

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.detail: MessageDetail | None = None
        self.thread: list[ThreadMember] = []
        self.mode: ReaderMode = "text"
        self.raw_text: str | None = None
        self.now = datetime.now(UTC)

    def compose(self) -> ComposeResult:
        # Few widgets on purpose: every one costs CSS work each time the screen is shown again.
        yield Static(empty_hint(), id="reader-headers")
        thread = OptionList(id="reader-thread", classes="reader-list")
        thread.display = False
        yield thread
        attachments = OptionList(id="reader-attachments", classes="reader-list")
        attachments.display = False
        yield attachments
        yield Static(Content(""), id="reader-body")

    def action_cursor_down(self) -> None:
        self.scroll_down(animate=False)

    def action_cursor_up(self) -> None:
        self.scroll_up(animate=False)

    # --- what is shown ------------------------------------------------------------------------

    def show(self, detail: MessageDetail, thread: list[ThreadMember], now: datetime) -> None:
        """A newly opened message (in the text view), or the same one read again."""
        self.now = now
        same = self.detail is not None and self.detail.id == detail.id
        self.detail = detail
        self.thread = thread
        if not same:
            self.mode = "text"
            self.raw_text = None
            self.scroll_home(animate=False)
        self._paint()

    def clear(self) -> None:
        self.detail = None
        self.thread = []
        self.mode = "text"
        self.raw_text = None
        self._paint()

    def set_mode(self, mode: ReaderMode, raw_text: str | None = None) -> None:
        self.mode = mode
        if raw_text is not None:
            self.raw_text = raw_text
        self.scroll_home(animate=False)
        self._paint()

    def highlighted_attachment(self) -> int | None:
        """The index of the attachment chosen in the list (the first when the list was never touched)."""
        if self.detail is None or not self.detail.attachments:
            return None
        options = self.query_one("#reader-attachments", OptionList)
        highlighted = options.highlighted
        if highlighted is None or highlighted < 1:
            return 0
        return min(highlighted - 1, len(self.detail.attachments) - 1)  # option 0 is the heading

    def _paint(self) -> None:
        detail = self.detail
        headers = self.query_one("#reader-headers", Static)
        body = self.query_one("#reader-body", Static)
        thread_list = self.query_one("#reader-thread", OptionList)
        attachments = self.query_one("#reader-attachments", OptionList)
        if detail is None:
            headers.update(empty_hint())
            body.update(Content(""))
            thread_list.display = attachments.display = False
            return

        show_thread = len(self.thread) > 1
        thread_list.display = show_thread
        thread_list.clear_options()
        if show_thread:
            heading = _("Conversation ({count} messages)").format(count=len(self.thread))
            thread_list.add_option(Option(Content.styled(heading, "bold $text-muted"), disabled=True))
            for member in self.thread:
                current = member.id == detail.id
                line = Content.assemble(
                    ("▶ " if current else "  ", "bold"),
                    (f"{short_datetime(member.date, self.now):<11}", "dim"),
                    plain(member.from_name or member.from_addr, limit=28),
                    " · ",
                    plain(member.subject, limit=120),
                    (f"  [{clean_line(member.folder_name, limit=20)}]", "dim"),
                )
                thread_list.add_option(Option(line, id=f"thread-{member.id}"))

        has_attachments = bool(detail.attachments)
        attachments.display = has_attachments
        attachments.clear_options()
        if has_attachments:
            heading = _("Attachments (w saves the highlighted one)")
            attachments.add_option(Option(Content.styled(heading, "bold $text-muted"), disabled=True))
            for attachment in detail.attachments:
                attachments.add_option(
                    Option(
                        Content.assemble(
                            plain(attachment.filename or _("(no name)"), limit=120),
                            "  ",
                            (
                                clean_line(attachment.content_type, limit=60)
                                + ", "
                                + human_size(attachment.size),
                                "dim",
                            ),
                        ),
                        id=f"attachment-{attachment.id}",
                    )
                )
            attachments.highlighted = 1

        top = self._headers(detail)
        if detail.parse_note:
            top = Content.assemble(
                top, "\n", (_("Parse note: "), "bold $warning"), plain(detail.parse_note, limit=400)
            )
        if self.mode == "headers":
            if detail.headers:
                mode_line = _("Full headers (H: raw source)")
                text = plain_block(decoded_headers(detail.headers))
            else:
                mode_line = _("Full headers, rebuilt from the stored fields (H: raw source)")
                text = plain_block(rebuilt_headers(detail))
            top = Content.assemble(top, "\n\n", (mode_line, "italic $text-muted"))
            body.update(text)
        elif self.mode == "raw":
            top = Content.assemble(top, "\n\n", (_("Raw source (H: back to the text)"), "italic $text-muted"))
            raw = self.raw_text or ""
            if len(raw) > RAW_SHOWN_CHARS:
                raw = raw[:RAW_SHOWN_CHARS] + "\n\n" + _("[the rest of the source is not shown]")
            body.update(plain_block(raw))
        else:
            text_body = detail.body_text.strip("\n")
            body.update(plain_block(text_body) if text_body else Content(_("(no text)")).stylize("italic"))
        headers.update(top)

    def _headers(self, detail: MessageDetail) -> Content:
        rows: list[tuple[str, Content]] = [
            (_("From"), plain(address_line(detail.from_name, detail.from_addr), limit=300)),
            (_("To"), plain(detail.to_addrs, limit=1000)),
        ]
        if detail.cc_addrs:
            rows.append((_("Cc"), plain(detail.cc_addrs, limit=1000)))
        rows.append((_("Date"), Content(fi_datetime(detail.date))))
        rows.append((_("Subject"), plain(detail.subject, limit=1000)))
        states = []
        if not detail.seen:
            states.append(_("unread"))
        if detail.flagged:
            states.append(_("flagged"))
        if detail.answered:
            states.append(_("answered"))
        folder = Content.assemble(plain(detail.folder_name, limit=60))
        if states:
            folder = Content.assemble(folder, " · ", ", ".join(states))
        rows.append((_("Folder"), folder))
        width = max(len(label) for label, _value in rows) + 2
        parts: list[Content | tuple[str, str] | str] = []
        for number, (label, value) in enumerate(rows):
            if number:
                parts.append("\n")
            parts.append((f"{label + ':':<{width}}", "bold"))
            parts.append(value)
        return Content.assemble(*parts)


def decoded_headers(block: str) -> str:
    """The header block for reading: each header on one line, RFC 2047 words (``=?utf-8?q?…?=``)
    decoded. A word that does not decode stays as it came; the raw source (``H`` again) is untouched."""
    from email.header import decode_header, make_header

    logical: list[str] = []
    for line in block.splitlines():
        if line[:1] in (" ", "\t") and logical:
            logical[-1] += " " + line.strip()
        else:
            logical.append(line)
    out = []
    for line in logical:
        name, colon, value = line.partition(":")
        if colon and "=?" in value:
            # A broken encoded word (unknown charset, bad base64) stays as it was sent.
            with contextlib.suppress(Exception):
                decoded = str(make_header(decode_header(value.strip())))
                if decoded.strip():  # bad base64 decodes to nothing: then show what came
                    value = " " + decoded
        out.append(f"{name}{colon}{value}")
    return "\n".join(out)
