"""What the store does not keep, fetched from the IMAP server when asked: raw source, attachments.

Blocking calls for a thread worker; each opens its own connection and closes it. No Textual here.
"""

from __future__ import annotations

import binascii
import os
import quopri
import re
import unicodedata
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import TYPE_CHECKING

from coordinator_tui.config import ImapSection
from coordinator_tui.i18n import _
from coordinator_tui.mail.imap import Credential, ImapError, close_quietly, connect, guarded
from coordinator_tui.mail.triage import searchable_message_id
from coordinator_tui.textclean import clean_line
from store import mailtriage
from store.mailtriage import MessageState

if TYPE_CHECKING:
    from imapclient import IMAPClient

    from store.engine import Store

RAW_LIMIT = 4 * 1024 * 1024  # raw source shown: the first 4 MiB (headers and text are far smaller)
ATTACHMENT_LIMIT = 200 * 1024 * 1024  # a larger attachment is not fetched into memory
NAME_LIMIT_BYTES = 140  # UTF-8 bytes; leaves room for " (99)" under every file system's limit
FALLBACK_NAME = "attachment"

_PART = re.compile(r"[1-9][0-9]{0,5}(?:\.[1-9][0-9]{0,5}){0,31}")
_UNSAFE = re.compile(r'[/\\:*?"<>|]')  # separators, and what Windows shares refuse
_DOTS = re.compile(r"\.{2,}")
_SPACES = re.compile(r"\s+")
_RESERVED = re.compile(r"(?i)(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?")


class SaveError(ImapError):
    """The attachment could not be written to a file (an ImapError, so screens report both alike)."""


def fetch_raw(
    store: Store, section: ImapSection, password: Credential, message_id: int, *, limit: int | None = None
) -> bytes:
    """The message's source as on the server (BODY.PEEK[]: it is not marked read).

    At most ``limit`` bytes (RAW_LIMIT unless given): a result that long may have been cut.
    """
    with store.session() as session:
        state = mailtriage.message_states(session, [message_id]).get(message_id)
    if state is None:
        raise _not_in_store()
    where = f"{section.host}:{section.effective_port()}"
    client = connect(section, password)
    try:
        uid = _open(client, where, state)
        section_name = f"BODY.PEEK[]<0.{RAW_LIMIT if limit is None else max(int(limit), 1)}>"
        data = guarded(where, lambda: client.fetch([uid], [section_name]))
        raw = data.get(uid, {}).get(b"BODY[]<0>")
    finally:
        close_quietly(client)
    if raw is None:
        raise _gone(state)
    return bytes(raw)


def save_attachment(
    store: Store, section: ImapSection, password: Credential, attachment_id: int, directory: Path
) -> Path:
    """Fetch one attachment, decode it and write it under ``directory``; returns the new file's path.

    The file name is made safe (:func:`safe_filename`), an existing file is never overwritten
    (``name (1).pdf``), and the file is readable by the user only (0600).
    """
    with store.session() as session:
        attachment = mailtriage.attachment_ref(session, attachment_id)
    if attachment is None:
        raise _not_in_store()
    part = attachment.part
    if not _PART.fullmatch(part):
        raise SaveError(
            _("This attachment cannot be fetched: its place in the message is not known."),
            _("Open the raw source (H) and save the message instead."),
        )
    if attachment.size > ATTACHMENT_LIMIT:
        raise SaveError(
            _("The attachment is larger than {limit} MiB and is not fetched here.").format(
                limit=ATTACHMENT_LIMIT // (1024 * 1024)
            ),
            _("Save it with a mail client that streams large files."),
        )
    where = f"{section.host}:{section.effective_port()}"
    client = connect(section, password)
    try:
        uid = _open(client, where, attachment.message)
        items = [f"BODY.PEEK[{part}.MIME]", f"BODY.PEEK[{part}]"]
        data = guarded(where, lambda: client.fetch([uid], items)).get(uid, {})
    finally:
        close_quietly(client)
    body = data.get(f"BODY[{part}]".encode())
    if body is None:
        raise _gone(attachment.message)
    headers = data.get(f"BODY[{part}.MIME]".encode()) or b""
    content = decode_transfer_encoding(bytes(body), _transfer_encoding(bytes(headers)))
    name = safe_filename(attachment.filename or FALLBACK_NAME)
    return write_new_file(Path(directory).expanduser(), name, content)


# -- file names and files ------------------------------------------------------------------------------


