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

from store.errors import BUSY_TIMEOUT_MS as BUSY_TIMEOUT_MS  # re-exported: the light read paths use it
from store.errors import N_, StoreError, read_only, refused, store_error_from

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session


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
            raise read_only(path)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        elif stat.S_IMODE(path.stat().st_mode) != 0o600:
            os.chmod(path, 0o600)
    except PermissionError as error:
        raise refused(
            N_("Cannot create or open the store file {path}: permission denied."),
            N_("Check that the directory is writable by you, or point [store] url at another file."),
            path=path,
        ) from error
    except OSError as error:
        out_of_space = error.errno in (errno.ENOSPC, errno.EDQUOT)
        raise refused(
            N_("Cannot create the store file {path}: {reason}."),
            N_("Free some disk space, or point [store] url at another file.")
            if out_of_space
            else N_("Point [store] url at a file in a writable directory."),
            path=path,
            reason=error.strerror,
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
    _keeper: sqlite3.Connection | None = None

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
                problem = store_error_from(error, self.path or self.url)
                if problem.kind in ("full", "read-only", "unusable"):
                    # A connection whose write failed this way can keep SQLite's write lock while it
                    # sits idle in the pool: other programs (a cron sync) found the store locked for
                    # as long as the app ran. And one opened while the file could not be written
                    # stays read-only (the process shares the file's shared-memory index). So the
                    # pool starts afresh; a full disk keeps the index open, for reads to go on.
                    session.close()
                    self.dispose(keep_index=problem.kind == "full")
                raise problem from error
            except BaseException:
                session.rollback()
                raise

    def raw_connection(self) -> sqlite3.Connection:
        """A plain sqlite3 connection for the light read paths (dashboard counts)."""
        if self.path is None:
            raise StoreError("The light read path needs a SQLite file.", "")
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self._keep_index_open()
        return connection

    def _keep_index_open(self) -> None:
        """Keep one idle connection for the life of the store, so the write-ahead log's index stays.

        When the last connection to a WAL database closes, SQLite deletes the -wal and -shm files,
        and the next one must create the index anew: on a full disk it cannot, and even reading
        fails. The light read paths open and close a connection each time; this one stays open
        (idle, it holds no lock), so a disk that fills up stops writes only.
        """
        if self._keeper is not None or self.path is None:
            return
        if not os.access(self.path.parent, os.W_OK):
            return  # one opened now would share a read-only index with the writers, even once writable
        # No busy wait: behind another program's exclusive lock it is simply tried again next time.
        keeper = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=0, check_same_thread=False)
        try:
            keeper.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # maps the -shm index
        except sqlite3.Error:
            keeper.close()
            return
        with self._lock:
            if self._keeper is None:
                self._keeper = keeper
                return
        keeper.close()  # another thread was first

    def dispose(self, *, keep_index: bool = False) -> None:
        """Close the store's connections (``keep_index``: all but the one that keeps the WAL index)."""
        with self._lock:
            engine, self._engine = self._engine, None
            keeper = None
            if not keep_index:
                keeper, self._keeper = self._keeper, None
        if engine is not None:
            engine.dispose()
        if keeper is not None:
            keeper.close()


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
        raise refused(
            N_("Cannot read the store file {path}: {reason}."),
            N_("Check the file's permissions, or point [store] url at another file."),
            path=path,
            reason=error.strerror,
        ) from error
    if header and header != b"SQLite format 3\x00":
        raise refused(
            N_("The store file {path} is not a coordinator-tui store (it is not a SQLite database)."),
            N_("Nothing was changed. Move the file aside, or point [store] url at the right file."),
            path=path,
        )
