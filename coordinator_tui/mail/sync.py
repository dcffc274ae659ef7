"""Incremental IMAP sync of the shared mailbox into the store.

Per folder, EXAMINE gives UIDVALIDITY, UIDNEXT, EXISTS and, with CONDSTORE, HIGHESTMODSEQ:
- a new UIDVALIDITY empties the folder in the store first (its UIDs mean other messages now);
- nothing changed (same UIDNEXT, same count, same HIGHESTMODSEQ) ends the folder right there;
- with QRESYNC (RFC 7162), EXAMINE itself carries the stored UIDVALIDITY and HIGHESTMODSEQ, and
  the server answers with the UIDs expunged since (VANISHED (EARLIER)) and the flags changed since;
  new messages are the UIDs above the highest stored one (one UID SEARCH). If the store's count
  then differs from the server's, the UID-set comparison below runs as well;
- otherwise UID SEARCH ALL against the stored UIDs gives the expunged and the new messages, and
  FLAGS (only those changed since the stored HIGHESTMODSEQ where the server has CONDSTORE) give
  the flag changes;
- new messages are fetched in ascending UID batches, each committed on its own: a crash loses at
  most one batch, and what the store has is always every message up to its highest UID, so the
  next sync fetches exactly what the store lacks;
- a message up to WHOLE_LIMIT is fetched whole (one FETCH per batch) and parsed; a larger one by
  its BODYSTRUCTURE and header, and only its text parts, each cut at PART_LIMIT: attachments are
  listed (by their IMAP part numbers) and fetched on demand.
The folder's state (UIDNEXT, HIGHESTMODSEQ) is recorded only when the folder is done.

No Textual here; the app calls :func:`sync_account` from a thread worker.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import sys
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from coordinator_tui.mail.imap import (
    Credential,
    Examined,
    ImapError,
    close_quietly,
    connect,
    discover_folders,
    examine,
    fetch_all,
    fetch_bodies,
    guarded,
    uid_set,
)
from store.mailstate import FolderState, LightMailState, open_light

NOT_INCOMING_ROLES = frozenset({"sent"})  # our own replies: not mail that came in

if TYPE_CHECKING:
    from imapclient import IMAPClient

    from coordinator_tui.config import ImapSection
    from coordinator_tui.mail.parse import ParsedMessage
    from store.engine import Store

# Imported on first use: a sync that finds nothing changed needs neither the parser nor
# SQLAlchemy (store.mail), which are most of such a run's time as a process.

log = logging.getLogger(__name__)

BATCH_SIZE = 200  # messages per FETCH of bodies, and per commit
BATCH_BYTES = 4 * 1024 * 1024  # ... or fewer, to keep the batches in memory small
META_CHUNK = 2000  # UIDs per FETCH of sizes and flags (a few batches at a time)
WHOLE_LIMIT = 256 * 1024  # larger messages: BODYSTRUCTURE, header and text parts only
PART_LIMIT = 256 * 1024  # bytes fetched of each text part of a larger message
MAX_TEXT_PARTS = 8  # text parts fetched of a larger message
HEADERS_LIMIT = 64 * 1024  # bytes of the header block kept for the full-headers view
# imaplib refuses a response line over 1,000,000 bytes and leaves the rest of the response unread,
# so every later command reads garbage. The BODYSTRUCTURE of a message with thousands of
# attachments is one such line (Dovecot stops at 10,000 MIME parts: ~1.3 MB with short file
# names, ~5 MB with long ones); parsing a line this long costs about 3x its size.
LINE_LIMIT = 16 * 1024 * 1024
PARALLEL_MIN = 1000  # new messages in a folder from which parsing runs in worker processes
MAX_WORKERS = 4
IN_FLIGHT = 2  # batches fetched ahead of the one being stored, while workers parse

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
    linked: int = 0  # new messages linked to service requests
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
    store: Store, section: ImapSection, password: Credential, *, progress: Progress | None = None
) -> SyncReport:
    """Sync the configured folders and the server's Sent/Archive/Trash into ``store``.

    Raises :class:`ImapError` when the server cannot be reached, refuses the login or the
    connection breaks; what was committed before stays. A folder the server refuses (e.g. a
    configured folder that does not exist) is reported in its :class:`FolderReport` instead.
    """
    import imapclient  # noqa: F401  (loading the library is not sync time: it is before the clock)

    started = time.monotonic()
    where = f"{section.host}:{section.effective_port()}"
    _allow_long_lines()
    light = open_light(store)
    try:
        states = light.folder_states() if light else {}
    except Exception:  # e.g. a store not migrated yet: the full path copes, or says what is wrong
        log.info("folder states not readable the light way; using the store's full path")
        states = {}
    try:
        client = connect(section, password)
    except BaseException:
        if light is not None:
            light.close()
        raise
    report = SyncReport()
    pool = ParsePool()
    try:
        capabilities = {c.upper() for c in guarded(where, client.capabilities)}
        condstore = b"CONDSTORE" in capabilities or b"QRESYNC" in capabilities
        qresync = False
        ask_condstore = False  # no ENABLE: EXAMINE ... (CONDSTORE) turns it on instead
        if condstore and b"ENABLE" in capabilities:
            # Before the first SELECT, or SELECT gives no HIGHESTMODSEQ. QRESYNC implies CONDSTORE.
            wanted = "QRESYNC" if b"QRESYNC" in capabilities else "CONDSTORE"
            enabled = guarded(where, lambda: client.enable(wanted))
            names = {name.upper() for name in enabled}
            qresync = b"QRESYNC" in names
            ask_condstore = not names
        elif condstore:
            ask_condstore = True
        for info in discover_folders(client, section.folders or ["INBOX"], where):
            syncer = _FolderSync(store, client, where, info.name, info.role, condstore, progress)
            syncer.qresync = qresync
            syncer.ask_condstore = ask_condstore
            syncer.pool = pool
            report.folders.append(syncer.run(light, states.get(info.name)))
    finally:
        pool.close()
        close_quietly(client)
        if light is not None:
            light.close()
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
        self.qresync = False
        self.ask_condstore = False
        self.examined_with: tuple[int | None, int | None] | None = None
        self.pool: ParsePool | None = None
        self.progress = progress
        self.report = FolderReport(name, role)

    def run(self, light: LightMailState | None = None, state: FolderState | None = None) -> FolderReport:
        """Sync the folder; ``state`` (read the light way) lets an unchanged folder end at EXAMINE."""
        started = time.monotonic()
        examined: Examined | None = None
        if light is not None and state is not None and state.role == self.report.role:
            try:
                examined = self._examine((state.uidvalidity, state.highest_modseq))
                known = (state.uidvalidity, state.highest_modseq)
                if self.condstore and _unchanged(known, state.uidnext, state.messages, examined):
                    light.record_unchanged(state.id, datetime.now(UTC))
                    self.report.in_store = state.messages
                    self.report.seconds = time.monotonic() - started
                    return self.report
            except ImapError as error:
                examined = None
                if not _refused(error):
                    raise
                # the folder is refused: the full path below records the error
            except Exception:  # the light store path failed (locked, ...): the full path says why
                log.info("%s: the light path failed; using the full path", self.report.name)
        from store import mail as mail_store

        name = self.report.name
        with self.store.session() as session:
            folder_id = mail_store.ensure_folder(session, name, self.report.role).id
        assert folder_id is not None
        try:
            self._sync(folder_id, examined)
        except ImapError as error:
            with self.store.session() as session:
                mail_store.record_error(session, folder_id, error.what)
            if not _refused(error):
                raise  # the connection is gone: no other folder can be synced either
            self.report.error = error.what
        with self.store.session() as session:
            self.report.in_store = mail_store.message_count(session, folder_id)
        self.report.seconds = time.monotonic() - started
        return self.report

    def _examine(self, known: tuple[int | None, int | None]) -> Examined:
        """EXAMINE, with QRESYNC (the known UIDVALIDITY and HIGHESTMODSEQ) where it is enabled."""
        resync: tuple[int, int] | None = None
        if self.qresync and known[0] and known[1]:
            resync = (int(known[0]), int(known[1]))
        name = self.report.name
        self.examined_with = known
        return guarded(self.where, lambda: examine(self.client, name, resync, condstore=self.ask_condstore))

    def _sync(self, folder_id: int, examined: Examined | None = None) -> None:
        from store import mail as mail_store

        name = self.report.name
        with self.store.session() as session:
            state = mail_store.folder_state(session, name)
            assert state is not None
            known = (state.uidvalidity, state.highest_modseq)
            old_uidnext, old_highest_uid = state.uidnext, state.highest_uid
        if examined is None or self.examined_with != known:  # the state changed since the light read
            examined = self._examine(known)
        uidvalidity, uidnext = examined.uidvalidity, examined.uidnext
        highest_modseq = examined.highest_modseq if self.condstore else None

        with self.store.session() as session:
            if known[0] != uidvalidity:
                self.report.removed += mail_store.reset_folder(session, folder_id, uidvalidity)
                known, old_uidnext = (uidvalidity, None), None
            stored_count = mail_store.message_count(session, folder_id)
        old_modseq = known[1]

        if self.condstore and _unchanged(known, old_uidnext, stored_count, examined):
            with self.store.session() as session:
                mail_store.record_sync(
                    session, folder_id, uidvalidity, uidnext, old_highest_uid, highest_modseq
                )
            return

        if examined.qresync and self._quick_resync(folder_id, examined):
            return

        if examined.exists == 0:
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

    def _quick_resync(self, folder_id: int, examined: Examined) -> bool:
        """Apply what QRESYNC told and fetch the new messages; False if the counts then disagree."""
        from store import mail as mail_store

        with self.store.session() as session:
            if examined.vanished:
                self.report.removed += mail_store.delete_uid_ranges(session, folder_id, examined.vanished)
            highest = mail_store.highest_stored_uid(session, folder_id)
        self._apply_flags(folder_id, {uid: v for uid, v in examined.changed.items() if uid <= highest})
        new: list[int] = []
        if examined.exists and (examined.uidnext is None or examined.uidnext > highest + 1):
            # UID n:* always matches the highest UID, even one below n: keep only those above.
            found = guarded(self.where, lambda: self.client.search(["UID", f"{highest + 1}:*"]))
            new = sorted(uid for uid in found if uid > highest)
        self._fetch_new(folder_id, new)
        with self.store.session() as session:
            count = mail_store.message_count(session, folder_id)
            if count != examined.exists:
                log.info(
                    "%s: %d messages stored after QRESYNC, the server has %d; comparing UIDs",
                    self.report.name,
                    count,
                    examined.exists,
                )
                return False
            mail_store.record_sync(
                session,
                folder_id,
                examined.uidvalidity,
                examined.uidnext,
                max([highest, *new]),
                examined.highest_modseq,
            )
        return True

    def _sync_flags(self, folder_id: int, kept: set[int], old_modseq: int | None) -> None:
        if not kept:
            return
        if self.condstore and old_modseq is not None:
            modifiers = [f"CHANGEDSINCE {old_modseq}"]
            data = guarded(self.where, lambda: fetch_all(self.client, ["UID", "FLAGS"], modifiers))
        else:
            items = ["UID", "FLAGS", "MODSEQ"] if self.condstore else ["UID", "FLAGS"]
            data = guarded(self.where, lambda: fetch_all(self.client, items))
        self._apply_flags(folder_id, {uid: values for uid, values in data.items() if uid in kept})

    def _apply_flags(self, folder_id: int, fetched: dict[int, dict[bytes, Any]]) -> None:
        from store import mail as mail_store

        fetched = {uid: values for uid, values in fetched.items() if b"FLAGS" in values}
        if not fetched:
            return
        with self.store.session() as session:
            before = mail_store.stored_flags(session, folder_id, fetched)
            changes = {}
            for uid, values in fetched.items():
                if uid not in before:
                    continue
                seen, flagged, answered = _flags(values)
                if before[uid] != (seen, flagged, answered):
                    changes[uid] = (seen, flagged, answered, _modseq(values))
            mail_store.update_flags(session, folder_id, changes)
        self.report.changed += len(changes)

    def _fetch_new(self, folder_id: int, uids: list[int]) -> None:
        """Fetch, parse and store ``uids`` in ascending batches, each committed in UID order.

        With many messages, parsing runs in worker processes (a core each, one core left to the
        sync itself) while the next batch is fetched; batches are still committed one by one in
        order, so a crash loses at most the batches in flight and the store always holds every
        message up to its highest UID.
        """
        from store import mail as mail_store

        total = len(uids)
        done = 0
        if self.progress and total:
            self.progress(self.report.name, 0, total)
        pool = self.pool.get() if self.pool is not None and total >= PARALLEL_MIN else None
        pending: deque[_Batch] = deque()

        def store_batch(entry: _Batch) -> None:
            nonlocal done
            rows = {row["uid"]: row for row in entry.parsed_rows()}
            rows.update(entry.large_rows)
            ordered = [rows[uid] for uid in entry.uids if uid in rows]
            with self.store.session() as session:
                self.report.new += mail_store.insert_messages(session, folder_id, ordered)
            self._link_requests(folder_id, ordered)
            done += len(entry.uids)
            if self.progress:
                self.progress(self.report.name, done, total)

        items = ["RFC822.SIZE", "FLAGS", "INTERNALDATE"] + (["MODSEQ"] if self.condstore else [])
        try:
            for chunk_start in range(0, total, META_CHUNK):
                chunk = uids[chunk_start : chunk_start + META_CHUNK]
                fetch_meta = functools.partial(fetch_all, self.client, items, uids=uid_set(chunk))
                meta = guarded(self.where, fetch_meta)
                for batch in _batches(chunk, meta):
                    pending.append(self._download(batch, meta, pool))
                    while len(pending) > (IN_FLIGHT if pool is not None else 0):
                        store_batch(pending.popleft())
            while pending:
                store_batch(pending.popleft())
        finally:
            for entry in pending:
                if entry.future is not None:
                    entry.future.cancel()

    def _link_requests(self, folder_id: int, rows: list[dict[str, Any]]) -> None:
        """Link a committed batch's incoming mail to its service requests; a failure only logs.

        The mail is already committed: a linking error never loses it nor stops the sync.
        """
        if not rows:
            return
        sent = self.report.role == "sent"
        if self.report.role in NOT_INCOMING_ROLES and not sent:
            return
        try:
            from coordinator_tui.requests.mailin import clues_of
            from store.requests import link_incoming_mail, link_sent_copies

            clues = [found for row in rows if (found := clues_of(int(row["uid"]), row)) is not None]
            if clues and sent:
                # The Sent copies of replies made from requests (not counted as incoming links).
                link_sent_copies(self.store, folder_id, clues, now=datetime.now(UTC))
            elif clues:
                links = link_incoming_mail(self.store, folder_id, clues, now=datetime.now(UTC))
                self.report.linked += len(links)
        except Exception as error:  # never the exception's text: it can quote a subject
            log.warning(
                "%s: linking new mail to service requests failed (%s); the mail is stored",
                self.report.name,
                type(error).__name__,
            )

    def _download(
        self, batch: list[int], meta: dict[int, dict[bytes, Any]], pool: ProcessPoolExecutor | None
    ) -> _Batch:
        """Fetch a batch: whole messages in one FETCH (parsed now, or by ``pool``), large ones by parts."""
        present = [uid for uid in batch if uid in meta]  # the others were expunged since the SEARCH
        small = [uid for uid in present if _size(meta[uid]) <= WHOLE_LIMIT]
        large = [uid for uid in present if _size(meta[uid]) > WHOLE_LIMIT]
        work: list[tuple[int, dict[bytes, Any], bytes]] = []
        if small:
            bodies = guarded(self.where, functools.partial(fetch_bodies, self.client, small))
            # A UID without a body was expunged between the two FETCHes: the next sync sees it gone.
            work = [(uid, _slim(meta[uid]), bodies[uid]) for uid in small if uid in bodies]
        entry = _Batch(batch, work)
        if pool is not None and work and self.pool is not None:
            try:
                entry.future = pool.submit(_parse_rows, work)
            except Exception:  # the pool broke (a worker could not start): parse here from now on
                self.pool.give_up()
        if large:
            entry.large_rows = self._fetch_large(large, meta)
        return entry

    def _fetch_large(self, uids: list[int], meta: dict[int, dict[bytes, Any]]) -> dict[int, dict[str, Any]]:
        """BODYSTRUCTURE and header, then the text parts only (each cut at PART_LIMIT)."""
        items = ["BODYSTRUCTURE", "BODY.PEEK[HEADER]"]
        unreadable: set[int] = set()
        try:
            data = self._fetch_parsed(uids, items)
        except _Unparsable:
            # One message's BODYSTRUCTURE broke imapclient's parser: the rest keep theirs.
            data = {}
            for uid in uids:
                try:
                    data.update(self._fetch_parsed([uid], items))
                except _Unparsable:
                    _log_failure("reading the BODYSTRUCTURE of UID %s", uid)
                    unreadable.add(uid)
                    headers_only = functools.partial(self.client.fetch, [uid], items[1:])
                    data.update(guarded(self.where, headers_only))
        rows: dict[int, dict[str, Any]] = {}
        for uid in uids:
            values = data.get(uid)
            if values is None or b"BODY[HEADER]" not in values:
                continue
            header = bytes(values.get(b"BODY[HEADER]") or b"")
            structure = values.get(b"BODYSTRUCTURE")
            if uid in unreadable:
                rows[uid] = _row_or_bare(uid, meta[uid], header, _large_row, header, None, {}, STRUCTURE_NOTE)
                continue
            texts: dict[str, bytes] = {}
            wanted: list[Leaf] = []
            try:
                wanted = [leaf for leaf in _leaves(structure) if leaf.is_text][:MAX_TEXT_PARTS]
            except Exception:
                _log_failure("reading the BODYSTRUCTURE of UID %s", uid)
            if wanted:
                sections = [f"BODY.PEEK[{leaf.part}]<0.{PART_LIMIT}>" for leaf in wanted]
                fetch = functools.partial(self.client.fetch, [uid], sections)
                fetched = guarded(self.where, fetch).get(uid, {})
                for leaf in wanted:
                    texts[leaf.part] = _section(fetched, leaf.part)

            rows[uid] = _row_or_bare(uid, meta[uid], header, _large_row, header, structure, texts)
        return rows

    def _fetch_parsed(self, uids: list[int], items: list[str]) -> dict[int, dict[bytes, Any]]:
        """``client.fetch``; raises :class:`_Unparsable` when the response was read whole but
        imapclient could not parse it (the connection is then still in step)."""
        from imapclient.exceptions import ProtocolError

        try:
            return guarded(self.where, lambda: self.client.fetch(uids, items))
        except RecursionError as error:
            # imapclient's parser recurses once per nesting level: Dovecot stops nesting at 100,
            # a server that does not can send a BODYSTRUCTURE deeper than Python's recursion limit.
            raise _Unparsable from error
        except ImapError as error:
            # A complete answer imapclient could not read (imap.guarded wraps these).
            if isinstance(error.__cause__, ProtocolError | ValueError | LookupError | TypeError):
                raise _Unparsable from error
            raise


class _Unparsable(Exception):
    """A FETCH response imapclient could not parse (read whole: the connection is still usable)."""


STRUCTURE_NOTE = "the message structure sent by the server could not be read; text and attachments not listed"


def _log_failure(what: str, uid: int) -> None:
    """Where it failed and how, never the exception's text (it can quote the message)."""
    error = sys.exc_info()[1]
    frames = traceback.extract_tb(error.__traceback__) if error else []
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    log.warning(f"{what} failed: %s at %s", uid, type(error).__name__, where)


