"""SIGKILL trials shared by tests/integration/test_kill_trials.py (a few, seeded) and bench/faults.py (>= 50).

Four cases, each a subprocess doing what `coordinator-tui` does, killed at a random (seeded) moment:

- ``migration``: ``open_store`` on a store at revision 0001 with thousands of rows, upgrading it to
  the head revision (schema changes and search-index backfills), with its backup copy first;
- ``csv_import``: the directory CSV import's confirm step (``DirectoryService.apply_import``) of a
  file that adds and changes many people;
- ``imap_sync``: ``coordinator-tui sync`` against a private Dovecot (:class:`ImapSyncCase`);
- ``notice_send``: ``coordinator-tui outbox send-due`` sending a notice in batches to aiosmtpd
  (:class:`NoticeSendCase`).

After each kill: ``PRAGMA integrity_check`` (and FTS5's integrity check) is ok, every ``*.before-*``
backup left beside the store is a whole store, the next run completes, and the rows are exactly those
expected: nothing lost, nothing twice. The run after the kill calls the same functions in this
process (no new interpreter's imports each trial). The network cases start their server once and
reuse it (``close()`` stops it); a trial resets only the store.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.dovecot import Dovecot

ROOT = Path(__file__).resolve().parents[2]
WHEN = "2026-11-01 08:00:00.000000"
# Sized so that each step takes about a second on the 2-core machine: long enough to be killed
# anywhere inside (its search-index backfill, its backup copy, its batches of rows), short enough
# for >= 50 kills of each of the four cases within a few minutes (bench/faults.py).
MAIL_ROWS = 3000
REQUEST_ROWS = 800
PEOPLE_BEFORE = 300
PEOPLE_ADDED = 1500
PEOPLE_CHANGED = 200

MIGRATE_SCRIPT = """
import sys
from pathlib import Path
from store.engine import open_store, url_for_path
print("start", flush=True)
store = open_store(url_for_path(Path(sys.argv[1])))
store.dispose()
print("done", flush=True)
"""

IMPORT_SCRIPT = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from coordinator_tui.directory.service import DirectoryService
from store.engine import open_store, url_for_path
store = open_store(url_for_path(Path(sys.argv[1])))
service = DirectoryService(store, clock=lambda: datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
preview = service.preview_import(Path(sys.argv[2]).read_bytes())
print("start", flush=True)
service.apply_import(preview)
store.dispose()
print("done", flush=True)
"""


@dataclass
class Trial:
    case: str
    number: int
    delay: float  # seconds after the subprocess said "start" (or after it started: phase "any")
    phase: str  # "any" (from the process start), "work" (after its "start" line), "backup" (just after it)
    # "data" (notice_send: just as the server took a batch)
    killed: bool = False  # False: it finished before the kill
    state_after_kill: str = ""  # e.g. "old", "new", "partial?"
    at_batch: int = 0  # notice_send "work"/"data": the kill came after the server took this many batches
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# --- stores -------------------------------------------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30)


def build_old_store(path: Path) -> None:
    """A store at revision 0001 with mail, requests and people, written as 0001 has them."""
    from store.engine import open_store, url_for_path
    from store.migrate import upgrade

    store = open_store(url_for_path(path), migrate=False)
    upgrade(store, "0001")
    store.dispose()
    connection = _connect(path)
    with connection:
        connection.execute(
            "INSERT INTO mail_folder (id, name, role, highest_uid, last_error) "
            "VALUES (1, 'INBOX', 'inbox', ?, '')",
            (MAIL_ROWS,),
        )
        connection.executemany(
            'INSERT INTO mail_message (folder_id, uid, message_id, in_reply_to, "references", thread_key, '
            "subject, from_name, from_addr, to_addrs, cc_addrs, date, seen, flagged, answered, size, "
            "has_attachments, snippet, body_text, parse_note) "
            "VALUES (1, ?, ?, '', '', ?, ?, 'Asiakas', ?, '', '', ?, 0, 0, 0, 100, 0, ?, ?, '')",
            (
                (
                    uid,
                    f"<m{uid}@example.fi>",
                    f"<m{uid}@example.fi>",
                    f"Viesti {uid} työjonolähetys",
                    f"asiakas{uid}@example.fi",
                    WHEN,
                    f"Hei {uid}",
                    f"Hei, tässä viesti {uid}. Yöpäivystys ja ääkköset, sana{uid}.\n" * 6,
                )
                for uid in range(1, MAIL_ROWS + 1)
            ),
        )
        connection.executemany(
            "INSERT INTO service_request (reference, year, seq, title, description, requester_email, "
            "category, status, assignee, digifinland_ticket, tags, created_at, updated_at, version) "
            "VALUES (?, 2026, ?, ?, ?, '', '', 'new', '', '', '[]', ?, ?, 1)",
            (
                (f"OMA-2026-{seq:04d}", seq, f"Pyyntö {seq}", f"Kuvaus pyynnöstä {seq}", WHEN, WHEN)
                for seq in range(1, REQUEST_ROWS + 1)
            ),
        )
    connection.close()


