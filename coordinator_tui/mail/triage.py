"""Triage of the shared mailbox: applied to the store at once, then written back to the IMAP server.

The screen calls :func:`apply_local` (the list shows the result at once), then :func:`push` in a
thread worker; when the server refuses, :func:`revert_local` puts the store back as it was.
:func:`inverse` is the undo: applied locally at once, and the change it returns is pushed alike.

Pushes must run one at a time, in the order of their ``apply_local`` (one worker queue): each
change records where its messages are on the server once the changes before it are done.

A message moved in the store but not yet on the server carries a placeholder UID (see
``store.mailtriage``); the server's COPYUID replaces it, and a placeholder still unknown at push
time is found by its Message-ID. Whatever a sync does between ``apply_local`` and ``push``, the
store ends with exactly the server's messages: the sync treats the server as the truth, and
``push`` settles the rows it moved (see :func:`store.mailtriage.settle_move`).

No Textual here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from coordinator_tui.config import ImapSection
from coordinator_tui.i18n import _
from coordinator_tui.mail.imap import Credential, ImapError, close_quietly, connect, guarded
from store import mailtriage
from store.mailtriage import FolderRef, MessageSnapshot, MessageState

if TYPE_CHECKING:
    from imapclient import IMAPClient

    from store.engine import Store

log = logging.getLogger(__name__)

ACTIONS = ("read", "unread", "flag", "unflag", "archive", "delete")
# Made by inverse(): a move back to where the messages were.
UNDO_ACTIONS = ("unarchive", "undelete")

_FLAG_ACTIONS: dict[str, tuple[str, bool]] = {
    "read": ("seen", True),
    "unread": ("seen", False),
    "flag": ("flagged", True),
    "unflag": ("flagged", False),
}
_OPPOSITE = {
    "read": "unread",
    "unread": "read",
    "flag": "unflag",
    "unflag": "flag",
    "archive": "unarchive",
    "unarchive": "archive",
    "delete": "undelete",
    "undelete": "delete",
}
_IMAP_FLAG = {"seen": b"\\Seen", "flagged": b"\\Flagged"}
DELETED = b"\\Deleted"
UID_CHUNK = 500  # UIDs per command: well inside any server's line length limit


class TriageError(ImapError):
    """A triage action that cannot be done at all (no archive folder, nothing left to undo)."""


@dataclass(frozen=True)
class TriageItem:
    """One message of a change: where the server has it before the change, and where it goes."""

    message_id: int  # the store's mail_message id
    folder_id: int
    folder: str  # the server's folder name before the change
    uid: int  # its UID there; <= 0 while not known (found by Message-ID at push time)
    header_id: str  # the Message-ID header
    seen: bool  # before the change
    flagged: bool  # before the change
    target_id: int | None = None  # a move: the folder it goes to
    target: str = ""
    snapshot: MessageSnapshot | None = None  # a real delete: the row as it was, to put back

    @property
    def moves(self) -> bool:
        return self.target_id is not None

    @property
    def expunges(self) -> bool:
        return self.snapshot is not None


@dataclass(frozen=True)
class TriageChange:
    """One triage action on some messages, as applied to the store; pushed as it is."""

    action: str  # one of ACTIONS or UNDO_ACTIONS
    message_ids: tuple[int, ...]
    items: tuple[TriageItem, ...] = ()
    # Message ids the server has confirmed (filled by push); revert_local leaves these alone.
    pushed: set[int] = field(default_factory=set, compare=False, hash=False, repr=False)

    @property
    def empty(self) -> bool:
        return not self.items


# -- local ---------------------------------------------------------------------------------------------


def apply_local(store: Store, action: str, message_ids: Sequence[int]) -> TriageChange:
    """Apply ``action`` to these messages in the store, in one transaction; returns what to push.

    Messages gone from the store are skipped, and so are those already in the archive when
    archiving. ``delete`` moves to the trash; a message already there, or any message when there
    is no trash folder, is deleted for good (on the server: \\Deleted and EXPUNGE).
    Raises :class:`TriageError` (nothing changed) when there is no folder to archive to.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown triage action {action!r}; one of {', '.join(ACTIONS)}")
    ids = list(dict.fromkeys(int(message_id) for message_id in message_ids))
    with store.session() as session:
        states = mailtriage.message_states(session, ids)
        rows = [states[message_id] for message_id in ids if message_id in states]
        if action in _FLAG_ACTIONS:
            column, value = _FLAG_ACTIONS[action]
            items = tuple(_item(state) for state in rows)
            mailtriage.set_flags(session, [state.id for state in rows], **{column: value})
        elif action == "archive":
            archive = mailtriage.folder_by_role(session, "archive")
            if archive is None:
                raise TriageError(
                    _("There is no archive folder, so nothing was archived."),
                    _("Sync the mailbox (ctrl+r): the server's archive folder is found by its special use."),
                )
            items = _move(session, [(state, archive) for state in rows if state.folder.id != archive.id])
        else:  # delete
            trash = mailtriage.folder_by_role(session, "trash")
            moving = [(state, trash) for state in rows if trash is not None and state.folder.id != trash.id]
            moved = {item.message_id: item for item in _move(session, moving)}
            gone = {
                item.message_id: item for item in _expunge(session, [s for s in rows if s.id not in moved])
            }
            items = tuple(moved.get(state.id) or gone[state.id] for state in rows)
    return TriageChange(action, tuple(item.message_id for item in items), items)


