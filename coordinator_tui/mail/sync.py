"""Incremental IMAP sync of the shared mailbox into the store.

Per folder: SELECT (EXAMINE) gives UIDVALIDITY, UIDNEXT, EXISTS and, with CONDSTORE, HIGHESTMODSEQ.
- a new UIDVALIDITY empties the folder in the store first (its UIDs mean other messages now);
- nothing changed (same UIDNEXT, same count, same HIGHESTMODSEQ) ends the folder right there;
- otherwise UID SEARCH ALL against the stored UIDs gives the expunged and the new messages, and
  FLAGS (only those changed since the stored HIGHESTMODSEQ where the server has CONDSTORE) give
  the flag changes;
- new messages are fetched in batches, each committed on its own: a crash loses at most one batch,
  and the next sync fetches exactly what the store lacks, since it compares UID sets.
The folder's state (UIDNEXT, HIGHESTMODSEQ) is recorded only when the folder is done.

No Textual here; the app calls :func:`sync_account` from a thread worker.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from coordinator_tui.config import ImapSection
from coordinator_tui.mail.imap import ImapError, close_quietly, connect, discover_folders, fetch_all, guarded
from coordinator_tui.mail.parse import ParsedMessage, addresses_text, parse_message, thread_key
from store import mail as mail_store
from store.models import utcnow

if TYPE_CHECKING:
    from imapclient import IMAPClient

    from store.engine import Store

log = logging.getLogger(__name__)

BATCH_SIZE = 200  # UIDs per FETCH, and messages per commit
BODY_LIMIT = 2 * 1024 * 1024  # larger messages: headers only
LARGE_NOTE = "large message: text not fetched"

SEEN, FLAGGED, ANSWERED = b"\\Seen", b"\\Flagged", b"\\Answered"

# progress(folder name, messages fetched so far, messages to fetch)
Progress = Callable[[str, int, int], None]


@dataclass
class FolderReport:
    name: str
    role: str
    in_store: int = 0  # messages in the store after the sync
    new: int = 0
    changed: int = 0  # flag changes
    removed: int = 0  # expunged on the server (or gone with a new UIDVALIDITY)
    seconds: float = 0.0
    error: str = ""


@dataclass
class SyncReport:
    folders: list[FolderReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(not folder.error for folder in self.folders)

    @property
    def error(self) -> str:
        return "; ".join(f"{folder.name}: {folder.error}" for folder in self.folders if folder.error)

    def folder(self, name: str) -> FolderReport:
        for folder in self.folders:
            if folder.name == name:
                return folder
        raise KeyError(name)


def sync_account(
    store: Store, section: ImapSection, password: str, *, progress: Progress | None = None
) -> SyncReport:
    """Sync the configured folders and the server's Sent/Archive/Trash into ``store``.

    Raises :class:`ImapError` when the server cannot be reached, refuses the login or the
    connection breaks; what was committed before stays. A folder the server refuses (e.g. a
    configured folder that does not exist) is reported in its :class:`FolderReport` instead.
    """
    started = time.monotonic()
    where = f"{section.host}:{section.effective_port()}"
    client = connect(section, password)
    report = SyncReport()
    try:
        capabilities = set(guarded(where, client.capabilities))
        condstore = b"CONDSTORE" in capabilities or b"QRESYNC" in capabilities
        if condstore and b"ENABLE" in capabilities:
            # Before the first SELECT, or SELECT gives no HIGHESTMODSEQ.
            guarded(where, lambda: client.enable("CONDSTORE"))
        for info in discover_folders(client, section.folders or ["INBOX"], where):
            syncer = _FolderSync(store, client, where, info.name, info.role, condstore, progress)
            report.folders.append(syncer.run())
    finally:
        close_quietly(client)
    report.seconds = time.monotonic() - started
    return report


class _FolderSync:
    def __init__(
        self,
        store: Store,
        client: IMAPClient,
        where: str,
        name: str,
        role: str,
        condstore: bool,
        progress: Progress | None,
    ) -> None:
        self.store = store
        self.client = client
        self.where = where
        self.condstore = condstore
        self.progress = progress
        self.report = FolderReport(name, role)

    def run(self) -> FolderReport:
        from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

        started = time.monotonic()
        name = self.report.name
        with self.store.session() as session:
            folder_id = mail_store.ensure_folder(session, name, self.report.role).id
        assert folder_id is not None
        try:
            self._sync(folder_id)
        except ImapError as error:
            cause = error.__cause__
            # A NO/BAD for this folder leaves the connection usable; anything else ends the sync.
            refused = isinstance(cause, IMAPClientError) and not isinstance(cause, IMAPClientAbortError)
            with self.store.session() as session:
                mail_store.record_error(session, folder_id, error.what)
            if not refused:
                raise  # the connection is gone: no other folder can be synced either
            self.report.error = error.what
        with self.store.session() as session:
            self.report.in_store = mail_store.message_count(session, folder_id)
        self.report.seconds = time.monotonic() - started
        return self.report

    def _sync(self, folder_id: int) -> None:
        name = self.report.name
        selected = guarded(self.where, lambda: self.client.select_folder(name, readonly=True))
        uidvalidity = int(selected[b"UIDVALIDITY"])
        uidnext = int(selected[b"UIDNEXT"]) if b"UIDNEXT" in selected else None
        exists = int(selected.get(b"EXISTS", 0))
        modseq_value = selected.get(b"HIGHESTMODSEQ") if self.condstore else None
        highest_modseq = int(modseq_value) if modseq_value is not None else None

        with self.store.session() as session:
            state = mail_store.folder_state(session, name)
            assert state is not None
            if state.uidvalidity != uidvalidity:
                self.report.removed += mail_store.reset_folder(session, folder_id, uidvalidity)
                state = mail_store.folder_state(session, name)
                assert state is not None
            stored_count = mail_store.message_count(session, folder_id)
        old_modseq = state.highest_modseq

        unchanged = (
            state.uidnext is not None
            and state.uidnext == uidnext
            and stored_count == exists
            and highest_modseq is not None
            and old_modseq == highest_modseq
        )
        if unchanged:
            with self.store.session() as session:
                mail_store.record_sync(
                    session, folder_id, uidvalidity, uidnext, state.highest_uid, highest_modseq
                )
            return

        if exists == 0:
            server_uids: set[int] = set()
        else:
            server_uids = set(guarded(self.where, lambda: self.client.search("ALL")))
        with self.store.session() as session:
            stored = mail_store.stored_uids(session, folder_id)
            gone = stored - server_uids
            if gone:
                self.report.removed += mail_store.delete_uids(session, folder_id, gone)
        kept = stored & server_uids
        self._sync_flags(folder_id, kept, old_modseq)
        self._fetch_new(folder_id, sorted(server_uids - stored))

        with self.store.session() as session:
            mail_store.record_sync(
                session, folder_id, uidvalidity, uidnext, max(server_uids, default=0), highest_modseq
            )

    def _sync_flags(self, folder_id: int, kept: set[int], old_modseq: int | None) -> None:
        if not kept:
            return
        if self.condstore and old_modseq is not None:
            modifiers = [f"CHANGEDSINCE {old_modseq}"]
            data = guarded(self.where, lambda: fetch_all(self.client, ["UID", "FLAGS"], modifiers))
        else:
            items = ["UID", "FLAGS", "MODSEQ"] if self.condstore else ["UID", "FLAGS"]
            data = guarded(self.where, lambda: fetch_all(self.client, items))
        fetched = {uid: values for uid, values in data.items() if uid in kept and b"FLAGS" in values}
        if not fetched:
            return
        with self.store.session() as session:
            before = mail_store.stored_flags(session, folder_id, fetched)
            changes = {}
            for uid, values in fetched.items():
                seen, flagged, answered = _flags(values)
                if before.get(uid) != (seen, flagged, answered):
                    changes[uid] = (seen, flagged, answered, _modseq(values))
            mail_store.update_flags(session, folder_id, changes)
        self.report.changed += len(changes)

    def _fetch_new(self, folder_id: int, uids: list[int]) -> None:
        total = len(uids)
        done = 0
        if self.progress and total:
            self.progress(self.report.name, 0, total)
        for start in range(0, total, BATCH_SIZE):
            batch = uids[start : start + BATCH_SIZE]
            rows = self._fetch_batch(batch)
            with self.store.session() as session:
                mail_store.insert_messages(session, folder_id, rows)
            self.report.new += len(rows)
            done += len(batch)
            if self.progress:
                self.progress(self.report.name, done, total)

    def _fetch_batch(self, batch: list[int]) -> list[dict[str, Any]]:
        fetch = self.client.fetch
        items = ["RFC822.SIZE", "FLAGS", "INTERNALDATE"] + (["MODSEQ"] if self.condstore else [])
        meta = guarded(self.where, lambda: fetch(batch, items))
        small = [uid for uid in batch if uid in meta and _size(meta[uid]) <= BODY_LIMIT]
        large = [uid for uid in batch if uid in meta and _size(meta[uid]) > BODY_LIMIT]
        bodies: dict[int, bytes] = {}
        if small:
            data = guarded(self.where, lambda: fetch(small, ["BODY.PEEK[]"]))
            bodies.update({uid: values.get(b"BODY[]") or b"" for uid, values in data.items()})
        if large:
            data = guarded(self.where, lambda: fetch(large, ["BODY.PEEK[HEADER]"]))
            bodies.update({uid: values.get(b"BODY[HEADER]") or b"" for uid, values in data.items()})
        rows = []
        for uid in batch:
            if uid not in meta or uid not in bodies:
                continue  # expunged between SEARCH and FETCH: the next sync sees it gone
            try:
                rows.append(_row(uid, meta[uid], bodies[uid], large=uid in large))
            except Exception:  # one bad mail never stops a sync: keep what IMAP itself said
                log.exception("cannot make a store row of UID %s", uid)
                rows.append(_bare_row(uid, meta[uid]))
        return rows


def _row(uid: int, meta: dict[bytes, Any], raw: bytes, *, large: bool) -> dict[str, Any]:
    """The store row for one fetched message; one bad mail never stops the sync."""
    try:
        parsed = parse_message(raw)
    except Exception:  # parse_message promises not to raise; a bug there must not stop a sync
        log.exception("parse_message raised for UID %s", uid)
        parsed = ParsedMessage(parse_note="the message could not be parsed")
    seen, flagged, answered = _flags(meta)
    note = parsed.parse_note
    if large:
        note = f"{LARGE_NOTE}; {note}" if note else LARGE_NOTE
    try:
        key = thread_key(parsed)
    except Exception:
        key = parsed.message_id
    if not key:
        # No Message-ID, References or In-Reply-To: a thread of its own, not one shared by all
        # such mail.
        key = f"<no-id-{uid}-{hashlib.sha256(raw[:65536]).hexdigest()[:16]}>"
    return {
        "uid": uid,
        "message_id": parsed.message_id,
        "in_reply_to": parsed.in_reply_to,
        "references": " ".join(parsed.references),
        "thread_key": key,
        "subject": parsed.subject,
        "from_name": parsed.from_name,
        "from_addr": parsed.from_addr,
        "to_addrs": addresses_text(parsed.to),
        "cc_addrs": addresses_text(parsed.cc),
        "date": parsed.date or _internal_date(meta) or utcnow(),
        "seen": seen,
        "flagged": flagged,
        "answered": answered,
        "size": _size(meta),
        "has_attachments": bool(parsed.has_attachments),
        "snippet": parsed.snippet,
        "body_text": "" if large else parsed.body_text,
        "parse_note": note,
        "modseq": _modseq(meta),
        "attachments": [
            {"part": a.part, "filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in parsed.attachments
        ],
    }


def _bare_row(uid: int, meta: dict[bytes, Any]) -> dict[str, Any]:
    """A row for a message that :func:`_row` failed on: listed, with a note, so it is not lost."""
    row: dict[str, Any] = dict.fromkeys(_TEXT_COLUMNS, "")
    seen, flagged, answered = _flags(meta)
    row.update(
        uid=uid,
        date=_internal_date(meta) or utcnow(),
        seen=seen,
        flagged=flagged,
        answered=answered,
        size=_size(meta),
        has_attachments=False,
        parse_note="the message could not be read",
        modseq=_modseq(meta),
        attachments=[],
    )
    return row


_TEXT_COLUMNS = (
    "message_id",
    "in_reply_to",
    "references",
    "thread_key",
    "subject",
    "from_name",
    "from_addr",
    "to_addrs",
    "cc_addrs",
    "snippet",
    "body_text",
)


def _flags(values: dict[bytes, Any]) -> tuple[bool, bool, bool]:
    flags = {flag if isinstance(flag, bytes) else str(flag).encode() for flag in values.get(b"FLAGS", ())}
    return SEEN in flags, FLAGGED in flags, ANSWERED in flags


def _size(values: dict[bytes, Any]) -> int:
    try:
        return int(values.get(b"RFC822.SIZE", 0))
    except (TypeError, ValueError):
        return 0


def _modseq(values: dict[bytes, Any]) -> int | None:
    value = values.get(b"MODSEQ")
    if isinstance(value, Iterable) and not isinstance(value, (bytes, str)):
        value = next(iter(value), None)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _internal_date(values: dict[bytes, Any]) -> datetime | None:
    value = values.get(b"INTERNALDATE")
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
