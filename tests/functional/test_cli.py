"""The command line as a user runs it: real subprocesses, real files, real (tmpfs) disks."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator_tui import __version__
from store.errors import disk_full, read_only

CLI = [sys.executable, "-m", "coordinator_tui"]


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"coordinator-tui {__version__}"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[imap]\nport = "993"\n', "imap.port"),
        ("[imap]\nprot = 993\n", "imap.prot"),
        ('[ui]\nlanguage = "sv"\n', "ui.language"),
        ('[smtp]\nhost = "smtp.example.fi"\nsecurity = "none"\n', "smtp.security"),
        ("[store\n", "not valid TOML"),
    ],
)
def test_bad_config_exits_2_naming_the_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    result = run("--config", str(config), "doctor")
    assert result.returncode == 2
    assert str(config) in result.stderr
    assert key in result.stderr
    assert "Traceback" not in result.stderr


def test_config_from_the_environment_variable(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text("[imap]\nport = 0\n", encoding="utf-8")
    result = run("doctor", env={"COORDINATOR_TUI_CONFIG": str(config)})
    assert result.returncode == 2 and str(config) in result.stderr and "imap.port" in result.stderr


def test_a_named_config_that_is_missing_is_an_error(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "nope.toml"), "doctor")
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_init_writes_a_commented_example_that_loads(tmp_path: Path, private_dirs: Path) -> None:
    config = tmp_path / "new" / "config.toml"
    result = run("--config", str(config), "init")
    assert result.returncode == 0, result.stderr
    text = config.read_text(encoding="utf-8")
    assert "[imap]" in text and "# " in text and "password" in text.lower()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    canned = private_dirs / "xdg_config_home" / "coordinator-tui" / "canned"
    assert f"canned replies (Finnish and Swedish) to {canned}:" in result.stdout
    assert (canned / "kuittaus.fi.txt").read_text(encoding="utf-8").strip()
    assert (canned / "kuittaus.sv.txt").read_text(encoding="utf-8").strip()
    (canned / "kuittaus.fi.txt").write_text("Oma muokattu kuittaus.\n", encoding="utf-8")
    again = run("--config", str(config), "init")
    assert again.returncode == 1 and "exists already" in again.stderr
    assert config.read_text(encoding="utf-8") == text
    assert (canned / "kuittaus.fi.txt").read_text(encoding="utf-8") == "Oma muokattu kuittaus.\n"
    assert run("--config", str(config), "doctor").returncode == 0


def test_doctor_reports_a_healthy_store(tmp_path: Path) -> None:
    store = tmp_path / "data" / "store.sqlite"
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{store}"\n', encoding="utf-8")
    result = run("--config", str(config), "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("ok") and "store integrity" in line for line in lines)
    assert any("store file" in line and "0600" in line for line in lines)
    assert any("keyring" in line for line in lines)
    assert stat.S_IMODE(store.parent.stat().st_mode) == 0o700


def test_doctor_fails_on_a_damaged_store(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    store.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    before = digest(store)
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{store}"\n', encoding="utf-8")
    result = run("--config", str(config), "doctor")
    assert result.returncode == 1
    assert "FAIL" in result.stdout and str(store) in result.stdout
    assert digest(store) == before


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"this is my shopping list\n", "not a coordinator-tui store"),
        (None, "newer version"),
    ],
)
def test_demo_refuses_a_foreign_or_newer_store_and_leaves_it(tmp_path: Path, content, words) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "keep.sqlite"
    if content is None:
        connection = sqlite3.connect(store)
        connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
        connection.execute("INSERT INTO alembic_version VALUES ('9999')")
        connection.commit()
        connection.close()
    else:
        store.write_bytes(content)
    before = digest(store)
    result = run("--lang", "en", "demo", "--build-only", "--store", str(store))
    assert result.returncode == 1
    assert words in result.stderr and str(store) in result.stderr
    assert "Traceback" not in result.stderr
    assert digest(store) == before


def test_a_refused_store_is_told_in_the_ui_language(tmp_path: Path) -> None:
    store = tmp_path / "keep.sqlite"
    store.write_bytes(b"this is my shopping list\n")
    result = run("--lang", "fi", "demo", "--build-only", "--store", str(store))
    assert result.returncode == 1
    assert "ei ole coordinator-tui:n tietovarasto" in result.stderr, result.stderr
    assert "Mitään ei muutettu" in result.stderr and str(store) in result.stderr
    assert "not a coordinator-tui store" not in result.stderr


def test_demo_build_only_makes_a_private_store(tmp_path: Path) -> None:
    store = tmp_path / "demo" / "demo.sqlite"
    result = run("demo", "--build-only", "--store", str(store))
    assert result.returncode == 0, result.stderr
    assert "Demo store built" in result.stdout
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.parent.stat().st_mode) == 0o700
    connection = sqlite3.connect(store)
    assert connection.execute("SELECT count(*) FROM mail_message").fetchone()[0] > 1000
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    connection.close()
    again = run("demo", "--build-only", "--store", str(store))
    assert again.returncode == 0 and "left as it was" in again.stdout


# --- Disks that fill up or turn read-only: a real tmpfs, mounted by the test (needs root) ----


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    assert os.geteuid() == 0, "these tests mount a small tmpfs and must run as root (as CI does)"
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path) -> None:
    with (disk / "filler").open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass


def test_a_full_disk_while_building_gives_a_clear_message(small_disk: Path) -> None:
    store = small_disk / "demo.sqlite"
    result = run("demo", "--build-only", "--store", str(store))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert str(store) in result.stderr
    assert disk_full(store).what in result.stderr  # the words of the UI's language (Finnish here)


def test_a_full_disk_before_an_upgrade_leaves_the_store_untouched(tmp_path: Path, small_disk: Path) -> None:
    from store.engine import open_store
    from store.migrate import upgrade

    built = tmp_path / "old.sqlite"
    old = open_store(f"sqlite:///{built}", migrate=False)
    upgrade(old, "0001")
    old.dispose()
    store = small_disk / "store.sqlite"
    shutil.copy(built, store)
    fill(small_disk)
    before = digest(store)
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{store}"\n', encoding="utf-8")
    result = run("--lang", "en", "--config", str(config), "doctor")
    assert result.returncode == 1
    assert "disk space" in result.stdout, result.stdout  # the backup before the upgrade could not be taken
    assert digest(store) == before
    (small_disk / "filler").unlink()  # when the condition clears, the upgrade goes through
    assert run("--config", str(config), "doctor").returncode == 0


def test_a_read_only_data_directory_gives_a_clear_message(tmp_path: Path, small_disk: Path) -> None:
    from store.engine import open_store

    store = small_disk / "store.sqlite"
    open_store(f"sqlite:///{store}").dispose()
    before = digest(store)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    result = run("demo", "--build-only", "--store", str(store))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert read_only(store).what in result.stderr
    assert digest(store) == before
