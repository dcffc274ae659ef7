"""`coordinator-tui sync` as cron runs it: a real Dovecot, a real store, the password from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

MESSAGE = (
    "From: =?utf-8?q?Liisa_M=C3=A4kel=C3=A4?= <liisa.makela@pohde.example.fi>\r\n"
    "To: omaolo@pohde.example.fi\r\n"
    "Subject: =?utf-8?q?K=C3=A4ytt=C3=B6oikeus_Omaoloon?=\r\n"
    "Message-ID: <sync-cli-{n}@pohde.example.fi>\r\n"
    "Date: Thu, 26 Nov 2026 09:15:00 +0200\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Hei, uusi sairaanhoitaja tarvitsee käyttöoikeuden.\r\n"
)


def run_sync(config: Path, password: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coordinator_tui", "--config", str(config), "sync", *extra],
        capture_output=True,
        text=True,
        env={**os.environ, "COORDINATOR_TUI_IMAP_PASSWORD": password},
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_sync_json_reports_every_folder_and_a_rerun_changes_nothing(tmp_path, dovecot, imap_user) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        dovecot.deliver("INBOX", MESSAGE.format(n=n).encode(), user=imap_user.username)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.sqlite"}"\n'
        f'[imap]\nhost = "{imap_user.host}"\nport = {imap_user.port}\nsecurity = "tls"\n'
        f'username = "{imap_user.username}"\nca_file = "{imap_user.ca_file}"\n',
        encoding="utf-8",
    )
    first = run_sync(config, imap_user.password, "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    inbox = next(folder for folder in report["folders"] if folder["folder"] == "INBOX")
    assert (inbox["messages"], inbox["new"], inbox["changed"], inbox["removed"]) == (3, 3, 0, 0)
    assert {folder["role"] for folder in report["folders"]} >= {"inbox", "sent", "archive", "trash"}
    again = json.loads(run_sync(config, imap_user.password, "--json").stdout)
    inbox = next(folder for folder in again["folders"] if folder["folder"] == "INBOX")
    assert (inbox["messages"], inbox["new"], inbox["changed"], inbox["removed"]) == (3, 0, 0, 0)
    assert imap_user.password not in (tmp_path / "store.sqlite").read_bytes().decode("latin-1")


def test_sync_fails_clearly_on_a_wrong_password(tmp_path, imap_user) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.sqlite"}"\n'
        f'[imap]\nhost = "{imap_user.host}"\nport = {imap_user.port}\n'
        f'username = "{imap_user.username}"\nca_file = "{imap_user.ca_file}"\n',
        encoding="utf-8",
    )
    result = run_sync(config, "wrong-password")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "kirjautumisen" in result.stderr  # "... hylkäsi käyttäjän ... kirjautumisen" (Finnish by default)