def _allow_long_lines() -> None:
    """Let imaplib read response lines up to LINE_LIMIT (its own limit is a module constant)."""
    import imaplib

    if getattr(imaplib, "_MAXLINE", LINE_LIMIT) < LINE_LIMIT:
        imaplib._MAXLINE = LINE_LIMIT  # type: ignore[attr-defined]


def _unchanged(
    known: tuple[int | None, int | None], uidnext: int | None, stored: int, examined: Examined
) -> bool:
    """Nothing to do: the same UIDVALIDITY, UIDNEXT, message count and HIGHESTMODSEQ as stored."""
    uidvalidity, modseq = known
    return (
        uidvalidity == examined.uidvalidity
        and uidnext is not None
        and uidnext == examined.uidnext
        and stored == examined.exists
        and modseq is not None
        and modseq == examined.highest_modseq
    )


def _refused(error: ImapError) -> bool:
    """A NO/BAD for one folder leaves the connection usable; anything else ends the sync."""
    from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

    cause = error.__cause__
    if isinstance(cause, ValueError | LookupError | TypeError):
        # An answer read whole with a word where a number belongs (see imap.guarded): the
        # connection is still in step; this folder reports it, the others go on.
        return True
    if isinstance(cause, IMAPClientError) and str(cause).startswith("got more than"):
        return False  # imaplib stopped reading mid-response: the connection is out of step
    return isinstance(cause, IMAPClientError) and not isinstance(cause, IMAPClientAbortError)