def build_people_store(path: Path) -> None:
    """A store at head with PEOPLE_BEFORE people."""
    from store.engine import open_store, url_for_path

    store = open_store(url_for_path(path))
    store.dispose()
    connection = _connect(path)
    with connection:
        connection.executemany(
            "INSERT INTO person (name, email, phone, roles, language, active, created_at, updated_at) "
            "VALUES (?, ?, '', '[]', 'fi', 1, ?, ?)",
            ((f"Vanha Henkilö {n}", f"vanha{n}@example.fi", WHEN, WHEN) for n in range(PEOPLE_BEFORE)),
        )
    connection.close()


def import_file(path: Path) -> Path:
    lines = ["name;email;phone;language"]
    for n in range(PEOPLE_CHANGED):
        lines.append(f"Muuttunut Henkilö {n};vanha{n}@example.fi;+358 40 {n:07d};sv")
    for n in range(PEOPLE_ADDED):
        lines.append(f"Uusi Henkilö {n};uusi{n}@example.fi;;fi")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def copy_store(template: Path, target: Path) -> None:
    source, destination = sqlite3.connect(template), sqlite3.connect(target)
    source.backup(destination)
    source.close()
    destination.close()
    os.chmod(target, 0o600)


# --- checks -------------------------------------------------------------------------------------


def integrity_problems(path: Path) -> list[str]:
    problems = []
    connection = _connect(path)
    try:
        result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            problems.append(f"{path.name}: integrity_check says {result[:3]}")
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%USING fts5%'"
            )
        ]
        for table in tables:
            try:
                connection.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
            except sqlite3.DatabaseError as error:
                problems.append(f"{path.name}: FTS table {table}: {error}")
    except sqlite3.DatabaseError as error:
        problems.append(f"{path.name}: {error}")
    finally:
        connection.close()
    return problems


def revision(path: Path) -> str:
    connection = _connect(path)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        return str(row[0]) if row else ""
    except sqlite3.DatabaseError:
        return ""
    finally:
        connection.close()


def counts(path: Path) -> dict[str, int]:
    """Rows and distinct keys; {} when the file holds no store at all."""
    connection = _connect(path)
    try:
        return {
            "mail": connection.execute("SELECT count(*) FROM mail_message").fetchone()[0],
            "mail_distinct": connection.execute(
                "SELECT count(*) FROM (SELECT DISTINCT folder_id, uid FROM mail_message)"
            ).fetchone()[0],
            "requests": connection.execute("SELECT count(*) FROM service_request").fetchone()[0],
            "requests_distinct": connection.execute(
                "SELECT count(DISTINCT reference) FROM service_request"
            ).fetchone()[0],
            "people": connection.execute("SELECT count(*) FROM person").fetchone()[0],
            "people_distinct": connection.execute(
                "SELECT count(DISTINCT lower(email)) FROM person"
            ).fetchone()[0],
            "people_changed": connection.execute(
                "SELECT count(*) FROM person WHERE name LIKE 'Muuttunut %' AND language = 'sv'"
            ).fetchone()[0],
        }
    except sqlite3.DatabaseError:
        return {}
    finally:
        connection.close()


def search_finds(path: Path, word: str) -> bool:
    from store.engine import open_store, url_for_path
    from store.search import search

    store = open_store(url_for_path(path))
    try:
        with store.session() as session:
            return bool(search(session, word))
    finally:
        store.dispose()


# --- running and killing ------------------------------------------------------------------------


def _start(script: str, *args: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_to_end(script: str, *args: Path) -> float:
    """Run the step without a kill; the seconds from its "start" line to its end."""
    process = _start(script, *args)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.strip() == "start", (line, process.stderr.read() if process.stderr else "")
    began = time.monotonic()
    _out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-2000:]
    return time.monotonic() - began


# The next run after a kill, in this process: the same code as the scripts above, without a new
# interpreter's imports each time (a second a trial, most of a trial's cost on the 2-core machine).


def migrate_here(path: Path) -> None:
    from store.engine import open_store, url_for_path

    open_store(url_for_path(path)).dispose()


