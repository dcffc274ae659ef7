"""Passwords: from the environment, else the system keyring, else a prompt held in memory for this run.

Nothing here ever writes a secret to a file or a log. The keyring service is ``coordinator-tui``
and the keyring user is ``<kind>:<username>`` so that IMAP and SMTP logins with the same name
stay apart.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from coordinator_tui import APP_NAME
from coordinator_tui.i18n import _

if TYPE_CHECKING:
    from coordinator_tui.config import ServerSection
    from coordinator_tui.oauth2 import TokenSource

Kind = Literal["imap", "smtp"]
KEYRING_SERVICE = APP_NAME
log = logging.getLogger(__name__)

# Held for the life of the process only: a prompt answered once is not asked again this run.
_memory: dict[tuple[str, str], str] = {}


def env_var(kind: Kind) -> str:
    return f"COORDINATOR_TUI_{kind.upper()}_PASSWORD"


def keyring_user(kind: Kind, username: str) -> str:
    return f"{kind}:{username}"


@dataclass(frozen=True)
class Secret:
    # A password, or with [imap]/[smtp] auth = "oauth2" a TokenSource (coordinator_tui/oauth2.py).
    value: str | TokenSource
    source: Literal["env", "keyring", "prompt", "memory"]
    notice: str = ""  # a one-line notice for the user, e.g. that no keyring is available


def keyring_available() -> tuple[bool, str]:
    """Whether a usable keyring backend exists, and its name (or why not)."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception as error:  # a broken keyring install must not stop the app
        return False, f"keyring failed to load: {type(error).__name__}"
    if isinstance(backend, fail.Keyring):
        return False, "no keyring backend on this machine"
    priority = getattr(backend, "priority", 1)
    if priority is not None and priority <= 0 and type(backend).__name__ == "ChainerBackend":
        return False, "no keyring backend on this machine"
    return True, f"{type(backend).__module__}.{type(backend).__name__}"


def _from_keyring(kind: Kind, username: str) -> str | None:
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, keyring_user(kind, username))
    except Exception as error:  # no backend, locked collection, D-Bus missing over SSH, ...
        log.info("keyring lookup for %s failed: %s", kind, type(error).__name__)
        return None


def resolve_password(
    kind: Kind, username: str, prompt: Callable[[str], str | None] | None = None
) -> Secret | None:
    """The password for ``kind``, in the order environment → keyring → memory → prompt.

    ``prompt`` is asked only when the others have nothing; its answer is kept in memory for
    this run and never stored. Returns None when there is no password and no way to ask.
    """
    from_env = os.environ.get(env_var(kind))
    if from_env:
        return Secret(from_env, "env")
    from_keyring = _from_keyring(kind, username)
    if from_keyring:
        return Secret(from_keyring, "keyring")
    remembered = _memory.get((kind, username))
    if remembered is not None:
        return Secret(remembered, "memory")
    if prompt is None:
        return None
    available, why = keyring_available()
    notice = (
        ""
        if available
        else f"No keyring ({why}): the {kind.upper()} password is kept in memory for this run only."
    )
    answer = prompt(_("{server} password for {username}: ").format(server=kind.upper(), username=username))
    if not answer:
        return None
    _memory[(kind, username)] = answer
    return Secret(answer, "prompt", notice)


def resolve_credential(
    kind: Kind, section: ServerSection, prompt: Callable[[str], str | None] | None = None
) -> Secret | None:
    """What logs in to ``section``: with ``auth = "oauth2"`` a token source when signed in (None
    when not: sign in first), else the password as :func:`resolve_password` finds it."""
    if section.auth == "oauth2":
        from coordinator_tui.oauth2 import load_refresh_token, token_source

        stored = load_refresh_token(kind, section.username)
        if stored is None:
            return None
        return Secret(token_source(kind, section), "keyring" if stored.where == "keyring" else "memory")
    return resolve_password(kind, section.username, prompt=prompt)


def store_password(kind: Kind, username: str, password: str) -> None:
    """Save a password in the system keyring; raises RuntimeError with a reason if there is none."""
    available, why = keyring_available()
    if not available:
        raise RuntimeError(
            f"Cannot store the password: {why}. Set {env_var(kind)} in the environment instead, "
            "or answer the prompt each run."
        )
    import keyring

    try:
        keyring.set_password(KEYRING_SERVICE, keyring_user(kind, username), password)
    except Exception as error:
        raise RuntimeError(f"The keyring refused to store the password: {error}") from error


def forget_memory() -> None:
    _memory.clear()
