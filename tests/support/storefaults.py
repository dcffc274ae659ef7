"""Faults under the store for tests: a small disk that fills up, turns read-only, and a lock held elsewhere.

The disk is a real tmpfs mounted by the test (tests run as root here and in CI); the lock is held by
another process through SQLite itself, as another coordinator-tui or an `sqlite3` shell would hold it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import TracebackType

FILLER_CHUNK = 64 * 1024


class MountError(AssertionError):
    """The test cannot build its fault: a failure (with the reason), never a skip."""


def _run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise MountError(
            f"`{' '.join(command)}` failed ({result.returncode}): {result.stderr.strip()}. "
            "These tests mount a small tmpfs and must run as root (as they do in CI)."
        )


class SmallDisk:
    """A tmpfs of ``size`` bytes at ``path``: fill it up, free it, turn it read-only and back."""

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size
        self.filler = path / "filler.bin"
        self.mounted = False

    def mount(self) -> SmallDisk:
        self.path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            raise MountError(
                f"Cannot mount a tmpfs at {self.path}: not root (uid {os.geteuid()}). "
                "These tests fill a real disk; run them as root (CI does)."
            )
        _run("mount", "-t", "tmpfs", "-o", f"size={self.size},mode=0700", "tmpfs", str(self.path))
        self.mounted = True
        return self

    def unmount(self) -> None:
        if self.mounted:
            _run("umount", "-l", str(self.path))
            self.mounted = False

    def __enter__(self) -> SmallDisk:
        return self.mount()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.unmount()

    def free_bytes(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize

    def fill(self, leave: int = 0) -> int:
        """Write a filler file until the disk is full (or only ``leave`` bytes are left); its size."""
        written = 0
        with self.filler.open("ab") as handle:
            while True:
                room = self.free_bytes() - leave
                if room <= 0:
                    break
                try:
                    handle.write(b"\0" * min(FILLER_CHUNK, room))
                    handle.flush()
                except OSError:
                    break
                written += min(FILLER_CHUNK, room)
        return written

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def read_only(self) -> None:
        """Remount read-only; a file open for writing makes the kernel refuse for a moment, so retry."""
        for _attempt in range(100):
            result = subprocess.run(
                ["mount", "-o", "remount,ro", str(self.path)], capture_output=True, text=True, check=False
            )
            if result.returncode == 0:
                return
            time.sleep(0.05)
        raise MountError(f"Cannot remount {self.path} read-only: {result.stderr.strip()}")

    def writable(self) -> None:
        _run("mount", "-o", "remount,rw", str(self.path))


_HOLDER = textwrap.dedent(
    """
    import sqlite3, sys
    connection = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
    if sys.argv[2] == "exclusive-mode":
        connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        connection.execute("BEGIN EXCLUSIVE")
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    else:
        connection.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    sys.stdin.readline()
    connection.execute("ROLLBACK")
    connection.close()
    """
)


class StoreLock:
    """Another process that holds the store's write lock (``mode="write"``: readers still read, as
    with another coordinator-tui writing) or the whole file (``mode="exclusive-mode"``: an sqlite3
    shell with ``PRAGMA locking_mode=EXCLUSIVE``), until :meth:`release`."""

    def __init__(self, path: Path, mode: str = "write") -> None:
        self.path = path
        self.mode = mode
        self.process: subprocess.Popen[str] | None = None

    def hold(self) -> StoreLock:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(self.path), self.mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "locked":
            self.process.kill()
            raise AssertionError(f"the lock holder did not take the lock on {self.path}")
        return self

    def release(self) -> None:
        if self.process is None:
            return
        assert self.process.stdin is not None
        try:
            self.process.stdin.write("\n")
            self.process.stdin.flush()
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self.process = None

    def __enter__(self) -> StoreLock:
        return self.hold()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def another_program_can_write(path: Path) -> bool:
    """Whether another process gets the store's write lock within 3 s (a lock left behind says no)."""
    script = (
        "import sqlite3, sys\n"
        "connection = sqlite3.connect(sys.argv[1], timeout=3, isolation_level=None)\n"
        "connection.execute('BEGIN IMMEDIATE')\n"
        "connection.execute('ROLLBACK')\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True)
    return result.returncode == 0


def integrity(path: Path) -> tuple[str, str]:
    """SQLite's integrity check and the FTS5 indexes' own checks, each "ok" when whole."""
    # Autocommit, and a busy wait: the app under test may be writing meanwhile. The FTS5 check is
    # an INSERT of a command, so it waits for the write lock (it writes nothing).
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        quick = ", ".join(row[0] for row in connection.execute("PRAGMA integrity_check").fetchall())
        names = connection.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND sql LIKE '%USING fts5%'"
        ).fetchall()
        problems = []
        for (name,) in names:
            try:
                connection.execute(f"INSERT INTO {name}({name}) VALUES ('integrity-check')")
            except sqlite3.DatabaseError as error:
                problems.append(f"{name}: {error}")
        return quick, "; ".join(problems) or "ok"
    finally:
        connection.close()


# The search indexes and the tables they index (the rowid code of the shared index: id * 4 + code).
INDEXED = (("mail_message", 0), ("service_request", 1), ("feed_item", 2), ("notice", 3))


def index_mismatches(path: Path) -> list[str]:
    """Tables whose rows and search-index entries differ in number (a change half-saved)."""
    connection = sqlite3.connect(path, timeout=30)  # the app under test may be writing meanwhile
    try:
        found = []
        for table, code in INDEXED:
            rows = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            entries = connection.execute(
                "SELECT count(*) FROM search_index WHERE rowid % 4 = ?", (code,)
            ).fetchone()[0]
            if rows != entries:
                found.append(f"{table}: {rows} rows, {entries} in search_index")
        requests = connection.execute("SELECT count(*) FROM service_request").fetchone()[0]
        entries = connection.execute("SELECT count(*) FROM search_index_request").fetchone()[0]
        if requests != entries:
            found.append(f"service_request: {requests} rows, {entries} in search_index_request")
        return found
    finally:
        connection.close()


def assert_whole(path: Path) -> None:
    """Nothing half-saved: SQLite's and FTS5's own checks pass and every row has its index entry."""
    checked = integrity(path)
    assert checked == ("ok", "ok"), checked
    assert index_mismatches(path) == []


def count(path: Path, sql: str, *params: object) -> int:
    connection = sqlite3.connect(path, timeout=30)  # the app under test may be writing meanwhile
    try:
        return int(connection.execute(sql, params).fetchone()[0])
    finally:
        connection.close()
