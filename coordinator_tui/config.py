"""Typed settings from the TOML config file; every error names the file, the key and what is wrong."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from coordinator_tui.hosts import is_loopback as is_loopback  # re-exported: used as config.is_loopback

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


def _https_or_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and bool(parts.hostname) and is_loopback(parts.hostname or "")


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
    timeout: Annotated[float, Field(gt=0, le=600)] = 30.0
    """Seconds to wait for the server to answer (connect, or any read or write) before giving up."""

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

    # -- OAuth2 (Microsoft 365 and other identity providers); see coordinator_tui/oauth2.py ----------
    auth: Literal["password", "oauth2"] = "password"
    """``password``, or ``oauth2``: sign in with `coordinator-tui login` (device code, any browser)."""
    tenant: str = ""
    """OAuth2: the Microsoft 365 tenant (its id or domain, e.g. ``hyvinvointialue.fi``)."""
    authority: str = ""
    """OAuth2: the identity provider's base URL; default ``https://login.microsoftonline.com``."""
    client_id: str = ""
    """OAuth2: the application (client) id registered for this app in the tenant."""
    scopes: list[str] = Field(default_factory=list)
    """OAuth2: the scopes to ask for; default Outlook's IMAP (or SMTP) scope and ``offline_access``."""
    shared_mailbox: str = ""
    """OAuth2: the shared mailbox's address, sent as the login user with the signed-in user's token."""
    device_authorization_endpoint: str = ""
    """OAuth2: for providers other than Microsoft 365 (Google, Keycloak, ...): this and ``token_endpoint``."""
    token_endpoint: str = ""
    """OAuth2: the token endpoint, with ``device_authorization_endpoint``."""

    @model_validator(mode="after")
    def _oauth2_complete(self) -> ServerSection:
        if self.auth != "oauth2":
            return self
        problems = []
        if not self.client_id:
            problems.append('auth = "oauth2" needs client_id (the app\'s id in the tenant)')
        explicit = bool(self.device_authorization_endpoint or self.token_endpoint)
        if explicit and not (self.device_authorization_endpoint and self.token_endpoint):
            problems.append("give both device_authorization_endpoint and token_endpoint, or neither")
        if not explicit and not self.tenant:
            problems.append(
                'auth = "oauth2" needs tenant (Microsoft 365), or device_authorization_endpoint '
                "and token_endpoint (other providers)"
            )
        if not self.username:
            problems.append('auth = "oauth2" needs username: the account that signs in')
        for name in ("authority", "device_authorization_endpoint", "token_endpoint"):
            url = getattr(self, name)
            if url and not _https_or_loopback(url):
                problems.append(
                    f"{name} must be an https:// address (http:// only for a provider on this machine)"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ImapSection(ServerSection):
    folders: list[str] = Field(default_factory=lambda: ["INBOX"])
    """Folders to sync; the server's Sent, Archive and Trash are found by SPECIAL-USE as well."""

    def effective_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)


class SmtpSection(ServerSection):
    from_address: str = ""
    """The address mail is sent from, e.g. the shared mailbox's address."""
    from_name: str = ""
    """The name shown with that address, e.g. "Omaolo-koordinaattori"; empty = the bare address."""

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


class NewslettersSection(Section):
    """Settings of the Feeds screen. A table of its own: ``[[feeds]]`` is an array of tables, so
    no ``[feeds]`` table with keys can stand beside it in TOML."""

    refresh_minutes: Annotated[StrictInt, Field(ge=5, le=24 * 60)] = 30
    """How often the running app refreshes every feed (minutes, at least 5)."""
    senders: list[str] = Field(default_factory=list)
    """Addresses whose mail is a newsletter, shown in the Feeds screen as a "mail newsletters" feed."""
    forward_list: str = ""
    """The directory list an item (F) or a digest (D) is addressed to first (its members in Bcc);
    empty = the list last passed on to, else the directory's first list."""
    forward_intro: str = ""
    """Your own words at the top of a forwarded item or digest; empty = a short Finnish greeting."""


def _notice_services() -> list[str]:
    from coordinator_tui.notices.model import DEFAULT_SERVICES

    return list(DEFAULT_SERVICES)