def revert_local(store: Store, change: TriageChange) -> None:
    """Undo ``change`` in the store (the server refused it), in one transaction.

    Messages the server did take (``change.pushed``) stay as they are. A message gone from the
    store meanwhile (a sync removed it) is left to the next sync, which brings it back.
    """
    column = _FLAG_ACTIONS[change.action][0] if change.action in _FLAG_ACTIONS else ""
    with store.session() as session:
        pending = [item for item in change.items if item.message_id not in change.pushed]
        states = mailtriage.message_states(session, [item.message_id for item in pending])
        flags: dict[int, tuple[bool, bool]] = {}
        moves: dict[int, tuple[int, int]] = {}
        for item in reversed(pending):
            state = states.get(item.message_id)
            if item.expunges:
                assert item.snapshot is not None
                mailtriage.restore_message(session, item.snapshot)
            elif item.moves:
                if state is not None and state.folder.id == item.target_id:
                    moves[item.message_id] = (item.folder_id, item.uid)
            elif state is not None:
                seen = item.seen if column == "seen" else state.seen
                flagged = item.flagged if column == "flagged" else state.flagged
                flags[item.message_id] = (seen, flagged)
        mailtriage.move_messages(session, moves)
        mailtriage.restore_flags(session, flags)


def inverse(store: Store, change: TriageChange) -> TriageChange:
    """Undo ``change``: applied to the store at once (one transaction); returns the change to push.

    read/unread and flag/unflag put back what each message had before; archive and delete move
    the messages back to the folders they came from. Messages deleted for good cannot come back:
    when nothing else is left to undo, :class:`TriageError` says so.
    """
    if change.action in _FLAG_ACTIONS:
        column, value = _FLAG_ACTIONS[change.action]
        changed = [item.message_id for item in change.items if getattr(item, column) != value]
        return apply_local(store, _OPPOSITE[change.action], changed)
    if change.action not in _OPPOSITE:
        raise ValueError(f"unknown triage action {change.action!r}")
    with store.session() as session:
        states = mailtriage.message_states(session, [item.message_id for item in change.items])
        moving: list[tuple[MessageState, FolderRef | None]] = []
        for item in change.items:
            state = states.get(item.message_id)
            if not item.moves or state is None or state.folder.id != item.target_id:
                continue  # deleted for good, gone from the store, or moved on since
            moving.append((state, FolderRef(item.folder_id, item.folder, "")))
        back = _move(session, moving)
    if not back and any(item.expunges for item in change.items):
        raise TriageError(
            _("Messages deleted from the trash are gone from the server and cannot be brought back."),
            "",
        )
    return TriageChange(_OPPOSITE[change.action], tuple(item.message_id for item in back), tuple(back))


