"""The few settings the first frame needs, read without pydantic when the config is known to be valid.

Importing pydantic and building the config models costs about a quarter of a second on a small
machine, a third of the start-up budget. The full validation in :mod:`coordinator_tui.config`
stays the only judge of the file: after it accepts a file, the file's SHA-256 (with the app's
version) is noted in the user cache directory, and later starts with the very same bytes read
the first frame's settings straight from the TOML. Any change to the file, or a new version of
the app, validates it fully again before anything starts. A headless `coordinator-tui sync` (cron,
every few minutes) reads its [imap] section the same way: as the validation returned it, noted
with the file's fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


class ValidatedImapSection:
    """The ``[imap]`` section exactly as the full validation returned it, read back without pydantic.

    For `coordinator-tui sync` of bytes that passed validation before: it has every field of
    :class:`coordinator_tui.config.ImapSection` (the values pydantic produced, defaults filled in)
    and its ``effective_port()``. It is what the sync reads of an ImapSection, nothing more.
    """

    __slots__ = ("_port", "_values")

    def __init__(self, values: dict[str, Any], port: int) -> None:
        self._values = values
        self._port = port

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def effective_port(self) -> int:
        return self._port


def _known() -> dict[str, str] | None:
    """The ledger: fingerprint → what was noted with it (JSON, or ""); None when unreadable."""
    try:
        lines = _ledger().read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    known = {}
    for line in filter(None, lines):
        fingerprint, _tab, noted = line.partition("\t")
        known[fingerprint] = noted
    return known


def _validated_before(path: Path) -> tuple[bytes | None, str] | None:
    """The file's bytes and what was noted with them, if these exact bytes passed validation; else None."""
    try:
        data = _read(path)
    except OSError:
        return None
    known = _known()
    if known is None or (fingerprint := _fingerprint(data)) not in known:
        return None
    return data, known[fingerprint]


def quick_settings(path: Path) -> QuickSettings | None:
    """The first frame's settings if these exact bytes were validated before, else None."""
    found = _validated_before(path)
    return None if found is None else _settings(found[0])


def quick_sync_settings(path: Path) -> tuple[QuickSettings, ValidatedImapSection] | None:
    """For a headless sync: the settings and the validated [imap] section of bytes validated before.

    None when the bytes are new, or were noted before the section was (validate them fully then).
    """
    found = _validated_before(path)
    if found is None or not found[1]:
        return None
    data, noted = found
    try:
        headless = json.loads(noted)
        imap = ValidatedImapSection(dict(headless["imap"]), int(headless["imap_port"]))
    except (ValueError, KeyError, TypeError):
        return None
    return _settings(data), imap


def _settings(data: bytes | None) -> QuickSettings:
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


def remember_valid(data: bytes | None, config: Config | None = None) -> None:
    """Note that these bytes (None: no file) passed full validation. Failing to note costs only speed.

    With ``config``, the validation's result, its [imap] section is noted as well (no secret is in
    it: passwords never are in the config), so that a `sync` of the same bytes needs no pydantic.
    """
    try:
        fingerprint = _fingerprint(data)
        noted = "" if config is None else json.dumps(_headless(config), ensure_ascii=False)
        ledger = _ledger()
        ledger.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        known = _known() or {}
        if fingerprint in known and (known[fingerprint] or not noted):
            return
        known.pop(fingerprint, None)  # noted again at the end: the most recent is kept longest
        known[fingerprint] = noted
        kept = [f"{key}\t{note}".rstrip("\t") for key, note in known.items()][-_KEEP:]
        temporary = ledger.with_suffix(".tmp")
        temporary.write_text("\n".join(kept) + "\n", encoding="utf-8")
        os.replace(temporary, ledger)
    except OSError:
        pass


def _headless(config: Config) -> dict[str, Any]:
    return {"imap": config.imap.model_dump(mode="json"), "imap_port": config.imap.effective_port()}