class NoticesSection(Section):
    """Disruption notices: where they are addressed and published, and how they are sent."""

    to_address: str = ""
    """The address in a notice's To: header (e.g. the notice list's own); empty = [smtp] from_address.
    Recipients are always in Bcc."""
    atom_path: str = ""
    """Where every sent notice version is also written as an Atom feed (e.g. a shared web folder);
    empty = no feed."""
    services: list[str] = Field(default_factory=_notice_services)
    """The services a notice can name, in the order the picker shows them."""
    max_recipients_per_message: Annotated[StrictInt, Field(ge=1, le=1000)] = 100
    """At most this many recipients per message; fewer when the server answers 452."""
    retry_backoff_seconds: Annotated[float, Field(ge=0, le=3600)] = 5.0
    """The first wait before retrying recipients the server put off (4xx); doubled each round."""

    @field_validator("to_address")
    @classmethod
    def _looks_like_address(cls, value: str) -> str:
        if value and ("@" not in value or value.startswith("@") or value.endswith("@")):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value


class UiSection(Section):
    language: Literal["fi", "en"] = "fi"
    """The language of the user interface."""
    theme: str = "textual-dark"
    """A Textual theme name, e.g. textual-dark, textual-light, nord, gruvbox."""
    keymap: dict[str, str] = Field(default_factory=dict)
    """Remapped keys: binding id → keys, e.g. ``"app.screen.mail" = "f2"``."""


WeekdayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PriorityName = Literal["P1", "P2", "P3", "P4"]


def _check_span(text: str) -> str:
    from coordinator_tui.requests.duetime import parse_span

    parse_span(text)
    return text


def _check_hours(text: str) -> str:
    from coordinator_tui.requests.duetime import parse_hours

    parse_hours(text)
    return text


DueText = Annotated[str, AfterValidator(_check_span)]
HoursText = Annotated[str, AfterValidator(_check_hours)]


def _default_office_hours() -> dict[WeekdayName, str]:
    return {"mon": "8-15", "tue": "8-15", "wed": "8-15", "thu": "8-15", "fri": "8-14"}


def _default_due() -> dict[PriorityName, str]:
    return {"P1": "4 h", "P2": "1 d", "P3": "5 d", "P4": "20 d"}


def _default_categories() -> list[str]:
    from store.vocabulary import REQUEST_CATEGORIES

    return list(REQUEST_CATEGORIES)


