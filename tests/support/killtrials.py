"""SIGKILL trials shared by tests/integration/test_kill_trials.py (a few, seeded) and bench/faults.py (>= 50).

Two cases, each a subprocess doing what `coordinator-tui` does, killed at a random (seeded) moment:

- ``migration``: ``open_store`` on a store at revision 0001 with thousands of rows, upgrading it to
  the head revision (schema changes and search-index backfills), with its backup copy first;
- ``csv_import``: the directory CSV import's confirm step (``DirectoryService.apply_import``) of a
  file that adds and changes many people.

After each kill: ``PRAGMA integrity_check`` (and FTS5's integrity check) is ok, every ``*.before-*``
backup left beside the store is a whole store, the next run completes, and the rows are exactly those
expected: nothing lost, nothing twice.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WHEN = "2026-11-01 08:00:00.000000"
MAIL_ROWS = 6000
REQUEST_ROWS = 1500
PEOPLE_BEFORE = 300
PEOPLE_ADDED = 3000
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
    killed: bool = False  # False: it finished before the kill
    state_after_kill: str = ""  # e.g. "old", "new", "partial?"
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
            run_to_end(MIGRATE_SCRIPT, path)
        except AssertionError as error:
            trial.problems.append(f"the next run failed: {str(error)[-500:]}")
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
            run_to_end(IMPORT_SCRIPT, path, self.csv)
        except AssertionError as error:
            trial.problems.append(f"the next import failed: {str(error)[-500:]}")
            return trial
        trial.problems += integrity_problems(path)
        final = counts(path)
        if final != self.after:
            trial.problems.append(f"after the next import: {final}, expected {self.after}")
        shutil.rmtree(folder, ignore_errors=True)
        return trial


CASES = {"migration": MigrationCase, "csv_import": CsvImportCase}


def run_trials(case: str, count: int, seed: int, workdir: Path) -> list[Trial]:
    rng = random.Random(f"{seed}-{case}")
    runner = CASES[case](workdir)
    return [runner.trial(number, rng) for number in range(count)]


def as_json(trials: list[Trial]) -> list[dict[str, object]]:
    return [{**asdict(trial), "ok": trial.ok} for trial in trials]