def _item(state: MessageState, **extra: Any) -> TriageItem:
    return TriageItem(
        message_id=state.id,
        folder_id=state.folder.id,
        folder=state.folder.name,
        uid=state.uid,
        header_id=state.message_id,
        seen=state.seen,
        flagged=state.flagged,
        **extra,
    )


def _move(session: Any, moves: Sequence[tuple[MessageState, FolderRef | None]]) -> tuple[TriageItem, ...]:
    """Move the rows at once, each under its placeholder UID until the server's UID is known."""
    items = tuple(
        _item(state, target_id=target.id, target=target.name) for state, target in moves if target is not None
    )
    mailtriage.move_messages(
        session,
        {
            item.message_id: (item.target_id or 0, mailtriage.placeholder_uid(item.message_id))
            for item in items
        },
    )
    return items


def _expunge(session: Any, states: Sequence[MessageState]) -> tuple[TriageItem, ...]:
    snapshots = mailtriage.snapshot_messages(session, [state.id for state in states])
    mailtriage.delete_messages(session, snapshots)
    return tuple(_item(state, snapshot=snapshots[state.id]) for state in states if state.id in snapshots)


# -- server --------------------------------------------------------------------------------------------


def push(store: Store, section: ImapSection, password: Credential, change: TriageChange) -> None:
    """Write ``change`` to the IMAP server; blocking, for a thread worker.

    Opens its own connection and closes it. Raises :class:`ImapError` with words for the user when
    the server refuses or cannot be reached; then call :func:`revert_local` — the messages the
    server did take are in ``change.pushed`` and stay.
    """
    pending = [item for item in change.items if item.message_id not in change.pushed]
    if not pending:
        return
    where = f"{section.host}:{section.effective_port()}"
    client = connect(section, password)
    try:
        _Pusher(store, client, where, change).run(pending)
    finally:
        close_quietly(client)


