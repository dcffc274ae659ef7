"""`coordinator-tui doctor`: check the config, keyring, store and servers, and say what to fix."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from coordinator_tui.config import Config

Status = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


def run_checks(config: Config, config_file: Path, url: str) -> list[Check]:
    checks = [
        Check(
            "config",
            "ok",
            f"{config_file} is valid" if config_file.exists() else f"{config_file} absent: defaults in use",
        )
    ]
    checks.append(_keyring_check())
    checks.extend(_store_checks(url))
    checks.append(_server_check("imap", config.imap.host, config.imap.username))
    checks.append(_server_check("smtp", config.smtp.host, config.smtp.username))
    checks.append(
        Check("feeds", "skip", f"{len(config.feeds)} configured; reachability is checked by the feeds issue")
    )
    return checks


def _keyring_check() -> Check:
    from coordinator_tui.secrets import keyring_available

    available, detail = keyring_available()
    if available:
        return Check("keyring", "ok", detail)
    return Check(
        "keyring",
        "warn",
        f"{detail}: passwords come from COORDINATOR_TUI_*_PASSWORD or a prompt held in memory",
    )


def _store_checks(url: str) -> list[Check]:
    from store.engine import open_store
    from store.errors import StoreError
    from store.migrate import current_revision_sqlite, head_revision
    from store.queries import integrity_check

    try:
        store = open_store(url)
    except StoreError as error:
        return [Check("store", "fail", str(error))]
    checks = []
    if store.path is not None:
        mode = stat.S_IMODE(store.path.stat().st_mode)
        permissions: Status = "ok" if mode & 0o077 == 0 else "fail"
        checks.append(Check("store file", permissions, f"{store.path} mode {mode:04o}"))
        revision = current_revision_sqlite(store.path)
        checks.append(Check("store schema", "ok", f"revision {revision} (newest {head_revision()})"))
    try:
        result = integrity_check(store)
    except StoreError as error:
        return [*checks, Check("store integrity", "fail", str(error))]
    integrity: Status = "ok" if result == ["ok"] else "fail"
    checks.append(Check("store integrity", integrity, "; ".join(result[:5])))
    return checks


def _server_check(name: str, host: str, username: str) -> Check:
    if not host:
        return Check(name, "skip", f"not configured ([{name}] host is empty)")
    return Check(name, "skip", f"{username or '(no user)'}@{host}; reachability is checked by the mail issue")


def print_report(checks: list[Check]) -> None:
    marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "--  "}
    width = max(len(check.name) for check in checks)
    for check in checks:
        print(f"{marks[check.status]}  {check.name:<{width}}  {check.detail}")
