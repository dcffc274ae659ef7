"""`coordinator-tui sync` SIGKILLed at random points: the next sync ends with exactly the server's mail.

A few thousand messages are written straight into the Dovecot user's Maildir; the sync runs as
cron runs it (a subprocess), and is killed while starting, just after its first batch, halfway
and near the end, with the mailbox changing on the server in between. A last sync then runs to
completion: per folder the store holds exactly the server's UIDs with the server's flags, no
duplicates, SQLite's and FTS5's integrity checks pass, and search finds the last message.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from imapclient.imapclient import FLAGGED, SEEN

from coordinator_tui.mail.sync import sync_account
from store.engine import open_store
from store.search import search
from tests.support.dovecot import Dovecot, seed_maildir
from tests.support.killtrials import SYNC_FOLDERS, alive, children, server_flags, stored_flags, sync_mail
from tests.support.messages import section_for

INBOX_COUNT = 2500
ARCHIVE_COUNT = 400
SEED = 20261126


def stored_count(path: Path) -> int:
    """Messages committed so far, read beside the running sync (WAL lets readers in)."""
    if not path.exists():
        return 0
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return int(connection.execute("SELECT count(*) FROM mail_message").fetchone()[0])
        finally:
            connection.close()
    except sqlite3.Error:  # not created yet, or the schema is being made
        return 0


def start_sync(config: Path, password: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "coordinator_tui", "--config", str(config), "sync", "--json"],
        env={**os.environ, "COORDINATOR_TUI_IMAP_PASSWORD": password},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_when(process: subprocess.Popen[bytes], ready: Callable[[], bool], extra_delay: float) -> bool:
    """SIGKILL ``process`` ``extra_delay`` seconds after ``ready()``; False if it finished first."""
    deadline = time.monotonic() + 300
    while not ready():
        if process.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the sync made no progress in 300 s"
        time.sleep(0.005)
    time.sleep(extra_delay)
    if process.poll() is not None:
        return False
    workers = children(process.pid)  # the parsing processes of a big sync
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in workers):  # they must not outlive it
        assert time.monotonic() < deadline, f"parsing processes {workers} outlived the killed sync"
        time.sleep(0.1)
    return True


def test_a_sync_killed_at_random_points_ends_with_exactly_the_servers_messages(
    private_dovecot: Dovecot, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    account = private_dovecot.account()
    seed_maildir(private_dovecot, "INBOX", (sync_mail(n, "INBOX") for n in range(INBOX_COUNT)))
    seed_maildir(
        private_dovecot,
        "Archive",
        (sync_mail(n, "Archive") for n in range(ARCHIVE_COUNT)),
        seen=(True for _ in range(ARCHIVE_COUNT)),
    )
    total = INBOX_COUNT + ARCHIVE_COUNT
    store_path = tmp_path / "store.sqlite"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{store_path}"\n'
        f'[imap]\nhost = "{account.host}"\nport = {account.port}\nsecurity = "tls"\n'
        f'username = "{account.username}"\nca_file = "{account.ca_file}"\n',
        encoding="utf-8",
    )

    killed = []
    # 1. At a random moment early on: while starting, logging in or fetching the first batch.
    process = start_sync(config, account.password)
    killed.append(kill_when(process, lambda: True, rng.uniform(0.3, 2.5)))
    # 2. Just after the first batch was committed.
    process = start_sync(config, account.password)
    first = stored_count(store_path)
    killed.append(kill_when(process, lambda: stored_count(store_path) > first, rng.uniform(0, 0.05)))

    # The mailbox changes on the server meanwhile: expunges of stored and not yet stored
    # messages, flags both ways, new mail.
    with private_dovecot.connect() as client:
        client.select_folder("INBOX")
        uids = sorted(client.search("ALL"))
        client.delete_messages([uids[3], uids[10], uids[-5], uids[-40]])
        client.expunge()
        client.add_flags(uids[20:30] + uids[-30:-20], [SEEN])
        client.add_flags(uids[25:27], [FLAGGED])
        for number in range(INBOX_COUNT, INBOX_COUNT + 5):
            client.append("INBOX", sync_mail(number, "INBOX"))
    total += 5 - 4

    # 3. About halfway, at a random point.
    process = start_sync(config, account.password)
    half = rng.uniform(0.35, 0.6) * total
    killed.append(kill_when(process, lambda: stored_count(store_path) >= half, 0))
    with private_dovecot.connect() as client:
        client.select_folder("INBOX")
        client.remove_flags(uids[20:23], [SEEN])  # changed back, after the store may have them seen
        client.delete_messages([uids[21]])
        client.expunge()
    total -= 1
    # 4. Near the end.
    process = start_sync(config, account.password)
    near_end = total - rng.randint(50, 300)
    killed.append(kill_when(process, lambda: stored_count(store_path) >= near_end, 0))
    assert sum(killed) >= 3, killed  # a run that finished before its kill proves nothing

    with private_dovecot.connect() as client:
        client.select_folder("Archive")
        archive_uids = sorted(client.search("ALL"))
        client.remove_flags(archive_uids[:7], [SEEN])
        late = INBOX_COUNT + 99
        client.append("INBOX", sync_mail(late, "INBOX"))
    total += 1

    store = open_store(f"sqlite:///{store_path}")
    try:
        report = sync_account(store, section_for(account), account.password)
        assert report.ok, report.error
        assert sum(folder.in_store for folder in report.folders) == total
        stored = stored_flags(store_path)
        expected = server_flags(private_dovecot, SYNC_FOLDERS)
        for folder in SYNC_FOLDERS:
            rows = stored.get(folder, [])
            uids_in_store = [uid for uid, _flags in rows]
            assert len(uids_in_store) == len(set(uids_in_store)), f"duplicates in {folder}"
            assert uids_in_store == sorted(expected[folder]), folder
            assert dict(rows) == expected[folder], folder
        connection = sqlite3.connect(store_path)
        try:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
            # FTS5's own check: the index matches the rows it was built from.
            connection.execute("INSERT INTO search_index(search_index) VALUES('integrity-check')")
            indexed = connection.execute("SELECT rowid FROM search_index WHERE rowid % 4 = 0").fetchall()
            ids = connection.execute("SELECT id * 4 FROM mail_message").fetchall()
            assert sorted(indexed) == sorted(ids) and len(ids) == total
        finally:
            connection.close()
        with store.session() as session:
            hits = search(session, f"tunnus{late}x", kinds=("mail",))
        assert [hit.title for hit in hits] == [f"Viesti INBOX {late} tunnus{late}x"]
        again = sync_account(store, section_for(account), account.password)
        assert all((f.new, f.changed, f.removed) == (0, 0, 0) for f in again.folders)
    finally:
        store.dispose()
