"""Shared fixtures: every test runs with private XDG directories and a fixed clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coordinator_tui import i18n

pytest_plugins = ["tests.support.fixtures"]

# The demo and the snapshots are built against this moment (a Thursday morning in Helsinki).
FIXED_NOW = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the real user's config, data or logs, or sees their secrets."""
    home = tmp_path / "home"
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        directory = home / name.lower()
        directory.mkdir(parents=True)
        monkeypatch.setenv(name, str(directory))
    monkeypatch.setenv("COORDINATOR_TUI_LOG_DIR", str(home / "logs"))
    for name in ("COORDINATOR_TUI_CONFIG", "COORDINATOR_TUI_IMAP_PASSWORD", "COORDINATOR_TUI_SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture(autouse=True)
def finnish_by_default() -> Iterator[None]:
    i18n.set_language("fi")
    yield
    i18n.set_language("fi")


@pytest.fixture(scope="session")
def demo_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo store (with the hostile rows) built once per run; tests copy it."""
    from coordinator_tui.demo import build_demo_store
    from store.engine import open_store, url_for_path

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    store = open_store(url_for_path(path))
    build_demo_store(store, seed=2026, now=FIXED_NOW, hostile=True)
    store.dispose()
    return path


@pytest.fixture
def demo_store(demo_store_template: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A private copy of the demo store for one test."""
    import shutil
    import sqlite3

    from store.engine import open_store, url_for_path

    path = tmp_path / "store.sqlite"
    # A backup, not a file copy: the template may still have its WAL beside it.
    source, target = sqlite3.connect(demo_store_template), sqlite3.connect(path)
    source.backup(target)
    source.close()
    target.close()
    shutil.os.chmod(path, 0o600)
    store = open_store(url_for_path(path))
    yield store
    store.dispose()


@pytest.fixture
def make_app() -> Callable[..., object]:
    """Build the app on a store, with the fixed clock and a language."""
    from coordinator_tui.app import AppContext, CoordinatorApp
    from coordinator_tui.config import Config
    from coordinator_tui.quickconfig import QuickSettings

    def build(store, *, language: str = "fi", demo: bool = True, config: Config | None = None):  # type: ignore[no-untyped-def]
        i18n.set_language(language)  # type: ignore[arg-type]
        config = config or Config()
        context = AppContext(
            settings=QuickSettings.from_config(config),
            config_loader=lambda: config,
            store=store,
            store_label="demo.sqlite",  # not the tmp path, so that snapshots are stable
            demo=demo,
            clock=lambda: FIXED_NOW,
        )
        return CoordinatorApp(context)

    return build