def import_here(path: Path, csv: Path) -> None:
    from datetime import UTC, datetime

    from coordinator_tui.directory.service import DirectoryService
    from store.engine import open_store, url_for_path

    store = open_store(url_for_path(path))
    try:
        service = DirectoryService(store, clock=lambda: datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
        service.apply_import(service.preview_import(csv.read_bytes()))
    finally:
        store.dispose()


def run_and_kill(script: str, args: tuple[Path, ...], phase: str, delay: float) -> bool:
    """Start the step and SIGKILL it ``delay`` s after its start ("any") or its "start" line ("work")."""
    process = _start(script, *args)
    assert process.stdout is not None
    if phase == "work":
        line = process.stdout.readline()
        if line.strip() != "start":
            process.wait(timeout=60)
            raise AssertionError(
                f"the step failed before its work: {process.stderr.read() if process.stderr else ''}"
            )
    time.sleep(delay)
    if process.poll() is not None:
        process.communicate()
        return False
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    return process.returncode == -signal.SIGKILL


# --- the two cases ------------------------------------------------------------------------------


class MigrationCase:
    name = "migration"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.template = workdir / "old-template.sqlite"
        build_old_store(self.template)
        self.expected = counts(self.template)
        probe = workdir / "probe" / "store.sqlite"
        probe.parent.mkdir()
        copy_store(self.template, probe)
        self.whole_start = time.monotonic()
        self.duration = run_to_end(MIGRATE_SCRIPT, probe)
        from store.migrate import head_revision

        self.head = head_revision()
        assert revision(probe) == self.head

    def trial(self, number: int, rng: random.Random) -> Trial:
        folder = self.workdir / f"trial-{number}"
        folder.mkdir()
        path = folder / "store.sqlite"
        copy_store(self.template, path)
        phase = rng.choice(["any", "work", "work", "backup"])
        if phase == "backup":  # the first moments after "start": the copy taken before the upgrade
            delay = rng.uniform(0.0, 0.4)
        else:
            delay = rng.uniform(0, self.duration * 0.9) + (rng.uniform(0, 0.5) if phase == "any" else 0)
        trial = Trial(self.name, number, round(delay, 3), phase)
        trial.killed = run_and_kill(MIGRATE_SCRIPT, (path,), "any" if phase == "any" else "work", delay)
        trial.problems += integrity_problems(path)
        current = revision(path)
        trial.state_after_kill = "new" if current == self.head else ("old" if current == "0001" else current)
        if current not in ("0001", self.head):
            trial.problems.append(f"the kill left the store at revision {current!r}, neither old nor new")
        self._check_backups(folder, trial)
        try:
            migrate_here(path)
        except Exception as error:  # the next run must complete: any failure is the finding
            trial.problems.append(f"the next run failed: {type(error).__name__}: {str(error)[-500:]}")
            return trial
        trial.problems += integrity_problems(path)
        if revision(path) != self.head:
            trial.problems.append(f"the next run left revision {revision(path)!r}")
        after = counts(path)
        if after != self.expected:
            trial.problems.append(f"rows changed: {self.expected} -> {after}")
        if not search_finds(path, f"sana{MAIL_ROWS // 2}"):
            trial.problems.append("search does not find a message after the upgrade")
        shutil.rmtree(folder, ignore_errors=True)
        return trial

    def _check_backups(self, folder: Path, trial: Trial) -> None:
        for backup in sorted(folder.glob("store.sqlite.before-*")):
            if backup.name.endswith(("-journal", "-wal", "-shm")) or ".partial" in backup.name:
                continue  # a copy cut short is named *.partial: nobody restores from it
            problems = integrity_problems(backup)
            if problems:
                trial.problems += [f"backup {backup.name}: {problem}" for problem in problems]
                continue
            if revision(backup) != "0001" or counts(backup) != self.expected:
                trial.problems.append(
                    f"backup {backup.name} is not a whole copy (revision {revision(backup)!r}, "
                    f"{counts(backup).get('mail', 0)} of {self.expected['mail']} messages)"
                )


class CsvImportCase:
    name = "csv_import"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.template = workdir / "people-template.sqlite"
        build_people_store(self.template)
        self.csv = import_file(workdir / "people.csv")
        self.before = counts(self.template)
        probe = workdir / "probe-import" / "store.sqlite"
        probe.parent.mkdir()
        copy_store(self.template, probe)
        self.duration = run_to_end(IMPORT_SCRIPT, probe, self.csv)
        self.after = counts(probe)
        assert self.after["people"] == PEOPLE_BEFORE + PEOPLE_ADDED, self.after
        assert self.after["people_changed"] == PEOPLE_CHANGED, self.after

    def trial(self, number: int, rng: random.Random) -> Trial:
        folder = self.workdir / f"import-{number}"
        folder.mkdir()
        path = folder / "store.sqlite"
        copy_store(self.template, path)
        phase = rng.choice(["any", "work", "work"])
        delay = rng.uniform(0, self.duration * 0.9) + (rng.uniform(0, 0.5) if phase == "any" else 0)
        trial = Trial(self.name, number, round(delay, 3), phase)
        trial.killed = run_and_kill(IMPORT_SCRIPT, (path, self.csv), phase, delay)
        trial.problems += integrity_problems(path)
        now = counts(path)
        if now == self.before:
            trial.state_after_kill = "old"
        elif now == self.after:
            trial.state_after_kill = "new"
        else:
            trial.state_after_kill = "partial"
            trial.problems.append(f"a partial import after the kill: {now}")
        try:
            import_here(path, self.csv)
        except Exception as error:  # the next run must complete: any failure is the finding
            trial.problems.append(f"the next import failed: {type(error).__name__}: {str(error)[-500:]}")
            return trial
        trial.problems += integrity_problems(path)
        final = counts(path)
        if final != self.after:
            trial.problems.append(f"after the next import: {final}, expected {self.after}")
        shutil.rmtree(folder, ignore_errors=True)
        return trial


# --- the network cases: shared helpers ----------------------------------------------------------


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)


