"""The first frame's settings are read without pydantic only for bytes that passed full validation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from coordinator_tui import quickconfig
from coordinator_tui.config import Config, load_config_and_bytes
from coordinator_tui.quickconfig import QuickSettings, quick_settings, quick_sync_settings, remember_valid


def test_defaults_match_the_config_models() -> None:
    assert QuickSettings() == QuickSettings.from_config(Config())


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_only_validated_bytes_take_the_quick_path(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    write(config, '[ui]\nlanguage = "en"\ntheme = "nord"\n[ui.keymap]\n"app.quit" = "f10"\n')
    assert quick_settings(config) is None  # never validated
    validated, data = load_config_and_bytes(config, must_exist=True)
    remember_valid(data)
    quick = quick_settings(config)
    assert quick == QuickSettings.from_config(validated)
    assert quick is not None and quick.keymap == {"app.quit": "f10"}
    write(config, '[ui]\nlanguage = "sv"\n')  # edited, now invalid: must be validated again
    assert quick_settings(config) is None


def test_a_new_version_validates_again(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    write(config, '[ui]\nlanguage = "en"\n')
    remember_valid(load_config_and_bytes(config, must_exist=True)[1])
    assert quick_settings(config) is not None
    monkeypatch.setattr(quickconfig, "__version__", "99.0")
    assert quick_settings(config) is None


def test_no_config_file_is_remembered_as_defaults(tmp_path: Path) -> None:
    missing = tmp_path / "none.toml"
    remember_valid(load_config_and_bytes(missing, must_exist=False)[1])
    assert quick_settings(missing) == QuickSettings()


def test_the_quick_path_does_not_import_pydantic(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    write(config, '[ui]\nlanguage = "en"\n')
    remember_valid(load_config_and_bytes(config, must_exist=True)[1])
    code = (
        "import sys; from pathlib import Path; from coordinator_tui.quickconfig import quick_settings; "
        f"assert quick_settings(Path({str(config)!r})) is not None; print('pydantic' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_bad_config_still_exits_2_after_a_good_one_was_remembered(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    write(config, '[ui]\nlanguage = "en"\n')
    remember_valid(load_config_and_bytes(config, must_exist=True)[1])
    write(config, "[ui]\nlanguage = 5\n")
    result = subprocess.run(
        [sys.executable, "-m", "coordinator_tui", "--config", str(config)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == 2
    assert "ui.language" in result.stderr


IMAP_CONFIG = (
    '[store]\nurl = "sqlite:///{store}"\n'
    '[imap]\nhost = "127.0.0.1"\nport = 1\nsecurity = "starttls"\nusername = "omaolo"\n'
    'folders = ["INBOX", "Tukipyynnöt"]\n'
)


def test_a_headless_sync_reads_the_imap_section_the_validation_returned(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    write(config, IMAP_CONFIG.format(store=tmp_path / "s.sqlite"))
    validated, data = load_config_and_bytes(config, must_exist=True)
    remember_valid(data)  # noted without the section (as before this existed): validate fully again
    assert quick_settings(config) is not None and quick_sync_settings(config) is None
    remember_valid(data, validated)
    headless = quick_sync_settings(config)
    assert headless is not None
    settings, imap = headless
    assert settings == QuickSettings.from_config(validated)
    for name, value in validated.imap.model_dump().items():  # every field, defaults filled in
        assert getattr(imap, name) == value, name
    assert imap.effective_port() == validated.imap.effective_port() == 1
    assert imap.timeout == 30.0 and imap.auth == "password" and imap.folders == ["INBOX", "Tukipyynnöt"]
    write(config, IMAP_CONFIG.format(store=tmp_path / "s.sqlite").replace("port = 1", "port = 2"))
    assert quick_sync_settings(config) is None  # edited: validated again before any sync


def test_the_headless_sync_does_not_import_pydantic(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    write(config, IMAP_CONFIG.format(store=tmp_path / "s.sqlite"))
    code = (
        "import atexit, sys; atexit.register(lambda: print('pydantic' in sys.modules, file=sys.stderr)); "
        "from coordinator_tui.cli import main; "
        f"sys.exit(main(['--lang', 'en', '--config', {str(config)!r}, 'sync']))"
    )
    env = {**os.environ, "COORDINATOR_TUI_IMAP_PASSWORD": "salasana"}
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
        for _ in range(2)
    ]
    # Nothing listens on port 1: both fail to connect, and say so the same way; the first validated
    # the file with pydantic, the second read what that validation noted.
    assert [run.returncode for run in runs] == [1, 1]
    assert [run.stderr.splitlines()[-1] for run in runs] == ["True", "False"]
    assert runs[0].stderr.splitlines()[:-1] == runs[1].stderr.splitlines()[:-1]
    assert "127.0.0.1" in runs[1].stderr
