"""The IMAP connection: TLS that verifies, one login path, folder discovery, errors in plain words.

No Textual here; callers run these blocking calls in a thread worker.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from coordinator_tui.config import ImapSection, is_loopback

if TYPE_CHECKING:
    from imapclient import IMAPClient

TIMEOUT_SECONDS = 30.0

# SPECIAL-USE flag → the role the store keeps for the folder.
SPECIAL_ROLES = {b"\\Sent": "sent", b"\\Archive": "archive", b"\\Trash": "trash"}

_T = TypeVar("_T")


class ImapError(Exception):
    """The IMAP server cannot be used: ``what`` happened and what the user can do (``todo``)."""

    def __init__(self, what: str, todo: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.todo = todo

    def __str__(self) -> str:
        return f"{self.what} {self.todo}".strip()


@dataclass(frozen=True)
class FolderInfo:
    name: str
    role: str  # inbox, sent, archive, trash or ""


def tls_context(section: ImapSection) -> ssl.SSLContext:
    """The system's trusted CAs, plus ``ca_file`` when set; host names are checked."""
    context = ssl.create_default_context()  # given a cafile, it would skip the system's CAs
    try:
        if section.ca_file:
            context.load_verify_locations(cafile=section.ca_file)
    except (OSError, ssl.SSLError) as error:
        raise ImapError(
            f"The CA file {section.ca_file} cannot be read ({error}).",
            "Point [imap] ca_file at a readable PEM certificate, or leave it empty.",
        ) from error
    return context


def connect(section: ImapSection, password: str, *, timeout: float = TIMEOUT_SECONDS) -> IMAPClient:
    """A logged-in IMAPClient for ``section``; raises :class:`ImapError` with words for the user."""
    from imapclient import IMAPClient

    host, port = section.host, section.effective_port()
    if not host:
        raise ImapError("No IMAP server is configured.", "Set [imap] host in the config file.")
    if section.security == "none" and not is_loopback(host):
        raise ImapError(
            f"Refusing to send the password unencrypted to {host}.",
            'Set [imap] security = "tls" or "starttls"; "none" is only for a server on this machine.',
        )
    where = f"{host}:{port}"
    context = tls_context(section) if section.security != "none" else None
    client = guarded(
        where,
        lambda: IMAPClient(
            host, port=port, ssl=section.security == "tls", ssl_context=context, timeout=timeout
        ),
    )
    try:
        client.normalise_times = False  # aware INTERNALDATEs
        if section.security == "starttls":
            capabilities = guarded(where, client.capabilities)
            if b"STARTTLS" not in capabilities:
                raise ImapError(
                    f"The IMAP server {where} does not offer STARTTLS.",
                    'Use security = "tls" (usually port 993), or ask the server\'s admin to enable STARTTLS.',
                )
            guarded(where, lambda: client.starttls(context))
        authenticate(client, section.username, password, where)
    except BaseException:
        close_quietly(client)
        raise
    return client


def authenticate(client: IMAPClient, username: str, password: str, where: str = "") -> None:
    """Log in. The one place that chooses how, so that OAuth2 (XOAUTH2) can be added here."""
    from imapclient.exceptions import LoginError

    try:
        if password.isascii():
            guarded(where, lambda: client.login(username, password))
        else:  # LOGIN cannot carry non-ASCII; AUTHENTICATE PLAIN sends it as UTF-8
            guarded(where, lambda: client.plain_login(username, password))
    except LoginError as error:
        raise ImapError(
            f"The IMAP server {where} refused the login of {username!r} ({_said(error)}).",
            "Check [imap] username and the password (keyring or COORDINATOR_TUI_IMAP_PASSWORD).",
        ) from error


