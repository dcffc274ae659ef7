"""The first frame's settings are read without pydantic only for bytes that passed full validation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from coordinator_tui import quickconfig
from coordinator_tui.config import Config, load_config_and_bytes
from coordinator_tui.quickconfig import QuickSettings, quick_settings, remember_valid


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
