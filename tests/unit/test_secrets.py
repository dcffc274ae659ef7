"""Passwords: environment → keyring → memory → prompt, never written anywhere but the keyring."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from coordinator_tui import secrets

IMAP_ENV = "COORDINATOR_TUI_IMAP_PASSWORD"
SMTP_ENV = "COORDINATOR_TUI_SMTP_PASSWORD"
USER = "omaolo.koordinaattori@hyvinvointialue.fi"


class _TestOnlyPriority:
    """Priority 1 while a test has installed the backend; not viable otherwise.

    Defining a KeyringBackend subclass registers it for keyring's auto-detection in this
    process; this keeps it from being picked up by any other test that lets keyring choose.
    """

    def __get__(self, instance: object, owner: type) -> int:
        if not MemoryKeyring.installed:
            raise RuntimeError("MemoryKeyring is for tests/unit/test_secrets.py only")
        return 1


class MemoryKeyring(KeyringBackend):
    """A real keyring backend holding passwords in a dict.

    It stands in for the OS keyring (Secret Service over D-Bus, macOS Keychain), which cannot
    run here headless; the code under test talks to it through keyring's public API exactly
    as it would to the real one.
    """

    priority = _TestOnlyPriority()  # type: ignore[assignment]
    installed = False

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}
        self.get_calls = 0

    def get_password(self, service: str, username: str) -> str | None:
        self.get_calls += 1
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError(username) from None


class LockedKeyring(MemoryKeyring):
    """A keyring whose collection is locked: every call fails, as over SSH without D-Bus."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("the collection is locked")


@pytest.fixture(autouse=True)
def clean_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(IMAP_ENV, raising=False)
    monkeypatch.delenv(SMTP_ENV, raising=False)
    original = keyring.get_keyring()
    secrets.forget_memory()
    MemoryKeyring.installed = True
    try:
        yield
    finally:
        MemoryKeyring.installed = False
        secrets.forget_memory()
        keyring.set_keyring(original)


@pytest.fixture
def backend() -> MemoryKeyring:
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    return memory


@pytest.fixture
def no_backend() -> None:
    keyring.set_keyring(fail.Keyring())


class Prompt:
    """A prompt that records what it was asked and gives a fixed answer."""

    def __init__(self, answer: str | None) -> None:
        self.answer = answer
        self.questions: list[str] = []

    def __call__(self, question: str) -> str | None:
        self.questions.append(question)
        return self.answer


def keyring_key(kind: str, username: str = USER) -> tuple[str, str]:
    return ("coordinator-tui", f"{kind}:{username}")


def test_env_var_names() -> None:
    assert secrets.env_var("imap") == IMAP_ENV
    assert secrets.env_var("smtp") == SMTP_ENV


# --- resolution order ------------------------------------------------------------------------


