"""Where things live on disk: platformdirs' user config and data directories."""

from __future__ import annotations

import os
from pathlib import Path

from coordinator_tui import APP_NAME

CONFIG_ENV = "COORDINATOR_TUI_CONFIG"


def config_dir() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False)


def data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


def log_dir() -> Path:
    from platformdirs import user_log_path

    return user_log_path(APP_NAME, appauthor=False)


def default_config_path() -> Path:
    return config_dir() / "config.toml"


def config_path(cli_value: str | None) -> tuple[Path, bool]:
    """The config file to read and whether the user named it (then it must exist)."""
    if cli_value:
        return Path(cli_value).expanduser(), True
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env).expanduser(), True
    return default_config_path(), False


def default_store_path() -> Path:
    return data_dir() / "store.sqlite"