class _Pusher:
    def __init__(self, store: Store, client: IMAPClient, where: str, change: TriageChange) -> None:
        self.store = store
        self.client = client
        self.where = where
        self.change = change
        capabilities = set(guarded(where, client.capabilities))
        self.can_move = b"MOVE" in capabilities
        self.uidplus = b"UIDPLUS" in capabilities

    def run(self, pending: Sequence[TriageItem]) -> None:
        missing: list[tuple[str, int]] = []
        for folder, items in _by_folder(pending):
            self._select(folder)
            found = self._resolve(items)
            present = [item for item in items if item.message_id in found]
            if len(present) < len(items):
                missing.append((folder, len(items) - len(present)))
            if present:
                self._apply(folder, present, found)
        if missing:
            where = ", ".join(f"“{name}” ({count})" for name, count in missing)
            raise ImapError(
                _("Some messages were no longer on the server where expected: {where}.").format(where=where),
                _("Someone else moved or deleted them; they were left as the server has them."),
            )

    def _select(self, folder: str) -> None:
        try:
            guarded(self.where, lambda: self.client.select_folder(folder))
        except ImapError as error:
            if not _refused(error):
                raise
            raise ImapError(
                _(
                    "The folder “{folder}” cannot be opened on the server ({said}); nothing changed there."
                ).format(folder=folder, said=_server_said(error)),
                _("Sync the mailbox (ctrl+r) to see the server's folders as they are now."),
            ) from error

    def _resolve(self, items: Sequence[TriageItem]) -> dict[int, int]:
        """message id → its UID in the selected folder, for the messages that are there."""
        known = {item.message_id: item.uid for item in items if item.uid > 0}
        unknown = [item for item in items if item.uid <= 0]
        if unknown:  # a push before this one may have learned the real UID meanwhile
            with self.store.session() as session:
                states = mailtriage.message_states(session, [item.message_id for item in unknown])
            for item in unknown:
                state = states.get(item.message_id)
                if state is not None and state.folder.id == item.folder_id and state.uid > 0:
                    known[item.message_id] = state.uid
        existing: set[int] = set()
        for chunk in _chunks(sorted(set(known.values()))):
            criteria = ["UID", ",".join(str(uid) for uid in chunk)]
            existing.update(guarded(self.where, partial(self.client.search, criteria)))
        found = {message_id: uid for message_id, uid in known.items() if uid in existing}
        for item in unknown:
            if item.message_id not in known:
                uid = self._find(item, taken=set(found.values()))
                if uid is not None:
                    found[item.message_id] = uid
        return found

    def _find(self, item: TriageItem, taken: set[int]) -> int | None:
        """The UID of the message by its Message-ID in the selected folder, if it is there."""
        if not searchable_message_id(item.header_id):
            return None
        criteria = ["HEADER", "Message-ID", item.header_id]
        hits = [uid for uid in guarded(self.where, lambda: self.client.search(criteria)) if uid not in taken]
        if not hits:
            return None
        with self.store.session() as session:
            stored = mailtriage.stored_uids_of(session, item.folder_id, hits)
        # A UID the store already lists is another copy, unless it is this message fetched again.
        fresh = [uid for uid in hits if uid not in stored]
        return max(fresh or hits)

    def _apply(self, folder: str, items: Sequence[TriageItem], found: Mapping[int, int]) -> None:
        action = self.change.action
        if action in _FLAG_ACTIONS:
            column, value = _FLAG_ACTIONS[action]
            uids = [found[item.message_id] for item in items]
            flag = _IMAP_FLAG[column]
            for chunk in _chunks(uids):
                if value:
                    guarded(self.where, partial(self.client.add_flags, chunk, [flag], silent=True))
                else:
                    guarded(self.where, partial(self.client.remove_flags, chunk, [flag], silent=True))
            self.change.pushed.update(item.message_id for item in items)
            return
        expunged = [item for item in items if item.expunges]
        if expunged:
            self._expunge(folder, expunged, found)
        targets: dict[str, list[TriageItem]] = {}
        for item in items:
            if item.moves:
                targets.setdefault(item.target, []).append(item)
        for target, moving in targets.items():
            self._move(folder, target, moving, found)

    def _expunge(self, folder: str, items: Sequence[TriageItem], found: Mapping[int, int]) -> None:
        uids = [found[item.message_id] for item in items]
        for chunk in _chunks(uids):
            guarded(self.where, partial(self.client.add_flags, chunk, [DELETED], silent=True))
            self._expunge_uids(chunk)
        with self.store.session() as session:
            for item in items:
                # A sync between apply_local and now may have fetched it again: it is gone now.
                copy = mailtriage.row_at(session, item.folder_id, found[item.message_id])
                if copy is not None:
                    mailtriage.delete_messages(session, [copy])
        self.change.pushed.update(item.message_id for item in items)

    def _expunge_uids(self, uids: list[int]) -> None:
        if self.uidplus:
            guarded(self.where, lambda: self.client.uid_expunge(uids))
        else:
            # Without UIDPLUS, EXPUNGE takes every \Deleted message of the folder, as mutt does.
            guarded(self.where, lambda: self.client.expunge())

    def _move(self, folder: str, target: str, items: Sequence[TriageItem], found: Mapping[int, int]) -> None:
        uids = sorted(found[item.message_id] for item in items)
        mapping: dict[int, int] = {}
        for chunk in _chunks(uids):
            if self.can_move:
                mapping.update(self._uid_command(b"MOVE", chunk, folder, target))
            else:
                mapping.update(self._uid_command(b"COPY", chunk, folder, target))
                guarded(self.where, partial(self.client.add_flags, chunk, [DELETED], silent=True))
                self._expunge_uids(chunk)
        with self.store.session() as session:
            target_id = items[0].target_id
            assert target_id is not None
            for item in items:
                source_uid = found[item.message_id]
                target_uid = mapping.get(source_uid)
                if target_uid is None:
                    # No COPYUID (a server without UIDPLUS): the placeholder stays until the next
                    # sync of the target folder replaces it with the real message.
                    log.info("no COPYUID for a moved message; the next sync fetches it")
                    continue
                mailtriage.settle_move(
                    session,
                    item.message_id,
                    source_folder_id=item.folder_id,
                    source_uid=source_uid,
                    target_folder_id=target_id,
                    target_uid=target_uid,
                )
        self.change.pushed.update(item.message_id for item in items)

    def _uid_command(self, command: bytes, uids: list[int], folder: str, target: str) -> dict[int, int]:
        """UID MOVE or UID COPY to ``target``; returns source UID → target UID from COPYUID."""
        client = self.client
        imap = client._imap
        imap.untagged_responses.pop("COPYUID", None)
        # The folder name goes through imapclient's own encoding and quoting.
        arguments = [",".join(str(uid) for uid in uids).encode("ascii"), client._normalise_folder(target)]
        typ, data = guarded(self.where, lambda: client._raw_command(command, arguments, uid=True))
        said = _text(data)
        if typ != "OK":
            if "[TRYCREATE]" in said.upper():
                raise ImapError(
                    _("The folder “{target}” is no longer on the server, so nothing was moved.").format(
                        target=target
                    ),
                    _("Sync the mailbox (ctrl+r) to see the folders, or create the folder on the server."),
                )
            raise ImapError(
                _("The server refused to move messages from “{folder}” to “{target}” ({said}).").format(
                    folder=folder, target=target, said=said or typ
                ),
                _("Nothing was moved. Try again later."),
            )
        responses = [*imap.untagged_responses.pop("COPYUID", []), *(data or [])]
        mapping: dict[int, int] = {}
        for response in responses:
            mapping.update(parse_copyuid(response))
        return mapping