def _scalar(path: Path, sql: str, *params: object) -> Any:
    """One value read beside a running process (WAL lets readers in); None when not readable yet."""
    if not path.exists():
        return None
    try:
        connection = _read_only(path)
        try:
            row = connection.execute(sql, params).fetchone()
            return row[0] if row else None
        finally:
            connection.close()
    except sqlite3.Error:  # not created yet, or the schema is being made
        return None


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its parent (init here) has not reaped it yet


def _kill(process: subprocess.Popen[bytes], trial: Trial) -> None:
    """SIGKILL ``process`` now (unless it has ended); its children must not outlive it."""
    if process.poll() is not None:
        process.wait()
        return
    workers = children(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    trial.killed = process.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in workers):
        if time.monotonic() > deadline:
            trial.problems.append(f"child processes {workers} outlived the killed process")
            break
        time.sleep(0.02)


def _wait_until(process: subprocess.Popen[bytes], ready: Callable[[], bool], limit: float = 120) -> bool:
    """Poll ``ready()`` every few ms; False when the process ended first."""
    deadline = time.monotonic() + limit
    while not ready():
        if process.poll() is not None:
            return False
        if time.monotonic() > deadline:
            raise AssertionError(f"no progress in {limit} s")
        time.sleep(0.003)
    return True


def _cli(config: Path, *args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``coordinator-tui --config CONFIG ARGS`` as cron runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "coordinator_tui", "--config", str(config), *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _server_root() -> Path:
    """Outside pytest's basetemp: Dovecot's mail processes (another uid as root) walk this path."""
    return Path(tempfile.mkdtemp(prefix="coordinator-tui-dovecot-"))


def _remove_store(path: Path) -> None:
    for leftover in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))):
        leftover.unlink(missing_ok=True)


# --- imap_sync ----------------------------------------------------------------------------------

SYNC_INBOX = 600
SYNC_ARCHIVE = 150
SYNC_FOLDERS = ("INBOX", "Archive", "Sent", "Trash")


def sync_mail(number: int, folder: str) -> bytes:
    return (
        f"From: Asiakas {number} <asiakas{number}@example.fi>\r\n"
        f"To: omaolo@pohde.example.fi\r\n"
        f"Subject: Viesti {folder} {number} tunnus{number}x\r\n"
        f"Message-ID: <killtrial-{folder}-{number}@example.fi>\r\n"
        f"Date: Thu, 26 Nov 2026 09:{number % 60:02d}:00 +0200\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n" + f"Hei, tässä viesti numero {number}. Yöpäivystys ja ääkköset.\r\n" * 8
    ).encode()


def server_flags(server: Dovecot, folders: Iterable[str]) -> dict[str, dict[int, tuple[bool, bool]]]:
    """Per folder, each UID on the server with its (\\Seen, \\Flagged)."""
    from imapclient.imapclient import FLAGGED, SEEN

    state = {}
    with server.connect() as client:
        for folder in folders:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            data = client.fetch(uids, ["FLAGS"]) if uids else {}
            state[folder] = {
                uid: (SEEN in values[b"FLAGS"], FLAGGED in values[b"FLAGS"]) for uid, values in data.items()
            }
    return state


def stored_flags(path: Path) -> dict[str, list[tuple[int, tuple[bool, bool]]]]:
    """Per folder, each stored message's UID with its (seen, flagged), by UID; a UID twice stays twice."""
    connection = _connect(path)
    try:
        rows = connection.execute(
            "SELECT f.name, m.uid, m.seen, m.flagged FROM mail_message m "
            "JOIN mail_folder f ON f.id = m.folder_id ORDER BY f.name, m.uid"
        ).fetchall()
    finally:
        connection.close()
    stored: dict[str, list[tuple[int, tuple[bool, bool]]]] = {}
    for folder, uid, seen, flagged in rows:
        stored.setdefault(folder, []).append((uid, (bool(seen), bool(flagged))))
    return stored


