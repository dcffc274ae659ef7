"""Opening the store: one engine per process, a session per unit of work, migrations at start-up."""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from store.errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

BUSY_TIMEOUT_MS = 5000


def sqlite_path_of(url: str) -> Path | None:
    """The file behind a ``sqlite:///`` URL, or None for other databases and in-memory SQLite."""
    if not url.startswith("sqlite"):
        return None
    rest = url.split(":///", 1)[1] if ":///" in url else ""
    rest = rest.split("?", 1)[0]
    if not rest or rest == ":memory:":
        return None
    return Path(rest)


def url_for_path(path: Path) -> str:
    return f"sqlite:///{path}"


def prepare_private_file(path: Path) -> None:
    """Create the store's directory 0700 and its file 0600 before SQLite opens it.

    SQLite creates its -wal and -shm files with the main file's permissions, so the
    whole store stays readable by its owner only.
    """
    parent = path.parent
    try:
        if not parent.exists():
            parent.mkdir(parents=True, mode=0o700)
        elif not parent.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(parent))
        # SQLite in WAL mode writes -wal and -shm files beside the store: the directory itself
        # must be writable, or every later write fails in the middle of the user's work.
        if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise StoreError(
                f"The store {path} (or its directory) is read-only.",
                "Make the directory writable, or point [store] url at a file in a writable directory.",
            )
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        elif stat.S_IMODE(path.stat().st_mode) != 0o600:
            os.chmod(path, 0o600)
    except PermissionError as error:
        raise StoreError(
            f"Cannot create or open the store file {path}: permission denied.",
            "Check that the directory is writable by you, or point [store] url at another file.",
        ) from error
    except OSError as error:
        out_of_space = error.errno in (errno.ENOSPC, errno.EDQUOT)
        raise StoreError(
            f"Cannot create the store file {path}: {error.strerror}.",
            "Free some disk space, or point [store] url at another file."
            if out_of_space
            else "Point [store] url at a file in a writable directory.",
        ) from error


def _set_sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the UI read while a sync worker writes; NORMAL is durable at checkpoints,
    # which is the usual pairing with WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


@dataclass
class Store:
    """The open store of this process. Create with :func:`open_store`."""

    url: str
    path: Path | None
    _engine: Engine | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def engine(self) -> Engine:
        # Built on first use so that the app's first frame does not wait for SQLAlchemy's import.
        with self._lock:
            if self._engine is None:
                self._engine = make_engine(self.url)
            return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session for one unit of work: commits on success, rolls back on error.

        Each call makes its own session, so it is safe to use from Textual thread workers.
        """
        from sqlalchemy.exc import DatabaseError, IntegrityError
        from sqlmodel import Session

        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except IntegrityError:
                session.rollback()
                raise  # a broken rule of the data, for the caller to handle, not a store failure
            except DatabaseError as error:
                session.rollback()
                raise store_error_from(error, self.path or self.url) from error
            except BaseException:
                session.rollback()
                raise

    def raw_connection(self) -> sqlite3.Connection:
        """A plain sqlite3 connection for the light read paths (dashboard counts)."""
        if self.path is None:
            raise StoreError("The light read path needs a SQLite file.", "")
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return connection

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def store_error_from(error: Exception, where: Path | str) -> StoreError:
    """Words for the user for what SQLite said; the transaction was rolled back, nothing half-saved."""
    said = str(getattr(error, "orig", None) or error)
    lowered = said.lower()
    if "disk is full" in lowered or "database or disk is full" in lowered:
        return StoreError(
            f"The disk holding the store {where} is full; the last change was not saved.",
            "The store is as it was before the change. Free some disk space and try again.",
        )
    if "readonly" in lowered or "read-only" in lowered:
        return StoreError(
            f"The store {where} is read-only; the last change was not saved.",
            "Make the file and its directory writable, or point [store] url at another file.",
        )
    if "locked" in lowered or "busy" in lowered:
        return StoreError(
            f"Another program kept the store {where} locked for over {BUSY_TIMEOUT_MS // 1000} s; "
            "the last change was not saved.",
            "Close the other coordinator-tui (or sync) and try again.",
        )
    if "malformed" in lowered or "not a database" in lowered:
        return StoreError(
            f"The store {where} is damaged ({said}).",
            "Run `coordinator-tui doctor`; restore it from a backup (*.before-* copies are taken "
            "before each upgrade).",
        )
    return StoreError(f"The store {where} refused a change: {said}.", "Nothing was half-saved.")


def make_engine(url: str) -> Engine:
    from sqlalchemy import event
    from sqlmodel import create_engine

    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _set_sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open (and create) the store at ``url`` and bring its schema to the newest revision.

    Raises :class:`StoreError` with a message for the user when the file is not a store,
    is damaged, is from a newer version of the app, or cannot be written.
    """
    path = sqlite_path_of(url)
    if path is not None:
        path = path.expanduser()
        url = url_for_path(path)
        if path.exists():
            check_is_sqlite(path)  # before touching the file's mode: a foreign file stays as it was
        prepare_private_file(path)
    store = Store(url=url, path=path)
    if migrate:
        from store.migrate import ensure_current

        ensure_current(store)
    return store


def check_is_sqlite(path: Path) -> None:
    """Refuse a file that is not a SQLite database, before anything writes to it."""
    try:
        with path.open("rb") as handle:
            header = handle.read(16)
    except OSError as error:
        raise StoreError(f"Cannot read the store file {path}: {error.strerror}.", "") from error
    if header and header != b"SQLite format 3\x00":
        raise StoreError(
            f"The store file {path} is not a coordinator-tui store (it is not a SQLite database).",
            "Nothing was changed. Move the file aside, or point [store] url at the right file.",
        )