class RequestsSection(Section):
    me: str = ""
    """Your name as it shows in a request's assignee and history; empty = your login name."""
    assignees: list[str] = Field(default_factory=list)
    """Other people or roles a request can be assigned to, e.g. ``["Jari Pesonen", "ICT"]``."""
    categories: list[str] = Field(default_factory=_default_categories)
    """The categories a request can have, in the order the picker shows them."""
    due: dict[PriorityName, DueText] = Field(default_factory=_default_due)
    """Due time per priority: ``"4 h"`` = office hours, ``"5 d"`` = working days; missing ones keep
    the default (P1 4 h, P2 1 d, P3 5 d, P4 20 d)."""
    office_hours: dict[WeekdayName, HoursText] = Field(default_factory=_default_office_hours)
    """Office hours (virka-aika) per weekday, e.g. ``fri = "8-14"``; a day left out is closed."""
    time_zone: str = "Europe/Helsinki"
    """The time zone the office hours are in."""
    holidays: str = "FI"
    """Public holidays to skip, as a country code of the `holidays` library; empty = none."""
    closed_days: list[date] = Field(default_factory=list)
    """Extra days the office is closed, e.g. ``[2026-12-31]``."""
    recently_days: Annotated[StrictInt, Field(ge=1, le=365)] = 14
    """How many days back the "Closed recently" view reaches."""

    @field_validator("categories")
    @classmethod
    def _some_categories(cls, value: list[str]) -> list[str]:
        cleaned = [name.strip() for name in value]
        if not cleaned or any(not name for name in cleaned):
            raise ValueError("give at least one category, and no empty names")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("a category is listed twice")
        return cleaned

    @field_validator("due")
    @classmethod
    def _all_priorities(cls, value: dict[str, str]) -> dict[str, str]:
        return {**_default_due(), **value}

    @field_validator("office_hours")
    @classmethod
    def _some_office_day(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("at least one weekday must have office hours")
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone (e.g. Europe/Helsinki)") from None
        return value

    @field_validator("holidays")
    @classmethod
    def _country(cls, value: str) -> str:
        # The form only: importing the holidays library to look the code up costs 0.6 s, which
        # `doctor` and the CLI should not pay; an unknown code is reported when due times are counted.
        if value and not re.fullmatch(r"[A-Za-z]{2,3}", value):
            raise ValueError(f"{value!r} is not a country code (e.g. FI)")
        return value.upper()


class Config(Section):
    store: StoreSection = Field(default_factory=StoreSection)
    imap: ImapSection = Field(default_factory=ImapSection)
    smtp: SmtpSection = Field(default_factory=SmtpSection)
    feeds: list[FeedEntry] = Field(default_factory=list)
    newsletters: NewslettersSection = Field(default_factory=NewslettersSection)
    notices: NoticesSection = Field(default_factory=NoticesSection)
    ui: UiSection = Field(default_factory=UiSection)
    requests: RequestsSection = Field(default_factory=RequestsSection)


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
# timeout = 30.0          # seconds to wait for any answer of the server before giving up
# Microsoft 365 (OAuth2): sign in once with `coordinator-tui login imap` (a code for any browser).
# auth = "oauth2"         # "password" (default) or "oauth2"
# tenant = "hyvinvointialue.fi"
# client_id = "00000000-0000-0000-0000-000000000000"   # the app registered in your tenant
# shared_mailbox = "omaolo@hyvinvointialue.fi"          # opened with your own sign-in

[smtp]
# host = "smtp.example.fi"
# port = 465
security = "tls"
# username = "omaolo.koordinaattori@example.fi"
# from_address = "omaolo@example.fi"
# from_name = "Omaolo-koordinaattori"
# timeout = 30.0          # seconds to wait for any answer of the server before giving up

# Newsletter feeds, one [[feeds]] table each (`coordinator-tui feeds refresh` fetches them).
# [[feeds]]
# name = "DigiFinland"
# url = "https://www.digifinland.fi/feed/"

# Settings of the feeds: a table of its own, since [[feeds]] above is a list of tables.
[newsletters]
refresh_minutes = 30      # how often the running app refreshes every feed (at least 5)
# senders = ["uutiskirje@digifinland.fi"]   # mail from these shows as newsletter items
# forward_list = "Vastuukäyttäjät"          # F and D address this directory list (Bcc) first
# forward_intro = "Hei,\\n\\ntiedoksi DigiFinlandin uutiskirjeestä:"

[notices]
# to_address = "omaolo-tiedotteet@example.fi"  # To: of every notice; recipients are always in Bcc
# atom_path = "/srv/www/omaolo/tiedotteet.xml"  # also publish every sent version as an Atom feed
max_recipients_per_message = 100
retry_backoff_seconds = 5.0

[requests]
# Your name in a request's assignee and history (empty = your login name).
# me = "Sanna Kivelä"
# assignees = ["Jari Pesonen", "ICT"]
# categories = ["käyttöoikeus", "taustamääritys", "vika tai häiriö", "muu"]
time_zone = "Europe/Helsinki"
holidays = "FI"           # public holidays skipped by due times (a `holidays` country code)
# closed_days = [2026-12-31]
recently_days = 14        # how far back "Closed recently" reaches
# Due time per priority: "4 h" = office hours, "5 d" = working days.
[requests.due]
P1 = "4 h"
P2 = "1 d"
P3 = "5 d"
P4 = "20 d"
# Office hours (virka-aika); a weekday left out is closed.
[requests.office_hours]
mon = "8-15"
tue = "8-15"
wed = "8-15"
thu = "8-15"
fri = "8-14"

[ui]
language = "fi"           # "fi" or "en"
theme = "textual-dark"
# Remap keys by binding id (see `?` in the app):
# [ui.keymap]
# "app.screen.mail" = "f2"
"""
