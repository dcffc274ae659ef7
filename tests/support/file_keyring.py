"""A keyring backend kept in one JSON file named by ``COORDINATOR_TUI_TEST_KEYRING``.

It stands in for the OS keyring (no keyring daemon runs headless here) where a secret must outlive
one process: a sign-in by `coordinator-tui login` used by a later `coordinator-tui sync`. Selected
in subprocesses with PYTHON_KEYRING_BACKEND=tests.support.file_keyring.FileKeyring.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @property
    def path(self) -> Path:
        return Path(os.environ["COORDINATOR_TUI_TEST_KEYRING"])

    def _load(self) -> dict[str, str]:
        try:
            return dict(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return {}

    def _save(self, entries: dict[str, str]) -> None:
        self.path.write_text(json.dumps(entries), encoding="utf-8")
        self.path.chmod(0o600)

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\x00{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self._load()
        entries[f"{service}\x00{username}"] = password
        self._save(entries)

    def delete_password(self, service: str, username: str) -> None:
        entries = self._load()
        entries.pop(f"{service}\x00{username}", None)
        self._save(entries)
