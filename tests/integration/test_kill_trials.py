"""SIGKILL during a store migration, a CSV import's confirm, an IMAP sync and a notice batch send.

A few seeded trials of each case run here (CI); ``bench/faults.py`` runs the full >= 50 per case with
the same code (tests/support/killtrials.py). After each kill: SQLite's and FTS5's integrity checks
pass, every backup beside the store is whole, the next run completes, and the rows are exactly those
expected (the migration keeps every row; the import is all or nothing, and the retry adds no one twice;
the sync ends with exactly the server's messages and flags; a notice reaches nobody twice, an
interrupted batch becomes "unknown" and is never sent again silently, and every recipient is
accounted for). Also: the start-up recovery leaves alone a row another program is sending right now.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coordinator_tui.notices import recipients, send
from coordinator_tui.notices.compose import NoticeDraft
from coordinator_tui.outgoing import recover_interrupted
from store import notices as notice_store
from store.engine import open_store, url_for_path
from store.models import ListMember, MailingList, Person
from store.outbox import deliveries
from tests.support import killtrials
from tests.support.killtrials import ROOT, MigrationCase, copy_store, integrity_problems, revision, run_trials
from tests.support.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer

SEED = 20261126


@pytest.mark.parametrize(
    ("case", "count"), [("migration", 5), ("csv_import", 3), ("imap_sync", 3), ("notice_send", 3)]
)
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


# A notice sender that stops after the server took its first batch, until the test says go on.
PAUSED_SENDER = """
import sys
from coordinator_tui.config import SmtpSection
from coordinator_tui.notices import send
from store.engine import open_store, url_for_path

def pause(outbox_id, chunk):
    print("accepted", flush=True)
    sys.stdin.readline()

send._after_data = pause
store = open_store(url_for_path(sys.argv[1]))
section = SmtpSection(host="127.0.0.1", port=int(sys.argv[2]), security="starttls", username=sys.argv[3],
                      from_address="omaolo@pohde.example.fi", ca_file=sys.argv[4])
result = send.send_version(store, int(sys.argv[5]), section, sys.argv[6], max_per_message=2, backoff=0.01)
print("returned", result.state, flush=True)
"""


def test_recovery_leaves_a_live_send_alone_and_takes_a_killed_one(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """Another program's start-up (the app, or cron's `outbox send-due`) while a send runs."""
    path = tmp_path / "store.sqlite"
    store = open_store(url_for_path(path))
    try:
        with store.session() as session:
            listing = MailingList(name="Lista")
            session.add(listing)
            session.flush()
            for number in range(5):
                person = Person(name=f"Henkilö {number}", email=f"h{number}@verkosto.example.fi")
                session.add(person)
                session.flush()
                session.add(ListMember(list_id=listing.id, person_id=person.id))
        draft = NoticeDraft(
            services=["työjonolähetys"],
            start_at=datetime(2026, 11, 26, 8, 0, tzinfo=UTC),
            impact="Oirearviot eivät siirry työjonoihin.",
            instructions="Ohjatkaa asiakkaat Päivystysapuun 116117.",
            contact="omaolo@pohde.example.fi",
        )
        versions = [
            send.queue(
                store, None, draft, recipients.Choice(lists=["Lista"]), from_address="omaolo@pohde.example.fi"
            )[0]
            for _ in range(2)
        ]

        def start(version_id: int) -> subprocess.Popen[str]:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    PAUSED_SENDER,
                    str(path),
                    str(smtp_server.port),
                    SMTP_USER,
                    str(smtp_server.ca_file),
                    str(version_id),
                    SMTP_PASSWORD,
                ],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert process.stdout is not None and process.stdout.readline().strip() == "accepted"
            return process

        live = start(versions[0].version_id)
        assert notice_store.version(store, versions[0].version_id).outbox_state == "sending"
        assert recover_interrupted(store) == 0  # it is being sent right now: not a crash's leftover
        out, _err = live.communicate("\n\n\n", timeout=60)
        assert "returned sent" in out
        assert notice_store.version(store, versions[0].version_id).outbox_state == "sent"
        assert {d.status for d in deliveries(store, versions[0].outbox_id)} == {"accepted"}  # type: ignore[arg-type]

        killed = start(versions[1].version_id)
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(timeout=30)
        assert recover_interrupted(store) == 1  # the kernel let go of the dead sender's lock
        assert notice_store.version(store, versions[1].version_id).outbox_state == "unknown"
    finally:
        store.dispose()
