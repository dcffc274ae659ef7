"""`coordinator-tui outbox send-due` (for cron) sends what is due, once, to the real SMTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from coordinator_tui.notices import recipients, send
from store.engine import open_store, url_for_path
from tests.integration.test_notice_send import FROM, draft
from tests.support.notice_directory import build_directory
from tests.support.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer

CLI = [sys.executable, "-m", "coordinator_tui"]


def send_due(config: Path, *args: str, password: str = SMTP_PASSWORD) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--config", str(config), "outbox", "send-due", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COORDINATOR_TUI_SMTP_PASSWORD": password},
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_send_due_sends_a_scheduled_notice_once_and_reports_it(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    store_path = tmp_path / "store.sqlite"
    store = open_store(url_for_path(store_path))
    directory = build_directory(store)
    now = datetime.now(UTC)
    maintenance = draft(kind="huoltokatko", status="aikataulutettu", services=["koko palvelu"], text_sv="")
    choice = recipients.Choice(lists=[directory.steering])
    due, _built = send.queue(
        store, None, maintenance, choice, from_address=FROM, scheduled_at=now - timedelta(minutes=1)
    )
    later, _ = send.queue(
        store, None, maintenance, choice, from_address=FROM, scheduled_at=now + timedelta(days=2)
    )
    store.dispose()
    atom = tmp_path / "tiedotteet.xml"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{store_path}"\n'
        f'[smtp]\nhost = "{smtp_server.host}"\nport = {smtp_server.port}\nsecurity = "starttls"\n'
        f'username = "{SMTP_USER}"\nfrom_address = "{FROM}"\nca_file = "{smtp_server.ca_file}"\n'
        f'[notices]\natom_path = "{atom}"\nretry_backoff_seconds = 0.01\n',
        encoding="utf-8",
    )

    first = send_due(config, "--json")
    assert first.returncode == 0, first.stderr
    [result] = json.loads(first.stdout)
    assert result["version_id"] == due.version_id and result["state"] == "sent"
    expected = sorted(recipients.resolve(open_store(url_for_path(store_path)), choice).addresses)
    assert result["accepted"] == len(expected) > 0
    [received] = smtp_server.wait_for_messages(1)
    assert sorted(received.rcpt_tos) == expected
    assert "<feed" in atom.read_text(encoding="utf-8")

    again = send_due(config)
    assert again.returncode == 0 and "Nothing is due." in again.stdout
    assert len(smtp_server.messages) == 1  # the later version waits; nothing went twice
    assert later.version_id != due.version_id


def test_send_due_without_smtp_settings_says_what_to_set(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "store.sqlite"}"\n', encoding="utf-8")
    result = send_due(config)
    assert result.returncode == 2
    assert "Set [smtp] host, username and from_address" in result.stderr
