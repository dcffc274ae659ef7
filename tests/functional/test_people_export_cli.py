"""`coordinator-tui export people` as a user runs it, on a copy of the demo store."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from store.engine import Store

CLI = [sys.executable, "-m", "coordinator_tui"]


def run(config: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*CLI, "--config", str(config), "export", "people", *args],
        capture_output=True,
        env=dict(os.environ),
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def config(demo_store: Store, tmp_path: Path) -> Path:
    assert demo_store.path is not None
    demo_store.dispose()
    path = tmp_path / "config.toml"
    path.write_text(f'[store]\nurl = "sqlite:///{demo_store.path}"\n', encoding="utf-8")
    return path


def people_in_store(config: Path) -> int:
    url = config.read_text(encoding="utf-8").split('"')[1]
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return int(connection.execute("SELECT count(*) FROM person").fetchone()[0])
    finally:
        connection.close()


def test_to_a_file_with_a_header_row(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "verkosto.csv"
    result = run(config, "--output", str(out))
    assert result.returncode == 0, result.stderr.decode()
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == ["name", "email", "phone", "unit", "roles", "language", "active", "left_on"]
    assert len(rows) == 1 + people_in_store(config)
    assert {row[6] for row in rows[1:]} == {"kyllä", "ei"}  # the left ones are there too
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def test_to_standard_output(config: Path) -> None:
    result = run(config)
    assert result.returncode == 0, result.stderr.decode()
    text = result.stdout.decode("utf-8-sig")
    assert text.splitlines()[0] == "name;email;phone;unit;roles;language;active;left_on"


def test_a_missing_directory_is_a_usage_error(config: Path, tmp_path: Path) -> None:
    result = run(config, "--output", str(tmp_path / "nowhere" / "x.csv"))
    assert result.returncode == 2
    assert b"does not exist" in result.stderr