def safe_filename(name: str) -> str:
    """A file name that is only a name: no directories, no hidden file, nothing invisible or reordered.

    Drops terminal escapes, control, bidi and zero-width characters (so "‮fdp.exe" shows what it
    really is: "fdp.exe"); replaces path separators and characters Windows shares refuse with
    "_"; no "..", no leading dot or dash; at most NAME_LIMIT_BYTES bytes of UTF-8, keeping the
    extension; never empty.
    """
    text = clean_line(unicodedata.normalize("NFC", str(name)), limit=4096)
    text = "".join(
        char
        for char in text
        if unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn") or char == "\u200d"
    )
    text = _UNSAFE.sub("_", text)
    text = _SPACES.sub(" ", text)
    text = _DOTS.sub(".", text)
    text = text.strip().lstrip(".-_ ").rstrip(". ")
    if _RESERVED.fullmatch(text):
        text = f"_{text}"
    text = _cut(text, NAME_LIMIT_BYTES)
    return text or FALLBACK_NAME


def write_new_file(directory: Path, name: str, content: bytes) -> Path:
    """Write ``content`` to a new file ``name`` in ``directory`` (0600); "name (1).ext" if taken."""
    stem, extension = _split_extension(name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for number in range(10000):
        candidate = name if number == 0 else f"{stem} ({number}){extension}"
        path = directory / candidate
        try:
            descriptor = os.open(path, flags, 0o600)
        except FileExistsError:
            continue
        except OSError as error:
            raise SaveError(
                _("The attachment cannot be written to {directory} ({reason}).").format(
                    directory=directory, reason=error.strerror or error
                ),
                _("Choose a folder that exists and that you can write to."),
            ) from error
        try:
            os.fchmod(descriptor, 0o600)  # the umask could only have narrowed it; make it exact
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
        except OSError as error:
            path.unlink(missing_ok=True)
            raise SaveError(
                _("The attachment could not be written to {path} ({reason}).").format(
                    path=path, reason=error.strerror or error
                ),
                _("Free some disk space or choose another folder, and try again."),
            ) from error
        return path
    raise SaveError(
        _("{directory} already has too many files called {name}.").format(directory=directory, name=name),
        _("Choose another folder."),
    )


def decode_transfer_encoding(body: bytes, encoding: str) -> bytes:
    """The bytes of a MIME part as they were before Content-Transfer-Encoding (lenient, as mailers are)."""
    encoding = encoding.strip().lower()
    if encoding == "base64":
        data = re.sub(rb"[^A-Za-z0-9+/]", b"", body)  # line breaks, padding and junk
        data = data[: len(data) - len(data) % 4] if len(data) % 4 == 1 else data
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4)) if data else b""
    if encoding == "quoted-printable":
        return quopri.decodestring(body)
    if encoding in ("x-uuencode", "uuencode", "x-uue"):
        return _uudecode(body)
    return body  # 7bit, 8bit, binary, or unknown: as it is


def _transfer_encoding(headers: bytes) -> str:
    if not headers:
        return ""
    parsed = BytesHeaderParser(policy=compat32).parsebytes(headers)
    value = parsed.get("Content-Transfer-Encoding", "")
    return str(value).strip().lower()


def _uudecode(body: bytes) -> bytes:
    out = bytearray()
    started = False
    for line in body.splitlines():
        if not started:
            started = line.startswith(b"begin ")
            continue
        if line.strip() in (b"end", b"`", b""):
            if line.strip() == b"end":
                break
            continue
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            # Some encoders pad short lines badly; Python's uu module's workaround.
            count = (((line[0] - 32) & 63) * 4 + 5) // 3
            out += binascii.a2b_uu(line[:count])
    return bytes(out)


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > 16 or " " in extension:
        return name, ""
    return stem, f".{extension}"


def _cut(name: str, limit: int) -> str:
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, extension = _split_extension(name)
    room = max(limit - len(extension.encode("utf-8")), 1)
    cut = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip(". ")
    return f"{cut}{extension}"


# -- server --------------------------------------------------------------------------------------------


def _open(client: IMAPClient, where: str, state: MessageState) -> int:
    """EXAMINE the message's folder and return its UID there (found by Message-ID if not known yet)."""
    folder = state.folder.name
    guarded(where, lambda: client.select_folder(folder, readonly=True))
    if state.uid > 0:
        return state.uid
    if searchable_message_id(state.message_id):
        criteria = ["HEADER", "Message-ID", state.message_id]
        hits = guarded(where, lambda: client.search(criteria))
        if hits:
            return int(max(hits))
    raise ImapError(
        _("The message is not on the server yet: its move to “{folder}” is still going on.").format(
            folder=folder
        ),
        _("Try again in a moment."),
    )


def _not_in_store() -> ImapError:
    return ImapError(
        _("The message is no longer in the store (a sync removed it)."),
        _("Sync the mailbox (ctrl+r) and open it again."),
    )


def _gone(state: MessageState) -> ImapError:
    return ImapError(
        _("The message is no longer in “{folder}” on the server (moved or deleted).").format(
            folder=state.folder.name
        ),
        _("Sync the mailbox (ctrl+r) to see the folder as it is."),
    )
