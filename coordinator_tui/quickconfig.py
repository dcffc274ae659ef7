"""The few settings the first frame needs, read without pydantic when the config is known to be valid.

Importing pydantic and building the config models costs about a quarter of a second on a small
machine, a third of the start-up budget. The full validation in :mod:`coordinator_tui.config`
stays the only judge of the file: after it accepts a file, the file's SHA-256 (with the app's
version) is noted in the user cache directory, and later starts with the very same bytes read
the first frame's settings straight from the TOML. Any change to the file, or a new version of
the app, validates it fully again before anything starts.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from coordinator_tui import __version__

if TYPE_CHECKING:
    from coordinator_tui.config import Config

# Must equal the defaults of coordinator_tui.config (a unit test holds them together).
DEFAULT_LANGUAGE = "fi"
DEFAULT_THEME = "textual-dark"
_ABSENT = "absent"
_KEEP = 20  # remembered validated versions of the file (e.g. switching between two configs)


@dataclass(frozen=True)
class QuickSettings:
    """What the app needs before its first frame."""

    language: str = DEFAULT_LANGUAGE
    theme: str = DEFAULT_THEME
    store_url: str = ""
    keymap: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Config) -> QuickSettings:
        return cls(
            language=config.ui.language,
            theme=config.ui.theme,
            store_url=config.store.url,
            keymap=dict(config.ui.keymap),
        )


def _ledger() -> Path:
    from platformdirs import user_cache_path

    return user_cache_path("coordinator-tui", appauthor=False) / "validated-configs"


def _fingerprint(data: bytes | None) -> str:
    digest = hashlib.sha256(data).hexdigest() if data is not None else _ABSENT
    return f"{__version__} {digest}"


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def quick_settings(path: Path) -> QuickSettings | None:
    """The first frame's settings if these exact bytes were validated before, else None."""
    try:
        data = _read(path)
        known = _ledger().read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    if _fingerprint(data) not in known:
        return None
    if data is None:
        return QuickSettings()
    raw = tomllib.loads(data.decode("utf-8"))
    ui, store = raw.get("ui", {}), raw.get("store", {})
    return QuickSettings(
        language=ui.get("language", DEFAULT_LANGUAGE),
        theme=ui.get("theme", DEFAULT_THEME),
        store_url=store.get("url", ""),
        keymap=dict(ui.get("keymap", {})),
    )


def remember_valid(data: bytes | None) -> None:
    """Note that these bytes (None: no file) passed full validation. Failing to note costs only speed."""
    try:
        fingerprint = _fingerprint(data)
        ledger = _ledger()
        ledger.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        known = ledger.read_text(encoding="utf-8").splitlines() if ledger.exists() else []
        if fingerprint in known:
            return
        known = [*known, fingerprint][-_KEEP:]
        temporary = ledger.with_suffix(".tmp")
        temporary.write_text("\n".join(known) + "\n", encoding="utf-8")
        os.replace(temporary, ledger)
    except OSError:
        pass