class ImapSyncCase:
    """``coordinator-tui sync`` (a subprocess, as cron runs it) against a private Dovecot, killed.

    The mailbox changes on the server before each trial (expunges, flags both ways, new mail). About
    a third of the trials start from an empty store (a full sync to kill); the rest go on from the
    store the previous trial left (an incremental sync). After the kill: SQLite's and FTS5's checks,
    no message twice; then a sync run to its end (in this process, the same ``sync_account``) must
    leave per folder exactly the server's UIDs with the server's \\Seen and \\Flagged.
    """

    name = "imap_sync"

    def __init__(self, workdir: Path) -> None:
        from tests.support.dovecot import Dovecot, generate_tls_files, seed_maildir

        self.workdir = workdir
        self.root = _server_root()
        self.server = Dovecot(self.root, generate_tls_files(self.root / "tls"))
        try:
            self.server.start()
            seed_maildir(self.server, "INBOX", (sync_mail(n, "INBOX") for n in range(SYNC_INBOX)))
            seed_maildir(
                self.server,
                "Archive",
                (sync_mail(n, "Archive") for n in range(SYNC_ARCHIVE)),
                seen=(n % 3 != 0 for n in range(SYNC_ARCHIVE)),
            )
            self.account = self.server.account()
            self.next_number = SYNC_INBOX
            self.template = workdir / "empty-store.sqlite"
            from store.engine import open_store, url_for_path

            open_store(url_for_path(self.template)).dispose()
            self.path = workdir / "sync" / "store.sqlite"
            self.path.parent.mkdir()
            self.config = workdir / "sync" / "config.toml"
            self.config.write_text(
                f'[store]\nurl = "sqlite:///{self.path}"\n'
                f'[imap]\nhost = "{self.account.host}"\nport = {self.account.port}\nsecurity = "tls"\n'
                f'username = "{self.account.username}"\nca_file = "{self.account.ca_file}"\n',
                encoding="utf-8",
            )
            self._fresh_store()
            self.full = self._run_to_end()  # from the process start, as the kills count
            self.incremental = min(self._run_to_end() for _ in range(2))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.server.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def _fresh_store(self) -> None:
        _remove_store(self.path)
        copy_store(self.template, self.path)

    def _start(self) -> subprocess.Popen[bytes]:
        return _cli(
            self.config, "sync", "--json", env={"COORDINATOR_TUI_IMAP_PASSWORD": self.account.password}
        )

    def _run_to_end(self) -> float:
        began = time.monotonic()
        process = self._start()
        _out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err.decode(errors="replace")[-2000:]
        return time.monotonic() - began

    def _change_mailbox(self, rng: random.Random) -> None:
        from imapclient.imapclient import FLAGGED, SEEN

        with self.server.connect() as client:
            for folder in ("INBOX", "Archive"):
                client.select_folder(folder)
                uids = sorted(client.search("ALL"))
                if len(uids) > 50 and rng.random() < 0.7:
                    client.delete_messages(rng.sample(uids, rng.randint(1, 4)))
                    client.expunge()
                    uids = sorted(client.search("ALL"))
                for flag in (SEEN, FLAGGED):
                    if rng.random() < 0.6:
                        start = rng.randrange(len(uids))
                        chosen = uids[start : start + rng.randint(1, 80)]
                        change = client.add_flags if rng.random() < 0.5 else client.remove_flags
                        change(chosen, [flag])
            new = rng.choice([0, 0, 2, 10, 60])
            if new:
                numbers = range(self.next_number, self.next_number + new)
                client.multiappend("INBOX", [sync_mail(n, "INBOX") for n in numbers])
                self.next_number += new

    def server_state(self) -> dict[str, dict[int, tuple[bool, bool]]]:
        return server_flags(self.server, SYNC_FOLDERS)

    def trial(self, number: int, rng: random.Random) -> Trial:
        if number:
            self._change_mailbox(rng)
        fresh = number == 0 or rng.random() < 0.35
        if fresh:
            self._fresh_store()
        phase = rng.choice(["any", "any", "work"]) if fresh else "any"
        before = _scalar(self.path, "SELECT count(*) FROM mail_message") or 0
        duration = self.full if fresh else self.incremental
        # Within the sync's time as measured (the machine's load varies it: a few finish first).
        delay = rng.uniform(0, duration * (0.85 if fresh else 0.75) if phase == "any" else duration * 0.4)
        trial = Trial(self.name, number, round(delay, 3), f"{'full' if fresh else 'incremental'}-{phase}")
        process = self._start()
        if phase == "work":  # from the first batch committed
            _wait_until(
                process, lambda: (_scalar(self.path, "SELECT count(*) FROM mail_message") or 0) > before
            )
        time.sleep(delay)
        _kill(process, trial)
        self._check(trial, fresh)
        return trial

    def _check(self, trial: Trial, fresh: bool) -> None:
        from coordinator_tui.mail.sync import sync_account
        from store.engine import open_store, url_for_path
        from tests.support.messages import section_for

        trial.problems += integrity_problems(self.path)
        stored = stored_flags(self.path)
        total = sum(len(uids) for uids in stored.values())
        trial.state_after_kill = ("empty" if total == 0 else "partial") if fresh else "incremental"
        for folder, rows in stored.items():
            if len(rows) != len({uid for uid, _flags in rows}):
                trial.problems.append(f"{folder}: {len(rows) - len(set(rows))} messages twice after the kill")
        store = open_store(url_for_path(self.path))
        try:
            report = sync_account(store, section_for(self.account), self.account.password)
        except Exception as error:  # the next run must complete: any failure is the finding
            trial.problems.append(f"the next sync failed: {type(error).__name__}: {error}")
            return
        finally:
            store.dispose()
        if not report.ok:
            trial.problems.append(f"the next sync reported an error: {report.error}")
        trial.problems += integrity_problems(self.path)
        expected = self.server_state()
        stored = stored_flags(self.path)
        for folder in SYNC_FOLDERS:
            rows = stored.get(folder, [])
            if len(rows) != len({uid for uid, _flags in rows}):
                trial.problems.append(f"{folder}: messages twice after the next sync")
            have = dict(rows)
            if have != expected[folder]:
                lost = sorted(set(expected[folder]) - set(have))
                extra = sorted(set(have) - set(expected[folder]))
                flags = sorted(u for u in set(have) & set(expected[folder]) if have[u] != expected[folder][u])
                trial.problems.append(
                    f"{folder}: store differs from the server (missing {lost[:5]}, not on the server "
                    f"{extra[:5]}, other flags {flags[:5]})"
                )
        connection = _connect(self.path)
        try:
            indexed = connection.execute("SELECT count(*) FROM search_index WHERE rowid % 4 = 0").fetchone()[
                0
            ]
            messages = connection.execute("SELECT count(*) FROM mail_message").fetchone()[0]
        finally:
            connection.close()
        if indexed != messages:
            trial.problems.append(f"the search index holds {indexed} messages, the store {messages}")