# -- helpers -------------------------------------------------------------------------------------------


def parse_copyuid(response: bytes | str | None) -> dict[int, int]:
    """Source UID → target UID from a COPYUID response code (``[COPYUID 12 3:5,9 20:23]``)."""
    if response is None:
        return {}
    text = response.decode("ascii", "replace") if isinstance(response, bytes) else str(response)
    upper = text.upper()
    start = upper.find("COPYUID")
    if start >= 0:
        text = text[start + len("COPYUID") :]
    text = text.split("]", 1)[0]
    words = text.split()
    if len(words) < 3:
        return {}
    try:
        source, target = uid_set(words[1]), uid_set(words[2])
    except ValueError:
        return {}
    if len(source) != len(target):
        return {}
    return dict(zip(source, target, strict=True))


def uid_set(text: str) -> list[int]:
    """The UIDs of an IMAP sequence set such as ``3:5,9``, in the order written."""
    uids: list[int] = []
    for part in text.split(","):
        low, _sep, high = part.partition(":")
        first, last = int(low), int(high or low)
        step = 1 if last >= first else -1
        uids.extend(range(first, last + step, step))
    return uids


def searchable_message_id(value: str) -> bool:
    """A Message-ID that can go into SEARCH HEADER safely: printable ASCII, no line breaks.

    imapclient quotes a value with a quote or a backslash, but not one with an IMAP special
    such as "(" or "{": those are left out (such a message is then found by UID only).
    """
    return 2 < len(value) <= 998 and all("!" <= char <= "~" and char not in "(){%*]" for char in value)


def _by_folder(items: Iterable[TriageItem]) -> Iterator[tuple[str, list[TriageItem]]]:
    groups: dict[str, list[TriageItem]] = {}
    for item in items:
        groups.setdefault(item.folder, []).append(item)
    yield from groups.items()


def _chunks(values: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(values), UID_CHUNK):
        yield list(values[start : start + UID_CHUNK])


def _refused(error: ImapError) -> bool:
    """A NO or BAD from the server (the connection is fine), not a lost connection."""
    from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

    cause = error.__cause__
    return isinstance(cause, IMAPClientError) and not isinstance(cause, IMAPClientAbortError)


def _server_said(error: ImapError) -> str:
    """What the server itself answered, without imaplib's wrapping."""
    text = str(error.__cause__ or error.what)
    if text[:2] in ("b'", 'b"'):
        text = text[2:-1]
    return text.strip()[:200]


def _text(data: Any) -> str:
    if not data:
        return ""
    first = data[0]
    if isinstance(first, bytes):
        return first.decode("utf-8", "replace")
    return str(first or "")
