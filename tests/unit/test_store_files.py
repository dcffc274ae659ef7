"""The store on disk: private file modes, the connection's pragmas, clear errors when it cannot be made."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select

from coordinator_tui import i18n
from store.engine import (
    BUSY_TIMEOUT_MS,
    Store,
    check_is_sqlite,
    open_store,
    prepare_private_file,
    sqlite_path_of,
)
from store.errors import StoreError
from store.models import MailFolder, MailMessage, Unit

NOBODY = 65534


@pytest.fixture(autouse=True)
def english() -> None:
    """The store's words are asserted in English (the message ids); tests/conftest.py sets Finnish."""
    i18n.set_language("en")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    # With umask 0 any mode the code does not set itself would show up as world-readable.
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture(scope="module")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "store.sqlite"
    open_store(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def store(template_store: Path, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "store.sqlite"
    shutil.copy(template_store, path)
    opened = open_store(f"sqlite:///{path}")
    yield opened
    opened.dispose()


# --- file modes ------------------------------------------------------------------------------


def test_new_store_is_private(tmp_path: Path, permissive_umask: None) -> None:
    path = tmp_path / "data" / "coordinator-tui" / "store.sqlite"
    store = open_store(f"sqlite:///{path}")
    try:
        assert mode(path.parent) == 0o700
        assert mode(path) == 0o600
        with store.session() as session:
            session.add(Unit(name="Keskustan terveysasema"))
        # The -wal and -shm exist while the engine holds a connection; SQLite gives them the main file's mode.
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            assert side.exists(), suffix
            assert mode(side) == 0o600, suffix
    finally:
        store.dispose()


def test_existing_empty_file_with_loose_mode_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    path.touch()
    path.chmod(0o644)
    open_store(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600
    assert path.stat().st_size > 0  # it became a store


def test_existing_store_with_loose_mode_is_tightened(template_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    shutil.copy(template_store, path)
    path.chmod(0o666)
    open_store(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600


def test_prepare_private_file_keeps_content(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    path.write_bytes(b"SQLite format 3\x00rest")
    path.chmod(0o664)
    prepare_private_file(path)
    assert path.read_bytes() == b"SQLite format 3\x00rest"
    assert mode(path) == 0o600


def test_tilde_in_the_url_is_the_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    store = open_store("sqlite:///~/coordinator/store.sqlite")
    store.dispose()
    assert store.path == tmp_path / "coordinator" / "store.sqlite"
    assert store.url == f"sqlite:///{tmp_path}/coordinator/store.sqlite"
    assert store.path.is_file()


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:////var/lib/coordinator/store.sqlite", Path("/var/lib/coordinator/store.sqlite")),
        ("sqlite:///store.sqlite?timeout=5", Path("store.sqlite")),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("postgresql://coordinator@db.example.fi/store", None),
    ],
)
def test_sqlite_path_of(url: str, path: Path | None) -> None:
    assert sqlite_path_of(url) == path


# --- the connection --------------------------------------------------------------------------


def test_session_connection_pragmas(store: Store) -> None:
    with store.session() as session:
        connection = session.connection()

        def pragma(name: str) -> object:
            return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == BUSY_TIMEOUT_MS == 5000
        assert pragma("synchronous") == 1  # NORMAL


def test_foreign_key_violation_is_refused(store: Store) -> None:
    with pytest.raises(IntegrityError, match="FOREIGN KEY constraint failed"), store.session() as session:
        session.add(MailMessage(folder_id=999, uid=1, subject="orphan"))
    with store.session() as session:
        assert session.exec(select(func.count()).select_from(MailMessage)).one() == 0


def test_cascade_follows_foreign_keys(store: Store) -> None:
    with store.session() as session:
        folder = MailFolder(name="INBOX")
        session.add(folder)
        session.flush()
        session.add(MailMessage(folder_id=folder.id, uid=1))
    with store.session() as session:
        session.delete(session.exec(select(MailFolder)).one())
    with store.session() as session:
        assert session.exec(select(func.count()).select_from(MailMessage)).one() == 0


def test_session_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError, match="half way"), store.session() as session:
        session.add(Unit(name="Puolivalmis"))
        session.flush()
        raise RuntimeError("half way")
    with store.session() as session:
        assert session.exec(select(Unit)).all() == []


def test_sessions_from_several_threads(store: Store) -> None:
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for n in range(15):
                with store.session() as session:
                    session.add(Unit(name=f"yksikkö {worker}-{n}"))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with store.session() as session:
        assert session.exec(select(func.count()).select_from(Unit)).one() == 60


def test_raw_connection_is_read_only(store: Store) -> None:
    with store.session() as session:
        session.add(Unit(name="Pohjoinen"))
    connection = store.raw_connection()
    try:
        assert connection.execute("SELECT name FROM unit").fetchall() == [("Pohjoinen",)]
        assert connection.execute("PRAGMA busy_timeout").fetchone() == (BUSY_TIMEOUT_MS,)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            connection.execute("INSERT INTO unit (name, area, code, created_at) VALUES ('x', '', '', '')")
    finally:
        connection.close()


# --- refusing files --------------------------------------------------------------------------


def test_check_is_sqlite(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    check_is_sqlite(empty)  # a new, empty file is fine
    short = tmp_path / "short.sqlite"
    short.write_bytes(b"hello")
    with pytest.raises(StoreError, match="not a SQLite database"):
        check_is_sqlite(short)


@contextmanager
def unprivileged() -> Iterator[None]:
    """Run the block as 'nobody' when the tests run as root, for whom directory modes mean nothing."""
    if os.geteuid() != 0:
        yield
        return
    try:
        os.setegid(NOBODY)
        os.seteuid(NOBODY)
    except PermissionError:
        os.setegid(0)
        pytest.fail("running as root without the right to drop privileges: cannot test directory modes")
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.mark.parametrize("where", ["store.sqlite", "new-dir/store.sqlite"])
def test_read_only_directory_is_refused_clearly(tmp_path: Path, where: str) -> None:
    # As root the directory must also be reachable by 'nobody', which tmp_path (under a 0700
    # directory) is not; a world-traversable directory of its own is.
    base = Path(tempfile.mkdtemp(prefix="coordinator-tui-ro-")) if os.geteuid() == 0 else tmp_path
    base.chmod(0o755)
    read_only = base / "read-only"
    read_only.mkdir()
    read_only.chmod(0o555)
    path = read_only / where
    try:
        with unprivileged(), pytest.raises(StoreError) as caught:
            open_store(f"sqlite:///{path}")
        assert caught.value.what == f"Cannot create or open the store file {path}: permission denied."
        assert "writable" in caught.value.todo
        assert not path.exists()
    finally:
        read_only.chmod(0o755)
        if base != tmp_path:
            shutil.rmtree(base)


def test_store_under_a_regular_file_is_refused_clearly(tmp_path: Path) -> None:
    # Works as root too: no permission bit lets a path go through a regular file.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a directory should be\n")
    path = blocker / "store.sqlite"
    with pytest.raises(StoreError) as caught:
        open_store(f"sqlite:///{path}")
    assert caught.value.what == f"Cannot create the store file {path}: Not a directory."
    assert "writable directory" in caught.value.todo
    assert "disk space" not in caught.value.todo
    assert blocker.read_text() == "a file where a directory should be\n"


def test_advice_fits_the_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.touch()
    with pytest.raises(StoreError) as caught:
        open_store(f"sqlite:///{blocker / 'store.sqlite'}")
    assert "disk space" not in caught.value.todo