# --- notice_send --------------------------------------------------------------------------------

NOTICE_RECIPIENTS = 300
NOTICE_PER_MESSAGE = 20
NOTICE_FROM = "omaolo@pohde.example.fi"


class NoticeSendCase:
    """``coordinator-tui outbox send-due`` (as cron runs it) sending a notice version to 300 people in
    batches of 20 to aiosmtpd, killed at a random moment: from the process start ("any"), from the
    row turning "sending" ("work"), or just as the server has taken the k-th batch ("data").

    After the kill: SQLite's checks; nobody has it twice; whoever the server has it for is recorded
    accepted or unknown (never pending, which a resume would send again). Then the start-up
    recovery and ``send-due`` as the CLI runs them (here in this process): an interrupted row becomes
    "unknown" and nothing is sent; a row never started is sent whole. Then the coordinator's
    resume of an unknown row (``resume_version(after_unknown=True)``) sends to exactly the
    recipients never offered. At the end every recipient is accounted for (accepted or unknown),
    at most one batch is unknown, and the server has each recipient at most once.
    """

    name = "notice_send"

    def __init__(self, workdir: Path) -> None:
        from tests.support.dovecot import generate_tls_files
        from tests.support.smtp import SmtpServer

        self.workdir = workdir
        self.server = SmtpServer(generate_tls_files(workdir / "tls"))
        self.server.start()
        try:
            self.template = workdir / "notice-template.sqlite"
            self.recipients = self._build_template()
            self.batches = -(-NOTICE_RECIPIENTS // NOTICE_PER_MESSAGE)
            self.startup, self.sending = min(self._probe(workdir / f"notice-probe-{n}") for n in range(2))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.server.stop()

    def _probe(self, folder: Path) -> tuple[float, float]:
        """One send without a kill: seconds from the start to the row "sending", and then to "sent"."""
        folder.mkdir()
        path, config = self._prepare(folder)
        _version_id, outbox_id, message_id = self._queue(path)
        began = time.monotonic()
        process = self._start(config)
        assert _wait_until(process, lambda: self._state(path, outbox_id) == "sending")
        startup = time.monotonic() - began
        _wait_until(process, lambda: self._state(path, outbox_id) != "sending")
        sending = time.monotonic() - began - startup
        _out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err.decode(errors="replace")[-2000:]
        got = Counter(a for m in self._received(message_id) for a in m.rcpt_tos)
        assert got == Counter(self.recipients), "the probe send did not reach everyone once"
        return startup, sending

    def _build_template(self) -> list[str]:
        from store.engine import open_store, url_for_path
        from store.models import ListMember, MailingList, Person

        store = open_store(url_for_path(self.template))
        addresses = []
        try:
            with store.session() as session:
                listing = MailingList(name="Kaikki")
                session.add(listing)
                session.flush()
                for number in range(NOTICE_RECIPIENTS):
                    person = Person(
                        name=f"Vastuukäyttäjä {number}", email=f"v{number:04d}@verkosto.example.fi"
                    )
                    session.add(person)
                    session.flush()
                    session.add(ListMember(list_id=listing.id, person_id=person.id))
                    addresses.append(person.email)
        finally:
            store.dispose()
        return addresses

    def _prepare(self, folder: Path) -> tuple[Path, Path]:
        path = folder / "store.sqlite"
        copy_store(self.template, path)
        config = folder / "config.toml"
        config.write_text(
            f'[store]\nurl = "sqlite:///{path}"\n'
            f'[smtp]\nhost = "{self.server.host}"\nport = {self.server.port}\nsecurity = "starttls"\n'
            f'username = "{self._user()}"\nfrom_address = "{NOTICE_FROM}"\n'
            f'ca_file = "{self.server.ca_file}"\n'
            f"[notices]\nmax_recipients_per_message = {NOTICE_PER_MESSAGE}\nretry_backoff_seconds = 0.01\n",
            encoding="utf-8",
        )
        return path, config

    @staticmethod
    def _user() -> str:
        from tests.support.smtp import SMTP_USER

        return SMTP_USER

    def _section(self) -> Any:
        from coordinator_tui.config import SmtpSection

        return SmtpSection(
            host=self.server.host,
            port=self.server.port,
            security="starttls",
            username=self._user(),
            from_address=NOTICE_FROM,
            ca_file=str(self.server.ca_file),
        )

    def _queue(self, path: Path) -> tuple[int, int, str]:
        """A new notice's first version to the list, queued for now: (version id, outbox id, Message-ID)."""
        from datetime import UTC, datetime, timedelta

        from coordinator_tui.notices import recipients, send
        from coordinator_tui.notices.compose import NoticeDraft
        from store.engine import open_store, url_for_path

        start = datetime(2026, 11, 26, 8, 15, tzinfo=UTC)
        draft = NoticeDraft(
            kind="häiriö",
            services=["työjonolähetys"],
            start_at=start,
            expected_end_at=start + timedelta(hours=4),
            impact="Oirearviot eivät siirry työjonoihin.",
            instructions="Ohjatkaa kiireelliset asiakkaat Päivystysapuun 116117.",
            contact=NOTICE_FROM,
            text_sv="Störning i arbetskön. Åbo, Närpes.",
        )
        store = open_store(url_for_path(path))
        try:
            queued, _built = send.queue(
                store, None, draft, recipients.Choice(lists=["Kaikki"]), from_address=NOTICE_FROM
            )
        finally:
            store.dispose()
        assert queued.outbox_id is not None
        return queued.version_id, queued.outbox_id, queued.message_id

    def _start(self, config: Path) -> subprocess.Popen[bytes]:
        from tests.support.smtp import SMTP_PASSWORD

        return _cli(config, "outbox", "send-due", env={"COORDINATOR_TUI_SMTP_PASSWORD": SMTP_PASSWORD})

    @staticmethod
    def _state(path: Path, outbox_id: int) -> str | None:
        value = _scalar(path, "SELECT state FROM outbox WHERE id = ?", outbox_id)
        return None if value is None else str(value)

    def _received(self, message_id: str) -> list[Any]:
        key = message_id.encode()
        return [message for message in self.server.messages if key in message.data]

    def _settled(self, message_id: str) -> list[Any]:
        """What the server has once a message cut short by the kill can no longer arrive."""
        seen, since = len(self._received(message_id)), time.monotonic()
        while time.monotonic() - since < 0.15:
            time.sleep(0.02)
            now = len(self._received(message_id))
            if now != seen:
                seen, since = now, time.monotonic()
        return self._received(message_id)

    @staticmethod
    def _deliveries(path: Path, outbox_id: int) -> dict[str, list[str]]:
        connection = _connect(path)
        try:
            rows = connection.execute(
                "SELECT recipient, status FROM delivery WHERE outbox_id = ?", (outbox_id,)
            ).fetchall()
        finally:
            connection.close()
        statuses: dict[str, list[str]] = {}
        for recipient, status in rows:
            statuses.setdefault(recipient, []).append(status)
        return statuses

    def trial(self, number: int, rng: random.Random) -> Trial:
        folder = self.workdir / f"notice-{number}"
        folder.mkdir()
        path, config = self._prepare(folder)
        version_id, outbox_id, message_id = self._queue(path)
        phase = rng.choice(["any", "work", "work", "data"])
        batches = 0  # kill once the server has taken this many batches ("work", "data") ...
        if phase == "any":  # ... or this long after the start (the load varies it: a few finish first)
            delay = rng.uniform(0, self.startup + self.sending * 0.6)
        elif phase == "work":  # ... and then anywhere within the next batch
            batches = rng.randrange(self.batches)
            delay = rng.uniform(0, self.sending / self.batches)
        else:  # ... and then at once
            batches, delay = rng.randint(1, self.batches), 0.0
        trial = Trial(self.name, number, round(delay, 3), phase, at_batch=batches)
        process = self._start(config)
        if phase != "any":
            _wait_until(process, lambda: self._state(path, outbox_id) == "sending")
            _wait_until(process, lambda: len(self._received(message_id)) >= batches)
        time.sleep(delay)
        _kill(process, trial)
        if not trial.killed and process.returncode != 0:
            err = process.stderr.read() if process.stderr else b""
            trial.problems.append(f"the sender failed: {err.decode(errors='replace')[-500:]}")
        self._check(trial, path, version_id, outbox_id, message_id)
        if trial.ok:
            shutil.rmtree(folder, ignore_errors=True)
        return trial

    def _check(self, trial: Trial, path: Path, version_id: int, outbox_id: int, message_id: str) -> None:
        from coordinator_tui.notices import send
        from coordinator_tui.outgoing import recover_interrupted
        from store import notices as notice_store
        from store import outbox as outbox_store
        from store.engine import open_store, url_for_path
        from tests.support.smtp import SMTP_PASSWORD

        trial.problems += integrity_problems(path)
        state = self._state(path, outbox_id) or "?"
        trial.state_after_kill = state
        received = self._settled(message_id)
        self._check_counts(trial, "after the kill", path, outbox_id, received, final=False)

        store = open_store(url_for_path(path))
        try:
            # What `coordinator-tui outbox send-due` (and the app) does when it starts next.
            interrupted = recover_interrupted(store)
            results = send.send_due(
                store, self._section(), SMTP_PASSWORD, max_per_message=NOTICE_PER_MESSAGE, backoff=0.01
            )
            after = notice_store.version(store, version_id).outbox_state
            if state == "sending":
                if interrupted != 1 or after != "unknown":
                    trial.problems.append(f"recovery left a row cut off while sending as {after!r}")
                if results or len(self._received(message_id)) != len(received):
                    trial.problems.append("the restart sent an interrupted batch again")
            elif state == "queued" and (interrupted or [r.state for r in results] != ["sent"]):
                trial.problems.append(f"a version never started was not sent whole: {results}")
            elif state == "sent" and (interrupted or results):
                trial.problems.append("a version already sent was touched by the restart")
            waiting = outbox_store.waiting_recipients(store, outbox_id)
            before = len(self._received(message_id))
            if waiting:  # the coordinator decides the recipients never offered should get it
                send.resume_version(
                    store,
                    version_id,
                    self._section(),
                    SMTP_PASSWORD,
                    after_unknown=True,
                    max_per_message=NOTICE_PER_MESSAGE,
                    backoff=0.01,
                )
            resumed = Counter(a for m in self._received(message_id)[before:] for a in m.rcpt_tos)
            if resumed != Counter(waiting):
                trial.problems.append(
                    f"the resume sent to {sum(resumed.values())} recipients, {len(waiting)} were waiting"
                    f" ({sorted(set(resumed) - set(waiting))[:3]} were not)"
                )
        except Exception as error:
            trial.problems.append(f"the restart or the resume failed: {type(error).__name__}: {error}")
        finally:
            store.dispose()
        trial.problems += integrity_problems(path)
        self._check_counts(trial, "at the end", path, outbox_id, self._received(message_id), final=True)

    def _check_counts(
        self, trial: Trial, when: str, path: Path, outbox_id: int, received: list[Any], final: bool
    ) -> None:
        got = Counter(address for message in received for address in message.rcpt_tos)
        twice = sorted(address for address, count in got.items() if count > 1)
        if twice:
            trial.problems.append(f"{when}: {len(twice)} recipients got the notice twice, e.g. {twice[:3]}")
        deliveries = self._deliveries(path, outbox_id)
        if not deliveries:  # killed before the row was taken: nothing sent, nothing recorded
            if got:
                trial.problems.append(f"{when}: the server has it but the store records no delivery")
            return
        doubled = [address for address, statuses in deliveries.items() if len(statuses) > 1]
        if doubled:
            trial.problems.append(f"{when}: {len(doubled)} recipients have two delivery rows")
        status = {address: statuses[-1] for address, statuses in deliveries.items()}
        if sorted(status) != sorted(self.recipients):
            trial.problems.append(
                f"{when}: {len(set(self.recipients) - set(status))} recipients unaccounted for"
            )
        wrong = sorted(address for address in got if status.get(address) not in ("accepted", "unknown"))
        if wrong:
            trial.problems.append(
                f"{when}: {len(wrong)} recipients have it but are recorded {status.get(wrong[0])!r}"
                " (a resume would send to them again)"
            )
        claimed = sorted(
            address for address, value in status.items() if value == "accepted" and address not in got
        )
        if claimed:
            trial.problems.append(f"{when}: {len(claimed)} recorded accepted, not at the server")
        others = Counter(
            value for value in status.values() if value not in ("accepted", "unknown", "pending")
        )
        if others:
            trial.problems.append(f"{when}: unexpected delivery states {dict(others)}")
        unknown = sum(value == "unknown" for value in status.values())
        if unknown > NOTICE_PER_MESSAGE:
            trial.problems.append(f"{when}: {unknown} recipients unknown, more than one batch")
        if final and "pending" in status.values():
            trial.problems.append("at the end: recipients still pending after the resume")


CASES: dict[str, Any] = {
    "migration": MigrationCase,
    "csv_import": CsvImportCase,
    "imap_sync": ImapSyncCase,
    "notice_send": NoticeSendCase,
}


def run_trials(case: str, count: int, seed: int, workdir: Path) -> list[Trial]:
    rng = random.Random(f"{seed}-{case}")
    runner = CASES[case](workdir)
    try:
        return [runner.trial(number, rng) for number in range(count)]
    finally:
        close = getattr(runner, "close", None)
        if close is not None:
            close()  # the servers of the network cases


def as_json(trials: list[Trial]) -> list[dict[str, object]]:
    return [{**asdict(trial), "ok": trial.ok} for trial in trials]