def _batches(uids: list[int], meta: dict[int, dict[bytes, Any]]) -> Iterable[list[int]]:
    """``uids`` in order, BATCH_SIZE at a time, fewer where the messages are big (BATCH_BYTES)."""
    batch: list[int] = []
    size = 0
    for uid in uids:
        message_size = min(_size(meta.get(uid, {})), WHOLE_LIMIT)  # larger ones: text parts only
        if batch and (len(batch) >= BATCH_SIZE or size + message_size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(uid)
        size += message_size
    if batch:
        yield batch


@dataclass
class _Batch:
    """One fetched batch on its way to the store."""

    uids: list[int]
    work: list[tuple[int, dict[bytes, Any], bytes]]  # (UID, metadata, whole message)
    future: Future[list[dict[str, Any]]] | None = None
    large_rows: dict[int, dict[str, Any]] = field(default_factory=dict)

    def parsed_rows(self) -> list[dict[str, Any]]:
        if self.future is not None:
            try:
                return self.future.result()
            except Exception:  # a worker died (killed, out of memory): parse here instead
                log.warning("a parsing process failed; parsing this batch in the sync itself")
        return _parse_rows(self.work)


def _slim(meta: dict[bytes, Any]) -> dict[bytes, Any]:
    """The metadata a row needs, in plain types (imapclient's time zones do not pickle)."""
    return {
        b"FLAGS": tuple(meta.get(b"FLAGS", ())),
        b"RFC822.SIZE": _size(meta),
        b"MODSEQ": _modseq(meta),
        b"INTERNALDATE": _internal_date(meta),
    }


def _parse_rows(work: list[tuple[int, dict[bytes, Any], bytes]]) -> list[dict[str, Any]]:
    """Store rows for whole messages (runs in a worker process for big syncs)."""
    return [_row_or_bare(uid, meta, b"", _whole_row, raw) for uid, meta, raw in work]


class ParsePool:
    """Worker processes for parsing, started on first use (only big syncs need them)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False

    def get(self) -> ProcessPoolExecutor | None:
        if self._pool is None and not self._broken:
            # One core stays with the sync itself (IMAP, SQLite); each worker costs ~50 MB.
            workers = min((os.cpu_count() or 1) - 1, MAX_WORKERS)
            if workers < 1:
                self._broken = True
                return None
            try:
                import multiprocessing

                # spawn, not fork: the app calls the sync from a thread, and forking a threaded
                # process can deadlock the child.
                self._pool = ProcessPoolExecutor(
                    max_workers=workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker,
                    initargs=(os.getpid(),),
                )
            except Exception:
                log.warning("no worker processes for parsing; parsing in the sync itself")
                self._broken = True
        return self._pool

    def give_up(self) -> None:
        log.warning("the parsing processes failed; parsing in the sync itself")
        self.close()
        self._broken = True

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _start_worker(parent: int) -> None:
    # A worker's log records would go to the terminal (the app's screen); they are dropped.
    logging.getLogger().addHandler(logging.NullHandler())
    logging.lastResort = None
    # Every worker holds both ends of the task queue, so a sync killed with SIGKILL would leave
    # its workers waiting forever: they leave when their parent is gone.
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _section(values: dict[bytes, Any], part: str) -> bytes:
    """The bytes of ``BODY[part]<0>`` in a FETCH response (the server names it with its origin)."""
    prefix = f"BODY[{part}]".encode()
    for key, value in values.items():
        if isinstance(key, bytes) and key.upper().startswith(prefix) and isinstance(value, bytes):
            return value
    return b""


def _row_or_bare(
    uid: int, meta: dict[bytes, Any], header: bytes, make: Callable[..., dict[str, Any]], *args: Any
) -> dict[str, Any]:
    """``make(uid, meta, *args)``, or a bare row when that fails: one bad mail never stops a sync."""
    try:
        return make(uid, meta, *args)
    except Exception:  # keep what IMAP itself said
        _log_failure("making a store row of UID %s", uid)
        return _bare_row(uid, meta, header)


def _whole_row(uid: int, meta: dict[bytes, Any], raw: bytes) -> dict[str, Any]:
    """The store row for a message fetched whole."""
    from coordinator_tui.mail.parse import ParsedMessage, parse_message

    try:
        parsed = parse_message(raw)
    except Exception:  # parse_message promises not to raise; a bug there must not stop a sync
        _log_failure("parse_message for UID %s", uid)
        parsed = ParsedMessage(parse_note="the message could not be parsed")
    attachments = [
        {"part": a.part, "filename": a.filename, "content_type": a.content_type, "size": a.size}
        for a in parsed.attachments
    ]
    return _row(uid, meta, parsed, _header_block(raw), raw, parsed.body_text, attachments)


def _large_row(
    uid: int, meta: dict[bytes, Any], header: bytes, structure: Any, texts: dict[str, bytes], note: str = ""
) -> dict[str, Any]:
    """The store row for a large message: its header, its text parts and BODYSTRUCTURE's listing.

    ``note`` goes first in the row's parse note (a structure that could not be read, say).
    """
    from coordinator_tui.mail.parse import CUT_MARK, ParsedMessage, parse_message

    leaves = {leaf.part: leaf for leaf in _leaves(structure)} if structure else {}
    skeleton = _skeleton(header, structure, texts) if structure else header
    try:
        parsed = parse_message(skeleton)
    except Exception:
        _log_failure("parse_message for UID %s", uid)
        parsed = ParsedMessage(parse_note="the message could not be parsed")
    body = parsed.body_text
    cut = any(leaves[part].size > PART_LIMIT for part in texts if part in leaves)
    if cut and body and not body.endswith(CUT_MARK):
        body += CUT_MARK
    attachments = []
    for item in parsed.attachments:
        leaf = leaves.get(item.part)
        attachments.append(
            {
                "part": item.part,
                "filename": item.filename,
                "content_type": leaf.content_type if leaf else item.content_type,
                "size": leaf.decoded_size if leaf else item.size,
            }
        )
    row = _row(uid, meta, parsed, header, header, body, attachments)
    if note:
        row["parse_note"] = "; ".join(filter(None, (note, row["parse_note"])))
    return row


def _row(
    uid: int,
    meta: dict[bytes, Any],
    parsed: ParsedMessage,
    header: bytes,
    source: bytes,
    body: str,
    attachments: list[dict[str, Any]],
) -> dict[str, Any]:
    from coordinator_tui.mail.parse import addresses_text, thread_key

    seen, flagged, answered = _flags(meta)
    try:
        key = thread_key(parsed)
    except Exception:
        key = parsed.message_id
    if not key:
        # No Message-ID, References or In-Reply-To: a thread of its own, not one shared by all
        # such mail.
        key = f"<no-id-{uid}-{hashlib.sha256(source[:65536]).hexdigest()[:16]}>"
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
        "date": parsed.date or _internal_date(meta) or datetime.now(UTC),
        "seen": seen,
        "flagged": flagged,
        "answered": answered,
        "size": _size(meta),
        "has_attachments": bool(parsed.has_attachments),
        "snippet": parsed.snippet,
        "body_text": body,
        "parse_note": parsed.parse_note,
        "modseq": _modseq(meta),
        "headers": _headers_text(header),
        "attachments": attachments,
    }


def _bare_row(uid: int, meta: dict[bytes, Any], header: bytes = b"") -> dict[str, Any]:
    """A row for a message that could not be made into one: listed, with a note, so it is not lost."""
    row: dict[str, Any] = dict.fromkeys(_TEXT_COLUMNS, "")
    seen, flagged, answered = _flags(meta)
    try:
        headers = _headers_text(header)
    except Exception:
        headers = ""
    row.update(
        uid=uid,
        date=_internal_date(meta) or datetime.now(UTC),
        seen=seen,
        flagged=flagged,
        answered=answered,
        size=_size(meta),
        has_attachments=False,
        parse_note="the message could not be read",
        modseq=_modseq(meta),
        headers=headers,
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


# --- the header block -----------------------------------------------------------------------------


def _header_block(raw: bytes) -> bytes:
    """The bytes before the first empty line (all of them when there is none)."""
    ends = [found for mark in (b"\r\n\r\n", b"\n\n") if (found := raw.find(mark, 0, HEADERS_LIMIT * 4)) >= 0]
    if ends:
        return raw[: min(ends)]
    return raw[: HEADERS_LIMIT * 4]


def _headers_text(block: bytes) -> str:
    """The header block as text: utf-8 (else windows-1252), LF line ends, at most HEADERS_LIMIT bytes.

    Kept as received otherwise (encoded words stay encoded); the screen cleans it for display.
    """
    if len(block) > HEADERS_LIMIT:
        cut = block.rfind(b"\n", 0, HEADERS_LIMIT)
        block = block[: cut if cut > 0 else HEADERS_LIMIT]
    block = block.rstrip(b"\r\n")
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        text = block.decode("cp1252", "replace")
    return text.replace("\r\n", "\n").replace("\x00", "")


# --- large messages: BODYSTRUCTURE ----------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """One non-multipart part of a BODYSTRUCTURE, numbered as IMAP BODY[part] numbers it."""

    part: str
    content_type: str
    encoding: str
    size: int  # octets as transferred
    disposition: str
    has_name: bool

    @property
    def is_text(self) -> bool:
        """A readable text part (not one attached as a file), worth fetching."""
        return (
            self.content_type in ("text/plain", "text/html")
            and self.disposition != "attachment"
            and not self.has_name
        )

    @property
    def decoded_size(self) -> int:
        """The size once decoded: base64 is estimated from its usual 76-character lines."""
        if self.encoding == "base64":
            lines = -(-self.size // 78)
            return max(0, (self.size - 2 * lines) * 3 // 4)
        return self.size


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _params(value: Any) -> list[tuple[str, str]]:
    """A BODYSTRUCTURE parameter list ``(k1 v1 k2 v2 ...)`` as pairs; NIL is empty."""
    if not isinstance(value, (tuple, list)):
        return []
    items = [_text(item) for item in value]
    return [(items[i].lower(), items[i + 1]) for i in range(0, len(items) - 1, 2)]


def _disposition_of(value: Any) -> tuple[str, list[tuple[str, str]]]:
    if isinstance(value, (tuple, list)) and value:
        return _text(value[0]).lower(), _params(value[1] if len(value) > 1 else None)
    return "", []


def _leaves(structure: Any, prefix: str = "") -> list[Leaf]:
    """Every leaf of a BODYSTRUCTURE in order; message/rfc822 parts are leaves here (not entered)."""
    if structure is None:
        return []
    if isinstance(structure[0], list):  # multipart: ([children], subtype, ...)
        found: list[Leaf] = []
        for number, child in enumerate(structure[0], 1):
            found.extend(_leaves(child, f"{prefix}.{number}" if prefix else str(number)))
        return found
    part = prefix or "1"
    content_type = f"{_text(structure[0])}/{_text(structure[1])}".lower()
    params = _params(structure[2])
    encoding = _text(structure[5]).lower() if len(structure) > 5 else ""
    try:
        size = int(structure[6]) if len(structure) > 6 and structure[6] is not None else 0
    except (TypeError, ValueError):
        size = 0
    disposition, disposition_params = _disposition_of(_extension(structure, content_type, 1))
    has_name = any(key.startswith(("name", "filename")) for key, _ in (*params, *disposition_params))
    return [Leaf(part, content_type, encoding, size, disposition, has_name)]


def _extension(structure: Sequence[Any], content_type: str, index: int) -> Any:
    """A single part's extension field: 0 is MD5, 1 the disposition (after the type's own fields)."""
    if content_type.startswith("text/"):
        first = 8  # + body lines
    elif content_type in ("message/rfc822", "message/global"):
        first = 10  # + envelope, body, lines
    else:
        first = 7
    position = first + index
    return structure[position] if len(structure) > position else None


_TOKEN = re.compile(r"[A-Za-z0-9!#$&+^_`{|}~.*'-]{1,80}")
_SKIPPED_HEADERS = (b"content-", b"mime-version")


def _skeleton(header: bytes, structure: Any, texts: dict[str, bytes]) -> bytes:
    """A stand-in message for parse_message: the real header, the MIME tree as BODYSTRUCTURE tells
    it, the fetched text parts, and empty attachments (so they are listed, with the same numbers)."""
    lines: list[bytes] = []
    keep = True
    for line in header.splitlines(keepends=True):
        if not line.strip():
            break
        if line[:1] not in (b" ", b"\t"):
            keep = not line.lower().startswith(_SKIPPED_HEADERS)
        if keep:
            lines.append(line if line.endswith(b"\n") else line + b"\r\n")
    lines.append(b"MIME-Version: 1.0\r\n")
    from coordinator_tui.mail.parse import MAX_DEPTH, MAX_PARTS

    # The parser reads no more than MAX_PARTS parts, MAX_DEPTH levels deep: one more of each tells
    # it (and the user) there were more. The rest would cost seconds of parsing for nothing (a
    # 10,000-part skeleton; Dovecot's 100 levels, each checked against every line below it).
    _emit(lines, structure, "", texts, top=True, budget=[MAX_PARTS + 1], levels=MAX_DEPTH + 2)
    return b"".join(lines)


def _emit(
    out: list[bytes],
    structure: Any,
    prefix: str,
    texts: dict[str, bytes],
    *,
    top: bool,
    budget: list[int],
    levels: int,
) -> None:
    if isinstance(structure[0], list):
        if levels <= 0:  # deeper than the parser reads: an empty part stands for the rest
            out.append(b"Content-Type: text/plain\r\n\r\n")
            return
        boundary = f"=_skeleton_{uuid.uuid4().hex}"
        subtype = _text(structure[1]).lower() or "mixed"
        params = [(k, v) for k, v in _params(structure[2] if len(structure) > 2 else None) if k != "boundary"]
        out.append(_content_header("Content-Type", f"multipart/{subtype}", [("boundary", boundary), *params]))
        out.append(b"\r\n")
        for number, child in enumerate(structure[0], 1):
            if budget[0] <= 0:
                break
            budget[0] -= 1
            out.append(f"--{boundary}\r\n".encode())
            part = f"{prefix}.{number}" if prefix else str(number)
            _emit(out, child, part, texts, top=False, budget=budget, levels=levels - 1)
            out.append(b"\r\n")
        out.append(f"--{boundary}--\r\n".encode())
        return
    part = prefix or "1"
    content_type = f"{_text(structure[0])}/{_text(structure[1])}".lower()
    params = _params(structure[2])
    disposition, disposition_params = _disposition_of(_extension(structure, content_type, 1))
    if content_type in ("message/rfc822", "message/global"):
        # Not entered: listed as a file (its type is set back from BODYSTRUCTURE afterwards).
        if not any(key.startswith(("name", "filename")) for key, _ in (*params, *disposition_params)):
            envelope = structure[7] if len(structure) > 7 else None
            subject = ""
            if isinstance(envelope, (tuple, list)) and len(envelope) > 1:
                subject = _text(envelope[1])
            subject = subject or "forwarded message"
            params = [("name", f"{subject[:200]}.eml")]
        content_type = "application/octet-stream"
        disposition = disposition or "attachment"
    out.append(_content_header("Content-Type", content_type, params))
    if disposition:
        out.append(_content_header("Content-Disposition", disposition, disposition_params))
    content_id = _text(structure[3]) if len(structure) > 3 else ""
    if content_id:
        out.append(_content_header("Content-ID", content_id, []))
    data = texts.get(part)
    if data is not None:
        encoding = _text(structure[5]).lower() if len(structure) > 5 else ""
        if _TOKEN.fullmatch(encoding):
            out.append(f"Content-Transfer-Encoding: {encoding}\r\n".encode())
        out.append(b"\r\n")
        out.append(_whole_lines(data, encoding))
    else:
        out.append(b"\r\n")


def _whole_lines(data: bytes, encoding: str) -> bytes:
    """A part cut at PART_LIMIT, ended at its last full line (no half base64 quad or character)."""
    if len(data) < PART_LIMIT:
        return data
    end = data.rfind(b"\n")
    if end > 0:
        return data[: end + 1]
    if encoding == "base64":  # one long line
        compact = re.sub(rb"\s+", b"", data)
        return compact[: len(compact) // 4 * 4]
    return data


def _content_header(name: str, value: str, params: Iterable[tuple[str, str]]) -> bytes:
    text = f"{name}: {_clean_value(value)}"
    for key, param in params:
        if _TOKEN.fullmatch(key):
            quoted = _clean_value(param).replace("\\", "\\\\").replace('"', '\\"')
            text += f';\r\n\t{key}="{quoted}"'
    return (text + "\r\n").encode("utf-8", "replace")


def _clean_value(value: str) -> str:
    return re.sub(r"[\r\n\x00]+", " ", value)[:4000]


# --- IMAP values ----------------------------------------------------------------------------------


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
