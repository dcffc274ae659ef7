"""The store's one error type: what happened, and what the user can do about it.

The faults a user must act on (a full disk, a read-only or locked store, a damaged file) are told in
words that are English message ids with ``{placeholders}``. The store knows no UI: the app hands its
translator to :func:`set_translator`, and the words are translated when they are read, so they come out
in the UI's language even though the error was raised in a worker thread.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Mapping
from pathlib import Path

BUSY_TIMEOUT_MS = 5000
LOW_ROOM = 1024 * 1024  # below this many free bytes, an I/O error of the store is the disk filling up

# SQLite's primary result codes (the low byte of an extended code such as SQLITE_IOERR_SHMSIZE).
SQLITE_PERM = 3
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26


def N_(message: str) -> str:
    """Mark ``message`` for translation (extracted by the app's catalog); translated when read."""
    return message


def _as_is(message: str) -> str:
    return message


_translate: Callable[[str], str] = _as_is


def set_translator(translate: Callable[[str], str]) -> None:
    """Show the store's words through ``translate`` (the app's gettext) from now on."""
    global _translate
    _translate = translate


class StoreError(Exception):
    """A problem with the store that the user must act on; never a traceback on screen.

    ``kind`` names the fault for code that acts on it: "full", "read-only", "locked", "damaged",
    "unusable"; "refused" for a store file the app will not use as it is (not a store, written by a
    newer version, no room for the backup before an upgrade); or "" for the other refusals, whose
    words are plain text, not message ids. All but "" are translated (see :func:`refused`).
    """

    def __init__(
        self, what: str, todo: str = "", *, kind: str = "", params: Mapping[str, object] | None = None
    ):
        super().__init__(what)
        self.kind = kind
        self.params = dict(params or {})
        self._what = what
        self._todo = todo

    def _words(self, text: str) -> str:
        if not self.kind or not text:
            return text
        return _translate(text).format(**self.params)

    @property
    def what(self) -> str:
        return self._words(self._what)

    @property
    def todo(self) -> str:
        return self._words(self._todo)

    def __str__(self) -> str:
        return f"{self.what} {self.todo}".strip()


def disk_full(where: Path | str) -> StoreError:
    return StoreError(
        N_("The disk holding the store {where} is full."),
        N_("Nothing was half-saved. Free some disk space, then try again."),
        kind="full",
        params={"where": where},
    )


def read_only(where: Path | str) -> StoreError:
    return StoreError(
        N_("The store {where} (or its directory) is read-only."),
        N_(
            "Nothing was half-saved. Make the file and its directory writable (is the disk mounted "
            "read-only?), then try again."
        ),
        kind="read-only",
        params={"where": where},
    )


def locked(where: Path | str) -> StoreError:
    return StoreError(
        N_("Another program kept the store {where} locked for over {seconds} s."),
        N_(
            "Nothing was half-saved. Close the other program using the store (another coordinator-tui "
            "or sync), then try again."
        ),
        kind="locked",
        params={"where": where, "seconds": BUSY_TIMEOUT_MS // 1000},
    )


def damaged(where: Path | str, said: str) -> StoreError:
    return StoreError(
        N_("The store {where} is damaged ({said})."),
        N_(
            "Run `coordinator-tui doctor`; restore the store from a backup (a copy named *.before-* is "
            "taken before each upgrade)."
        ),
        kind="damaged",
        params={"where": where, "said": said},
    )


def unusable(where: Path | str, said: str) -> StoreError:
    return StoreError(
        N_("The store {where} could not be read or written ({said})."),
        N_("Nothing was half-saved. Check the disk (`coordinator-tui doctor`), then try again."),
        kind="unusable",
        params={"where": where, "said": said},
    )


def refused(what: str, todo: str, **params: object) -> StoreError:
    """The app will not use or change the store file as it is; ``what``/``todo`` are marked message ids."""
    return StoreError(what, todo, kind="refused", params=params)


def sqlite_code(error: BaseException) -> int | None:
    """SQLite's primary result code behind ``error`` (a sqlite3 or SQLAlchemy error), if any."""
    for candidate in (error, getattr(error, "orig", None), error.__cause__):
        code = getattr(candidate, "sqlite_errorcode", None)
        if isinstance(code, int):
            return code & 0xFF
    return None


def store_error_from(error: BaseException, where: Path | str) -> StoreError:
    """Words for the user for what SQLite said; the transaction was rolled back, nothing half-saved.

    SQLite does not always say why a write failed: a full disk often surfaces as an I/O error (the
    shared-memory index or the write-ahead log could not grow), a read-only directory as "unable to
    open". For those the file system itself is asked.
    """
    said = str(getattr(error, "orig", None) or error)
    code = sqlite_code(error)
    path = where if isinstance(where, Path) else None
    if code == SQLITE_FULL:
        return disk_full(where)
    if code in (SQLITE_READONLY, SQLITE_PERM):
        return read_only(where)
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return locked(where)
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return damaged(where, said)
    if code in (SQLITE_IOERR, SQLITE_CANTOPEN) or isinstance(error, OSError):
        if path is not None:
            if _out_of_room(path, error):
                return disk_full(where)
            if _not_writable(path, error):
                return read_only(where)
        return unusable(where, said)
    lowered = said.lower()
    if "disk is full" in lowered:
        return disk_full(where)
    if "readonly" in lowered or "read-only" in lowered:
        return read_only(where)
    if "locked" in lowered or "busy" in lowered:
        return locked(where)
    if "malformed" in lowered or "not a database" in lowered:
        return damaged(where, said)
    return StoreError(f"The store {where} answered with an error: {said}.", "Nothing was half-saved.")


def _out_of_room(path: Path, error: BaseException) -> bool:
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    try:
        stats = os.statvfs(path.parent)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < LOW_ROOM


def _not_writable(path: Path, error: BaseException) -> bool:
    if isinstance(error, OSError) and error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return True
    # access() says EROFS for a read-only mount, also to root.
    return not os.access(path.parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK))
