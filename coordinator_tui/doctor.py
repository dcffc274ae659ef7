"""`coordinator-tui doctor`: check the config, keyring, store and servers, and say what to fix."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from coordinator_tui.config import Config, ServerSection

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
    checks.extend(_server_checks("imap", config.imap))
    checks.extend(_server_checks("smtp", config.smtp))
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


def _server_checks(kind: Literal["imap", "smtp"], section: ServerSection) -> list[Check]:
    """Whether the server takes the login: the password (environment or keyring; doctor never
    asks), or the OAuth2 sign-in, with the account, when it was signed in and the token's expiry."""
    from coordinator_tui.secrets import resolve_credential

    if not section.host:
        return [Check(kind, "skip", f"not configured ([{kind}] host is empty)")]
    where = f"{section.username or '(no user)'}@{section.host}"
    checks: list[Check] = []
    if section.auth == "oauth2":
        sign_in = _sign_in_check(kind, section)
        checks.append(sign_in)
        if sign_in.status != "ok":
            return [*checks, Check(kind, "skip", f"{where}: not tried without a sign-in")]
    secret = resolve_credential(kind, section, prompt=None)
    if secret is None:
        return [
            *checks,
            Check(
                kind,
                "warn",
                f"{where}: no password in the environment or keyring (`coordinator-tui login {kind}`)",
            ),
        ]
    problem = server_login_problem(kind, section, secret.value)
    if problem:
        return [*checks, Check(kind, "fail", f"{where}: {problem}")]
    return [*checks, Check(kind, "ok", f"{where} accepts the login")]


def _sign_in_check(kind: Literal["imap", "smtp"], section: ServerSection) -> Check:
    from coordinator_tui.oauth2 import (
        IdentityUnavailable,
        SignInRequired,
        load_refresh_token,
        token_source,
    )

    name = f"{kind} sign-in"
    stored = load_refresh_token(kind, section.username)
    if stored is None:
        return Check(name, "fail", f"{section.username} is not signed in: `coordinator-tui login {kind}`")
    source = token_source(kind, section)
    try:
        source.token()
    except SignInRequired as error:
        return Check(name, "fail", f"{error.what} {error.todo}".strip())
    except IdentityUnavailable as error:
        return Check(name, "warn", f"{error.what}")
    current = source.current
    assert current is not None
    until = current.expires_at.astimezone().strftime("%d.%m.%Y %H.%M")
    since = f", signed in {stored.signed_in_at}" if stored.signed_in_at else ""
    mailbox = f", opening {section.shared_mailbox}" if section.shared_mailbox else ""
    return Check(name, "ok", f"{section.username}{mailbox}{since}; access token valid until {until}")


def server_login_problem(kind: Literal["imap", "smtp"], section: ServerSection, credential: object) -> str:
    """ "" when the server takes the credential, else what went wrong."""
    from coordinator_tui.config import ImapSection, SmtpSection

    if kind == "imap":
        from coordinator_tui.mail.imap import ImapError, close_quietly
        from coordinator_tui.mail.imap import connect as imap_connect

        assert isinstance(section, ImapSection)
        try:
            close_quietly(imap_connect(section, credential))  # type: ignore[arg-type]
        except ImapError as error:
            return str(error)
        return ""
    from coordinator_tui.mail.send import SmtpError, _close_quietly
    from coordinator_tui.mail.send import connect as smtp_connect

    assert isinstance(section, SmtpSection)
    try:
        _close_quietly(smtp_connect(section, credential))  # type: ignore[arg-type]
    except SmtpError as error:
        return str(error)
    return ""


def print_report(checks: list[Check]) -> None:
    marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "--  "}
    width = max(len(check.name) for check in checks)
    for check in checks:
        print(f"{marks[check.status]}  {check.name:<{width}}  {check.detail}")
