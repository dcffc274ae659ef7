"""The IMAP connection: TLS that verifies, one login path, folder discovery, errors in plain words.

No Textual here; callers run these blocking calls in a thread worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import ssl
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from coordinator_tui.hosts import is_loopback
from coordinator_tui.i18n import _
from coordinator_tui.oauth2 import IdentityUnavailable, SignInRequired, TokenSource

# A password, or an OAuth2 token source (coordinator_tui/oauth2.py) for XOAUTH2.
Credential = str | TokenSource

if TYPE_CHECKING:
    from imapclient import IMAPClient

    from coordinator_tui.config import ImapSection

log = logging.getLogger(__name__)

SAID_LIMIT = 300  # characters of a server's or parser's words kept in an error

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
    context = _system_context()
    try:
        if section.ca_file:
            context.load_verify_locations(cafile=section.ca_file)
    except (OSError, ssl.SSLError) as error:
        raise ImapError(
            _("The CA file {path} cannot be read ({error}).").format(path=section.ca_file, error=error),
            _("Point [imap] ca_file at a readable PEM certificate, or leave it empty."),
        ) from error
    return context


_HASH_LINK = re.compile(r"[0-9a-f]{8}\.[0-9]+")


def _system_context() -> ssl.SSLContext:
    """A verifying client context trusting the system's CAs.

    Where the system keeps them as OpenSSL's hashed directory (Debian's /etc/ssl/certs), only
    that directory is given: OpenSSL then reads the one CA a server's chain needs when it
    verifies it. Loading the whole bundle, as ``create_default_context`` does, parses ~140
    certificates on every sync (60 ms here, most of a quiet sync's IMAP time). Elsewhere, or with
    no hashed directory, the standard default. Either way: CERT_REQUIRED and host names checked.
    """
    paths = ssl.get_default_verify_paths()
    capath = paths.capath
    if sys.platform.startswith("linux") and capath:
        try:
            with os.scandir(capath) as entries:
                hashed = any(_HASH_LINK.fullmatch(entry.name) for entry in entries)
        except OSError:
            hashed = False
        if hashed:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
            context.load_verify_locations(capath=capath)
            # SSL_CERT_FILE naming a bundle elsewhere is loaded too; the bundle that sits beside
            # the hashed links (ca-certificates.crt) is made from the same certificates.
            cafile = os.environ.get(paths.openssl_cafile_env)
            if cafile and os.path.dirname(os.path.realpath(cafile)) != os.path.realpath(capath):
                context.load_verify_locations(cafile=cafile)
            return context
    return ssl.create_default_context()  # given a cafile, it would skip the system's CAs


def connect(section: ImapSection, password: Credential, *, timeout: float | None = None) -> IMAPClient:
    """A logged-in IMAPClient for ``section``; raises :class:`ImapError` with words for the user.

    ``timeout`` (default ``[imap] timeout``) bounds the connect and every later read and write: a
    server that stalls, even in the middle of a literal, ends the call with an ImapError.
    """
    from imapclient import IMAPClient

    if timeout is None:
        timeout = section.timeout

    host, port = section.host, section.effective_port()
    if not host:
        raise ImapError(_("No IMAP server is configured."), _("Set [imap] host in the config file."))
    if section.security == "none" and not is_loopback(host):
        raise ImapError(
            _("Refusing to send the password unencrypted to {host}.").format(host=host),
            _('Set [imap] security = "tls" or "starttls"; "none" is only for a server on this machine.'),
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
                    _("The IMAP server {where} does not offer STARTTLS.").format(where=where),
                    _(
                        'Use security = "tls" (usually port 993), or ask the server\'s admin to '
                        "enable STARTTLS."
                    ),
                )
            guarded(where, lambda: client.starttls(context))
        authenticate(client, section.username, password, where)
    except BaseException:
        close_quietly(client)
        raise
    return client


def authenticate(client: IMAPClient, username: str, password: Credential, where: str = "") -> None:
    """Log in: with the password, or with an OAuth2 token (XOAUTH2) when ``password`` is a TokenSource."""
    from imapclient.exceptions import LoginError

    if isinstance(password, TokenSource):
        _oauth2_login(client, password, where)
        return
    try:
        if password.isascii():
            guarded(where, lambda: client.login(username, password))
        else:  # LOGIN cannot carry non-ASCII; AUTHENTICATE PLAIN sends it as UTF-8
            guarded(where, lambda: client.plain_login(username, password))
    except LoginError as error:
        raise ImapError(
            _("The IMAP server {where} refused the login of {user!r} ({said}).").format(
                where=where, user=username, said=_said(error)
            ),
            _("Check [imap] username and the password (keyring or COORDINATOR_TUI_IMAP_PASSWORD)."),
        ) from error


def _oauth2_login(client: IMAPClient, source: TokenSource, where: str) -> None:
    """XOAUTH2 (or OAUTHBEARER) with the source's token. A refused token is refreshed and tried once
    more, never in a loop (servers slow down and throttle repeated failures); [UNAVAILABLE] means
    try later."""
    from imapclient.exceptions import LoginError

    # XOAUTH2 (what Microsoft 365 and Gmail offer), else the standard OAUTHBEARER (RFC 7628).
    offered = guarded(where, client.capabilities)
    if b"AUTH=XOAUTH2" not in offered and b"AUTH=OAUTHBEARER" in offered:
        login: Callable[[str], Any] = lambda token: client.oauthbearer_login(source.user, token)  # noqa: E731
    else:
        login = lambda token: client.oauth2_login(source.user, token, mech="XOAUTH2")  # noqa: E731
    for attempt in (1, 2):
        try:
            token = source.token()
        except SignInRequired as error:
            raise ImapError(error.what, error.todo) from error
        except IdentityUnavailable as error:
            raise ImapError(error.what, error.todo) from error
        try:
            guarded(where, lambda token=token: login(token))
            return
        except LoginError as error:
            said = _said(error)
            if "[UNAVAILABLE]" in said.upper():
                raise ImapError(
                    _("The IMAP server {where} cannot check the sign-in now ({said}).").format(
                        where=where, said=said
                    ),
                    _("The app tries again later by itself."),
                ) from error
            source.rejected()
            if attempt == 2:
                raise ImapError(
                    _("The IMAP server {where} refused the sign-in token for {user!r} ({said}).").format(
                        where=where, user=source.user, said=said
                    ),
                    _(
                        "Sign in again (coordinator-tui login imap) with an account that may open this "
                        "mailbox; for a shared mailbox, check [imap] shared_mailbox."
                    ),
                ) from error


def guarded(where: str, call: Callable[[], _T]) -> _T:
    """Run one IMAP call, turning network, TLS and protocol failures into :class:`ImapError`."""
    from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError, ProtocolError

    try:
        return call()
    except LoginError as error:
        lost = error.__context__
        if isinstance(lost, IMAPClientAbortError):
            # imapclient turns every failure during a login into LoginError, a broken connection or
            # garbage too: that is no refusal of the password (the watcher would stop and ask again).
            raise _lost(where, lost) from lost
        raise
    except ssl.SSLCertVerificationError as error:
        raise ImapError(
            _("The IMAP server {where} could not be verified: {reason}.").format(
                where=where, reason=error.verify_message or error
            ),
            _(
                "If the server has a self-signed certificate or its own certificate authority, save that "
                "certificate (PEM) and set [imap] ca_file to its file."
            ),
        ) from error
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError) as error:
        raise ImapError(
            _("The connection to the IMAP server {where} was lost ({reason}).").format(
                where=where, reason=error.reason or error
            ),
            _("Try again; what was synced so far is kept."),
        ) from error
    except ssl.SSLError as error:
        raise ImapError(
            _("The TLS handshake with {where} failed ({reason}).").format(
                where=where, reason=error.reason or error
            ),
            _('Check [imap] port and security: "tls" is usually port 993, "starttls" port 143.'),
        ) from error
    except ConnectionRefusedError as error:
        raise ImapError(
            _("The IMAP server {where} refused the connection.").format(where=where),
            _("Check [imap] host and port, and that the server is running."),
        ) from error
    except socket.gaierror as error:
        raise ImapError(
            _("The IMAP server's name {host} cannot be resolved ({reason}).").format(
                host=where.rsplit(":", 1)[0], reason=error.strerror
            ),
            _("Check [imap] host and the network connection."),
        ) from error
    except TimeoutError as error:
        raise ImapError(
            _("The IMAP server {where} did not answer in time.").format(where=where),
            _("Check the network connection; try again later."),
        ) from error
    except IMAPClientAbortError as error:
        raise _lost(where, error) from error
    except ProtocolError as error:  # imapclient could not parse a (complete) answer
        raise _unreadable(where, error) from error
    except IMAPClientError as error:
        raise ImapError(
            _("The IMAP server {where} said no: {said}.").format(where=where, said=_said(error)), ""
        ) from error
    except OSError as error:
        raise ImapError(
            _("The IMAP server {where} cannot be reached ({reason}).").format(
                where=where, reason=error.strerror or error
            ),
            _("Check [imap] host and port and the network connection; what was synced so far is kept."),
        ) from error
    except (ValueError, LookupError, TypeError) as error:
        # A number, a list or a response code the answer should have had and did not (imapclient
        # and examine() read them with int() and indexing): the server's fault, said in words.
        frames = traceback.extract_tb(error.__traceback__)
        at = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
        log.warning("IMAP answer from %s not readable: %s at %s", where, type(error).__name__, at)
        raise _unreadable(where, error) from error


def _lost(where: str, error: BaseException) -> ImapError:
    return ImapError(
        _("The connection to the IMAP server {where} was lost ({reason}).").format(
            where=where, reason=_said(error)
        ),
        _("Try again; what was synced so far is kept."),
    )


def _unreadable(where: str, error: BaseException) -> ImapError:
    """A malformed answer: the connection is still in step (the answer was read whole)."""
    return ImapError(
        _("The IMAP server {where} sent an answer that cannot be read ({reason}).").format(
            where=where, reason=_said(error)
        ),
        _("Try again later; if it happens again, tell the server's admin. What was synced so far is kept."),
    )


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
    client: IMAPClient, items: list[str], modifiers: list[str] | None = None, *, uids: str = "1:*"
) -> dict[int, dict[bytes, Any]]:
    """UID FETCH 1:* (or the sequence-set ``uids``, e.g. ``4:2000``) of the selected folder, by UID.

    imapclient 4's ``fetch()`` takes only explicit UIDs (a list of 100k would break the server's
    line limit), so this sends the command as ``fetch()`` itself does, through the same parser.
    """
    from imapclient.response_parser import parse_fetch_response

    imap = client._imap
    modifier_text = "(" + " ".join(modifiers).upper() + ")" if modifiers else None
    tag = imap._command("UID", "FETCH", uids, "(" + " ".join(items).upper() + ")", modifier_text)
    typ, data = imap._command_complete("FETCH", tag)
    client._checkok("fetch", typ, data)
    typ, data = imap._untagged_response(typ, data, "FETCH")
    return dict(parse_fetch_response(data, client.normalise_times, True))


_FETCH_UID = re.compile(rb"[( ]UID (\d+)", re.IGNORECASE)


def fetch_bodies(client: IMAPClient, uids: Iterable[int]) -> dict[int, bytes]:
    """UID → whole message (``BODY.PEEK[]``) for ``uids`` of the selected folder.

    imapclient's response parser walks every FETCH response token by token in Python, about a
    third of an initial sync's time; a body FETCH needs only each literal and its UID, which
    imaplib already hands over split apart.
    """
    imap = client._imap
    tag = imap._command("UID", "FETCH", uid_set(uids), "(UID BODY.PEEK[])")
    typ, data = imap._command_complete("FETCH", tag)
    client._checkok("fetch", typ, data)
    typ, data = imap._untagged_response(typ, data, "FETCH")
    bodies: dict[int, bytes] = {}
    for index, item in enumerate(data):
        if not isinstance(item, tuple) or len(item) != 2:
            continue  # a FETCH without a literal: an unsolicited flag update, or a ")"
        head, literal = item
        found = _FETCH_UID.search(head) if isinstance(head, bytes) else None
        if found is None:  # the UID after the literal: "* 5 FETCH (BODY[] {n}" ... " UID 7)"
            tail = data[index + 1] if index + 1 < len(data) else b""
            found = _FETCH_UID.search(tail) if isinstance(tail, bytes) else None
        if found is not None and isinstance(literal, bytes):
            bodies[int(found.group(1))] = literal
    return bodies


@dataclass
class Examined:
    """What EXAMINE told about a folder; with QRESYNC also what changed since the given MODSEQ."""

    uidvalidity: int
    uidnext: int | None
    exists: int
    highest_modseq: int | None
    # QRESYNC only: UID ranges expunged since the given MODSEQ (VANISHED (EARLIER)), and UID →
    # FETCH items (FLAGS, MODSEQ) of the messages whose flags changed since then.
    vanished: list[tuple[int, int]] = field(default_factory=list)
    changed: dict[int, dict[bytes, Any]] = field(default_factory=dict)
    qresync: bool = False  # the QRESYNC parameters were sent (and the UIDVALIDITY matched)


def examine(
    client: IMAPClient, folder: str, qresync: tuple[int, int] | None = None, *, condstore: bool = False
) -> Examined:
    """EXAMINE ``folder`` (read-only), with ``QRESYNC (uidvalidity modseq)`` when given.

    ``condstore`` adds ``(CONDSTORE)`` (RFC 7162), for a server with CONDSTORE but without ENABLE.

    QRESYNC must have been ENABLEd. imapclient's ``select_folder`` cannot send the parameters
    and does not parse VANISHED, so this sends the command as imaplib's ``select`` does and reads
    the untagged responses itself. Raises imapclient's errors (wrap it in :func:`guarded`).
    """
    from imapclient.response_parser import parse_fetch_response

    imap = client._imap
    imap.untagged_responses = {}  # as imaplib's select(): only this command's responses
    imap.is_readonly = True
    arguments: list[Any] = [client._normalise_folder(folder)]
    if qresync is not None:
        arguments.append(f"(QRESYNC ({int(qresync[0])} {int(qresync[1])}))")
    elif condstore:
        arguments.append("(CONDSTORE)")
    typ, data = imap._simple_command("EXAMINE", *arguments)
    if typ != "OK":
        imap.state = "AUTH"
        client._checkok("examine", typ, data)
    imap.state = "SELECTED"
    untagged = imap.untagged_responses
    vanished_lines = untagged.pop("VANISHED", [])
    fetch_lines = untagged.pop("FETCH", [])
    selected = client._process_select_response(untagged)
    imap.untagged_responses = {}
    uidvalidity = int(selected[b"UIDVALIDITY"])
    modseq = selected.get(b"HIGHESTMODSEQ")
    examined = Examined(
        uidvalidity=uidvalidity,
        uidnext=int(selected[b"UIDNEXT"]) if b"UIDNEXT" in selected else None,
        exists=int(selected.get(b"EXISTS", 0)),
        highest_modseq=int(modseq) if modseq is not None else None,
        qresync=qresync is not None and int(qresync[0]) == uidvalidity,
    )
    if not examined.qresync:
        return examined  # another UIDVALIDITY: the server sends no changes, everything is new
    for line in vanished_lines:
        examined.vanished.extend(parse_vanished(line))
    if fetch_lines:
        for values in parse_fetch_response(fetch_lines, client.normalise_times, False).values():
            uid = values.get(b"UID")
            if isinstance(uid, int) and b"FLAGS" in values:
                examined.changed[uid] = values
    return examined


def parse_vanished(data: bytes | str) -> list[tuple[int, int]]:
    """The UID ranges of an untagged ``VANISHED [(EARLIER)] uid-set`` (the part after VANISHED)."""
    text = data.decode("ascii") if isinstance(data, bytes) else data
    text = text.strip()
    if text[:1] == "(":
        tag, _, text = text[1:].partition(")")
        if tag.strip().upper() != "EARLIER":
            raise ValueError(f"unknown VANISHED tag {tag[:20]!r}")
    return parse_uid_set(text)


def parse_uid_set(text: str) -> list[tuple[int, int]]:
    """``1:5,7,12:9`` → ``[(1, 5), (7, 7), (9, 12)]`` (RFC 3501 sequence-set of UIDs, no ``*``).

    Raises ValueError on anything else, so the caller can fall back to comparing UID sets.
    """
    ranges: list[tuple[int, int]] = []
    text = text.strip()
    if not text:
        return ranges
    for item in text.split(","):
        first, colon, last = item.partition(":")
        if not (first.isdigit() and first.isascii()) or (colon and not (last.isdigit() and last.isascii())):
            raise ValueError(f"not a UID set: {item[:40]!r}")
        low = int(first)
        high = int(last) if colon else low
        if low == 0 or high == 0:
            raise ValueError("UID 0 in a UID set")
        ranges.append((min(low, high), max(low, high)))
    return ranges


def uid_set(uids: Iterable[int]) -> str:
    """UIDs as a compact sequence-set: ``[1, 2, 3, 7, 9, 10]`` → ``1:3,7,9:10``."""
    parts: list[str] = []
    start = previous = None
    for uid in sorted(set(uids)):
        if previous is not None and uid == previous + 1:
            previous = uid
            continue
        if start is not None:
            parts.append(f"{start}:{previous}" if previous != start else str(start))
        start = previous = uid
    if start is not None:
        parts.append(f"{start}:{previous}" if previous != start else str(start))
    return ",".join(parts)


def close_quietly(client: IMAPClient) -> None:
    """Log out, or just drop the socket when the connection is already broken."""
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()


def _said(error: BaseException) -> str:
    """The server's or the library's words, cut short: a parse error can quote a whole message."""
    text = str(error)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    text = text.strip() or type(error).__name__
    return text if len(text) <= SAID_LIMIT else text[: SAID_LIMIT - 1] + "…"
