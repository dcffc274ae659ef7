"""`coordinator-tui export requests` as a user runs it, on a copy of the demo store."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from store.engine import Store

CLI = [sys.executable, "-m", "coordinator_tui"]


def run(config: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*CLI, "--config", str(config), "export", "requests", *args],
        capture_output=True,
        env=dict(os.environ),
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def config(demo_store: Store, tmp_path: Path) -> Path:
    assert demo_store.path is not None
    demo_store.dispose()  # the export opens the file itself
    path = tmp_path / "config.toml"
    path.write_text(f'[store]\nurl = "sqlite:///{demo_store.path}"\n', encoding="utf-8")
    return path


def store_rows(config: Path, sql: str) -> list[tuple[object, ...]]:
    url = config.read_text(encoding="utf-8").split('"')[1]
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def test_csv_to_a_file(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "pyynnot.csv"
    result = run(config, "--format", "csv", "--out", str(out))
    assert result.returncode == 0, result.stderr.decode()
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    total = store_rows(config, "SELECT count(*) FROM service_request")[0][0]
    assert rows[0][:3] == ["reference", "title", "status"]
    assert len(rows) == 1 + total
    assert all(len(r) == len(rows[0]) for r in rows)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # exports are the user's alone
    assert f"Exported {total} requests".encode() in result.stderr
    assert result.stdout == b""


def test_json_to_stdout_for_one_unit_since_a_date(config: Path) -> None:
    unit_id, unit_name = store_rows(
        config,
        "SELECT u.id, u.name FROM unit u JOIN service_request r ON r.unit_id = u.id "
        "GROUP BY u.id ORDER BY count(*) DESC LIMIT 1",
    )[0]
    result = run(config, "--format", "json", "--unit", str(unit_name).upper(), "--since", "1.9.2026")
    assert result.returncode == 0, result.stderr.decode()
    objects = json.loads(result.stdout.decode("utf-8"))
    expected = store_rows(
        config,
        f"SELECT count(*) FROM service_request WHERE unit_id = {unit_id} "
        "AND created_at >= '2026-08-31 21:00:00'",
    )[0][0]
    assert len(objects) == expected > 0
    assert {o["unit"] for o in objects} == {unit_name}
    assert all(o["created"] >= "2026-09-01" for o in objects)


def test_unknown_unit_and_bad_date_are_usage_errors(config: Path) -> None:
    unknown = run(config, "--unit", "Ei tällaista yksikköä")
    assert unknown.returncode == 2 and "no unit" in unknown.stderr.decode()
    bad = run(config, "--since", "eilen")
    assert bad.returncode == 2 and "--since" in bad.stderr.decode()


def test_an_identity_code_blocks_the_export(config: Path, tmp_path: Path) -> None:
    url = config.read_text(encoding="utf-8").split('"')[1]
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    connection.execute("UPDATE service_request SET title = 'Asiakas 131052-308T' WHERE id = 5")
    connection.commit()
    connection.close()
    out = tmp_path / "pyynnot.csv"
    result = run(config, "--out", str(out))
    assert result.returncode == 1
    assert "identity code" in result.stderr.decode() or "henkilötunnus" in result.stderr.decode()
    assert not out.exists()
