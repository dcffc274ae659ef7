"""SIGKILL during a store migration and during a CSV import's confirm: nothing lost, nothing twice.

A few seeded trials of each case run here (CI); ``bench/faults.py`` runs the full >= 50 per case with
the same code (tests/support/killtrials.py). After each kill: SQLite's and FTS5's integrity checks
pass, every backup beside the store is whole, the next run completes, and the rows are exactly those
expected (the migration keeps every row; the import is all or nothing, and the retry adds no one twice).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import killtrials
from tests.support.killtrials import ROOT, MigrationCase, copy_store, integrity_problems, revision, run_trials

SEED = 20261126


@pytest.mark.parametrize(("case", "count"), [("migration", 5), ("csv_import", 3)])
def test_seeded_kill_trials(case: str, count: int, tmp_path: Path) -> None:
    trials = run_trials(case, count, SEED, tmp_path)
    failed = [trial for trial in trials if not trial.ok]
    assert not failed, "\n".join(f"{trial}" for trial in failed)
    # A run that finished before its kill proves little (the machine's load varies the timing).
    assert sum(trial.killed for trial in trials) >= count // 2 + 1, trials


# The copy taken before an upgrade, cut short: the process is killed while SQLite's backup copies pages.
SLOW_BACKUP = """
import sqlite3, sys, time, types
from pathlib import Path
import store.migrate as migrate

real_connect = sqlite3.connect


class Slow:
    def __init__(self, *args, **kwargs):
        self.connection = real_connect(*args, **kwargs)

    def backup(self, target, **kwargs):
        def progress(status, remaining, total):
            print("copying", flush=True)
            time.sleep(60)

        self.connection.backup(target.connection, pages=1, progress=progress)

    def __enter__(self):
        self.connection.__enter__()
        return self

    def __exit__(self, *exc):
        return self.connection.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self.connection, name)


module = types.ModuleType("slow_sqlite3")
module.__dict__.update(vars(sqlite3))
module.connect = Slow
migrate.sqlite3 = module
from store.engine import open_store, url_for_path
open_store(url_for_path(Path(sys.argv[1])))
"""


def test_a_backup_cut_short_is_never_named_like_a_whole_one(tmp_path: Path) -> None:
    template = tmp_path / "old.sqlite"
    killtrials.build_old_store(template)
    path = tmp_path / "trial" / "store.sqlite"
    path.parent.mkdir()
    copy_store(template, path)
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_BACKUP, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "copying"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    left = sorted(p.name for p in path.parent.iterdir())
    whole_looking = [name for name in left if ".before-" in name and ".partial" not in name]
    assert whole_looking == [], left  # only *.partial files: nobody restores from an empty copy
    assert any(name.endswith(".partial") for name in left), left
    assert revision(path) == "0001" and integrity_problems(path) == []

    # The next start takes a whole copy and upgrades.
    from store.engine import open_store, url_for_path
    from store.migrate import head_revision

    open_store(url_for_path(path)).dispose()
    assert revision(path) == head_revision()
    backups = [p for p in path.parent.glob("store.sqlite.before-*") if ".partial" not in p.name]
    assert len(backups) == 1 and revision(backups[0]) == "0001" and integrity_problems(backups[0]) == []
    assert killtrials.counts(backups[0])["mail"] == killtrials.MAIL_ROWS


def test_migration_case_measures_a_real_upgrade(tmp_path: Path) -> None:
    """The trials mean something only if the upgrade takes long enough to be killed inside."""
    case = MigrationCase(tmp_path)
    assert case.expected["mail"] == killtrials.MAIL_ROWS
    assert case.duration > 0.5