def guarded(where: str, call: Callable[[], _T]) -> _T:
    """Run one IMAP call, turning network, TLS and protocol failures into :class:`ImapError`."""
    from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

    try:
        return call()
    except LoginError:
        raise
    except ssl.SSLCertVerificationError as error:
        raise ImapError(
            f"The IMAP server {where} could not be verified: {error.verify_message or error}.",
            "If the server uses its own certificate authority, save its CA certificate (PEM) and set "
            "[imap] ca_file to that file.",
        ) from error
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError) as error:
        raise ImapError(
            f"The connection to the IMAP server {where} was lost ({error.reason or error}).",
            "Try again; what was synced so far is kept.",
        ) from error
    except ssl.SSLError as error:
        raise ImapError(
            f"The TLS handshake with {where} failed ({error.reason or error}).",
            'Check [imap] port and security: "tls" is usually port 993, "starttls" port 143.',
        ) from error
    except ConnectionRefusedError as error:
        raise ImapError(
            f"The IMAP server {where} refused the connection.",
            "Check [imap] host and port, and that the server is running.",
        ) from error
    except socket.gaierror as error:
        raise ImapError(
            f"The IMAP server's name {where.rsplit(':', 1)[0]} cannot be resolved ({error.strerror}).",
            "Check [imap] host and the network connection.",
        ) from error
    except TimeoutError as error:
        raise ImapError(
            f"The IMAP server {where} did not answer in time.",
            "Check the network connection; try again later.",
        ) from error
    except IMAPClientAbortError as error:
        raise ImapError(
            f"The connection to the IMAP server {where} was lost ({_said(error)}).",
            "Try again; what was synced so far is kept.",
        ) from error
    except IMAPClientError as error:
        raise ImapError(f"The IMAP server {where} said no: {_said(error)}.", "") from error
    except OSError as error:
        raise ImapError(
            f"The IMAP server {where} cannot be reached ({error.strerror or error}).",
            "Check [imap] host and port and the network connection; what was synced so far is kept.",
        ) from error


def discover_folders(client: IMAPClient, configured: Iterable[str], where: str = "") -> list[FolderInfo]:
    """The configured folders, then the server's Sent, Archive and Trash (by SPECIAL-USE flags)."""
    listed = guarded(where, client.list_folders)
    roles: dict[str, str] = {}
    for flags, _delimiter, name in listed:
        for flag in flags:
            role = SPECIAL_ROLES.get(flag if isinstance(flag, bytes) else str(flag).encode())
            if role and role not in roles.values():
                roles[name] = role
    folders: list[FolderInfo] = []
    seen: set[str] = set()
    for name in configured:
        role = "inbox" if name.upper() == "INBOX" else roles.get(name, "")
        if name not in seen:
            folders.append(FolderInfo(name, role))
            seen.add(name)
    order = list(SPECIAL_ROLES.values())
    for name, role in sorted(roles.items(), key=lambda item: order.index(item[1])):
        if name not in seen:
            folders.append(FolderInfo(name, role))
            seen.add(name)
    return folders


def fetch_all(
    client: IMAPClient, items: list[str], modifiers: list[str] | None = None
) -> dict[int, dict[bytes, Any]]:
    """UID FETCH 1:* — every message of the selected folder, keyed by UID.

    imapclient 4's ``fetch()`` takes only explicit UIDs (a list of 100k would break the server's
    line limit), so this sends the command as ``fetch()`` itself does, through the same parser.
    """
    from imapclient.response_parser import parse_fetch_response

    imap = client._imap
    modifier_text = "(" + " ".join(modifiers).upper() + ")" if modifiers else None
    tag = imap._command("UID", "FETCH", "1:*", "(" + " ".join(items).upper() + ")", modifier_text)
    typ, data = imap._command_complete("FETCH", tag)
    client._checkok("fetch", typ, data)
    typ, data = imap._untagged_response(typ, data, "FETCH")
    return dict(parse_fetch_response(data, client.normalise_times, True))


def close_quietly(client: IMAPClient) -> None:
    """Log out, or just drop the socket when the connection is already broken."""
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()


def _said(error: BaseException) -> str:
    text = str(error)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return text.strip() or type(error).__name__
