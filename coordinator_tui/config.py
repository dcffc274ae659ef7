"""Typed settings from the TOML config file; every error names the file, the key and what is wrong."""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
)

Security = Literal["tls", "starttls", "none"]


class ConfigError(Exception):
    """The config cannot be used. ``problems`` are lines such as ``imap.port: must be ...``."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(problems))
        self.path = path
        self.problems = problems

    def message(self) -> str:
        lines = [f"The config file {self.path} cannot be used:"]
        lines += [f"  - {problem}" for problem in self.problems]
        lines.append(
            "Fix these lines and start again; `coordinator-tui init --config PATH` writes a commented "
            "example to compare with."
        )
        return "\n".join(lines)


class Section(BaseModel):
    # An unknown key is almost always a typo; refusing it beats silently ignoring a setting.
    model_config = ConfigDict(extra="forbid", validate_default=True)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ServerSection(Section):
    host: str = ""
    """The server's host name; empty = not configured yet."""
    port: Annotated[StrictInt, Field(ge=1, le=65535)] | None = None
    """The TCP port; the default follows from ``security``."""
    security: Security = "tls"
    """``tls`` (implicit TLS), ``starttls``, or ``none`` (only for a server on this machine)."""
    username: str = ""
    """The login name. The password is never here: it comes from the keyring or the environment."""
    ca_file: str = ""
    """An extra CA certificate (PEM) to trust, e.g. for a self-signed test server."""

    @field_validator("security")
    @classmethod
    def _plaintext_only_on_loopback(cls, value: str, info: ValidationInfo) -> str:
        host = info.data.get("host", "")
        if value == "none" and host and not is_loopback(host):
            raise ValueError(
                f'"none" sends the password unencrypted; it is allowed only for a server on this '
                f'machine (localhost, 127.0.0.1, ::1), not for {host!r}. Use "tls" or "starttls".'
            )
        return value


class ImapSection(ServerSection):
    folders: list[str] = Field(default_factory=lambda: ["INBOX"])
    """Folders to sync; the server's Sent, Archive and Trash are found by SPECIAL-USE as well."""

    def effective_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)


class SmtpSection(ServerSection):
    from_address: str = ""
    """The address mail is sent from, e.g. the shared mailbox's address."""

    def effective_port(self) -> int:
        return self.port or (465 if self.security == "tls" else 587)

    @field_validator("from_address")
    @classmethod
    def _looks_like_address(cls, value: str) -> str:
        if value and ("@" not in value or value.startswith("@") or value.endswith("@")):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value


class StoreSection(Section):
    url: str = ""
    """A SQLAlchemy URL; empty = the local SQLite file in the user data directory."""

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value and "://" not in value:
            raise ValueError(f"{value!r} is not a database URL (expected e.g. sqlite:////path/store.sqlite)")
        return value


class FeedEntry(Section):
    name: str
    """What the feed is called in the app."""
    url: str
    """The feed's address (http or https)."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) address")
        return value


class UiSection(Section):
    language: Literal["fi", "en"] = "fi"
    """The language of the user interface."""
    theme: str = "textual-dark"
    """A Textual theme name, e.g. textual-dark, textual-light, nord, gruvbox."""
    keymap: dict[str, str] = Field(default_factory=dict)
    """Remapped keys: binding id → keys, e.g. ``"app.screen.mail" = "f2"``."""


class Config(Section):
    store: StoreSection = Field(default_factory=StoreSection)
    imap: ImapSection = Field(default_factory=ImapSection)
    smtp: SmtpSection = Field(default_factory=SmtpSection)
    feeds: list[FeedEntry] = Field(default_factory=list)
    ui: UiSection = Field(default_factory=UiSection)


def _location(loc: tuple[int | str, ...]) -> str:
    """``("feeds", 1, "url")`` → ``feeds[2].url`` (counted from 1, as a person counts tables)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _problems(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        # Pydantic names the failing branch of a union or literal in the location; drop those.
        loc = tuple(
            p for p in item["loc"] if not (isinstance(p, str) and p.startswith(("literal[", "function-")))
        )
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (a typo?)"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        problems.append(f"{_location(loc)}: {message}")
    return problems


def parse_config(text: str, path: Path) -> Config:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, [f"not valid TOML: {error}"]) from error
    try:
        return Config.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(path, _problems(error)) from error


def load_config(path: Path, *, must_exist: bool) -> Config:
    """Read and validate the config; a missing default config means all defaults."""
    return load_config_and_bytes(path, must_exist=must_exist)[0]


def load_config_and_bytes(path: Path, *, must_exist: bool) -> tuple[Config, bytes | None]:
    """The validated config and the exact bytes it came from (None: no file, defaults)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if must_exist:
            raise ConfigError(path, ["the file does not exist"]) from None
        return Config(), None
    except OSError as error:
        raise ConfigError(path, [f"cannot be read: {error.strerror}"]) from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(path, [f"is not UTF-8 text (byte {error.start})"]) from error
    return parse_config(text, path), data


EXAMPLE_CONFIG = """\
# coordinator-tui config. Every key is optional; the values shown are the defaults or examples.
# Passwords are never written here: `coordinator-tui login imap` stores one in the system keyring,
# or set COORDINATOR_TUI_IMAP_PASSWORD / COORDINATOR_TUI_SMTP_PASSWORD in the environment.

[store]
# A SQLAlchemy URL. Empty = the local SQLite file in your user data directory.
# url = "sqlite:////home/me/coordinator/store.sqlite"

[imap]
# The shared mailbox (yhteissähköposti).
# host = "imap.example.fi"
# port = 993
security = "tls"          # "tls", "starttls", or "none" (only for a server on this machine)
# username = "omaolo.koordinaattori@example.fi"
folders = ["INBOX"]       # Sent, Archive and Trash are found from the server
# ca_file = "/path/to/extra-ca.pem"

[smtp]
# host = "smtp.example.fi"
# port = 465
security = "tls"
# username = "omaolo.koordinaattori@example.fi"
# from_address = "omaolo@example.fi"

# Newsletter feeds, one [[feeds]] table each.
# [[feeds]]
# name = "DigiFinland"
# url = "https://www.digifinland.fi/feed/"

[ui]
language = "fi"           # "fi" or "en"
theme = "textual-dark"
# Remap keys by binding id (see `?` in the app):
# [ui.keymap]
# "app.screen.mail" = "f2"
"""