def test_environment_wins_over_keyring(backend: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    backend.passwords[keyring_key("imap")] = "from-keyring"
    monkeypatch.setenv(IMAP_ENV, "from-env")
    prompt = Prompt("from-prompt")
    assert secrets.resolve_password("imap", USER, prompt) == secrets.Secret("from-env", "env")
    assert prompt.questions == []


def test_environment_is_per_kind(backend: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    backend.passwords[keyring_key("imap")] = "imap-keyring"
    monkeypatch.setenv(SMTP_ENV, "smtp-env")
    assert secrets.resolve_password("imap", USER) == secrets.Secret("imap-keyring", "keyring")
    assert secrets.resolve_password("smtp", USER) == secrets.Secret("smtp-env", "env")


def test_empty_environment_variable_is_ignored(
    backend: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend.passwords[keyring_key("imap")] = "from-keyring"
    monkeypatch.setenv(IMAP_ENV, "")
    assert secrets.resolve_password("imap", USER) == secrets.Secret("from-keyring", "keyring")


def test_keyring_used_when_no_environment(backend: MemoryKeyring) -> None:
    backend.passwords[keyring_key("imap")] = "from-keyring"
    prompt = Prompt("from-prompt")
    assert secrets.resolve_password("imap", USER, prompt) == secrets.Secret("from-keyring", "keyring")
    assert prompt.questions == []


def test_keyring_entries_of_imap_and_smtp_stay_apart(backend: MemoryKeyring) -> None:
    backend.passwords[keyring_key("smtp")] = "smtp-only"
    assert secrets.resolve_password("imap", USER) is None
    assert secrets.resolve_password("smtp", USER) == secrets.Secret("smtp-only", "keyring")


def test_prompt_asked_once_and_remembered_for_the_run(backend: MemoryKeyring) -> None:
    prompt = Prompt("from-prompt")
    first = secrets.resolve_password("imap", USER, prompt)
    second = secrets.resolve_password("imap", USER, prompt)
    assert first == secrets.Secret("from-prompt", "prompt", "")
    assert second == secrets.Secret("from-prompt", "memory")
    assert prompt.questions == [f"IMAP-salasana käyttäjälle {USER}: "]
    # Remembered for this run only: never written to the keyring.
    assert backend.passwords == {}


def test_memory_is_per_kind_and_user(backend: MemoryKeyring) -> None:
    secrets.resolve_password("imap", USER, Prompt("imap-secret"))
    other = Prompt("smtp-secret")
    assert secrets.resolve_password("smtp", USER, other) == secrets.Secret("smtp-secret", "prompt", "")
    assert other.questions == [f"SMTP-salasana käyttäjälle {USER}: "]
    assert secrets.resolve_password("imap", "someone.else", None) is None


def test_keyring_wins_over_memory(backend: MemoryKeyring) -> None:
    secrets.resolve_password("imap", USER, Prompt("typed-earlier"))
    backend.passwords[keyring_key("imap")] = "stored-since"
    assert secrets.resolve_password("imap", USER) == secrets.Secret("stored-since", "keyring")


def test_forget_memory_asks_again(backend: MemoryKeyring) -> None:
    prompt = Prompt("from-prompt")
    secrets.resolve_password("imap", USER, prompt)
    secrets.forget_memory()
    assert secrets.resolve_password("imap", USER) is None
    secrets.resolve_password("imap", USER, prompt)
    assert len(prompt.questions) == 2


@pytest.mark.parametrize("answer", ["", None])
def test_empty_prompt_answer_gives_none_and_is_not_remembered(
    backend: MemoryKeyring, answer: str | None
) -> None:
    prompt = Prompt(answer)
    assert secrets.resolve_password("imap", USER, prompt) is None
    assert secrets.resolve_password("imap", USER, prompt) is None
    assert len(prompt.questions) == 2


def test_nothing_and_no_prompt_gives_none(backend: MemoryKeyring) -> None:
    assert secrets.resolve_password("imap", USER) is None
    assert backend.get_calls == 1


# --- without a keyring -----------------------------------------------------------------------


def test_no_keyring_backend_gives_a_notice(no_backend: None) -> None:
    assert secrets.keyring_available() == (False, "no keyring backend on this machine")
    secret = secrets.resolve_password("imap", USER, Prompt("from-prompt"))
    assert secret is not None
    assert (secret.value, secret.source) == ("from-prompt", "prompt")
    assert secret.notice.startswith("No keyring (no keyring backend on this machine)")
    assert "IMAP password is kept in memory for this run only" in secret.notice


def test_locked_keyring_falls_through_to_the_prompt() -> None:
    keyring.set_keyring(LockedKeyring())
    secret = secrets.resolve_password("imap", USER, Prompt("from-prompt"))
    assert secret == secrets.Secret("from-prompt", "prompt", "")


def test_keyring_available_names_the_backend(backend: MemoryKeyring) -> None:
    available, name = secrets.keyring_available()
    assert available
    assert name.endswith(".MemoryKeyring")


# --- storing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["imap", "smtp"])
def test_store_password_writes_to_the_keyring(backend: MemoryKeyring, kind: secrets.Kind) -> None:
    secrets.store_password(kind, USER, "s3cret")
    assert backend.passwords == {("coordinator-tui", f"{kind}:{USER}"): "s3cret"}
    assert secrets.resolve_password(kind, USER) == secrets.Secret("s3cret", "keyring")


@pytest.mark.parametrize(("kind", "env"), [("imap", IMAP_ENV), ("smtp", SMTP_ENV)])
def test_store_password_without_keyring_says_what_to_do(
    no_backend: None, kind: secrets.Kind, env: str
) -> None:
    with pytest.raises(RuntimeError) as caught:
        secrets.store_password(kind, USER, "s3cret")
    message = str(caught.value)
    assert "no keyring backend on this machine" in message
    assert env in message
    assert "s3cret" not in message


def test_store_password_refused_by_the_keyring() -> None:
    keyring.set_keyring(LockedKeyring())
    with pytest.raises(
        RuntimeError, match="The keyring refused to store the password: the collection is locked"
    ):
        secrets.store_password("imap", USER, "s3cret")


def test_passwords_never_reach_the_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    keyring.set_keyring(LockedKeyring())
    secrets.resolve_password("imap", USER, Prompt("prompt-secret-1"))
    secrets.resolve_password("imap", USER, Prompt("unused"))
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    secrets.store_password("smtp", USER, "keyring-secret-2")
    secrets.resolve_password("smtp", USER)
    monkeypatch.setenv(IMAP_ENV, "env-secret-3")
    secrets.resolve_password("imap", USER)
    assert caplog.records, "the locked keyring should have been logged"
    for secret in ("prompt-secret-1", "keyring-secret-2", "env-secret-3"):
        assert secret not in caplog.text
