"""A private Dovecot IMAP server for the integration tests: its own config, ports, TLS and Maildir users.

Written for Dovecot 2.3 (Debian 12 ships 2.3.19, Ubuntu 24.04 2.3.21); 2.4 renamed many settings
(`ssl_cert` became `ssl_server_cert_file`, passdb/userdb took names, `mail_location` was split), so
`Dovecot.start()` refuses any other major version instead of failing on a config error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import grp
import ipaddress
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

DOVECOT = "/usr/sbin/dovecot"
DH_PARAMS = Path("/usr/share/dovecot/dh.pem")
LOCALHOST = "127.0.0.1"
# Dovecot refuses to run mail processes as root; as root we give every test user this uid/gid.
NOBODY = 65534
STARTUP_TIMEOUT = 20.0
_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")
DEFAULT_USER = "koordinaattori"
# ASCII: imapclient's login() sends LOGIN through imaplib, which cannot encode other characters.
DEFAULT_PASSWORD = "salasana-123"


class ServerError(RuntimeError):
    """A test server did not start or stop; the message carries the tail of its log."""


@dataclass(frozen=True)
class TlsFiles:
    """A private certificate authority and a server certificate it signed for 127.0.0.1 and localhost."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only this CA (hostname checking stays on)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return context


def generate_tls_files(directory: Path) -> TlsFiles:
    """Write a CA and a leaf certificate into `directory`.

    A CA plus a leaf rather than one self-signed leaf: OpenSSL's strict verification (the default from
    Python 3.13) rejects a leaf that doubles as its own trust anchor without CA extensions.
    """
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    valid_from, valid_to = now - dt.timedelta(days=1), now + dt.timedelta(days=30)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coordinator-tui test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LOCALHOST)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(LOCALHOST)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.key_file.chmod(0o600)
    return files


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def port_accepts(port: int) -> bool:
    try:
        with socket.create_connection((LOCALHOST, port), timeout=1):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        return f"(no log at {path}: {error})"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def dovecot_version() -> str:
    try:
        result = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise ServerError(
            f"Dovecot is not usable at {DOVECOT} ({error}); install it with "
            "`scripts/ensure-debian-packages.sh dovecot-imapd` (make test does)"
        ) from error
    return result.stdout.strip()


@dataclass(frozen=True)
class ImapAccount:
    """Everything a client needs to reach one mailbox of a test server."""

    host: str
    port: int  # implicit TLS (imaps)
    starttls_port: int  # plain IMAP that upgrades with STARTTLS
    username: str
    password: str
    ca_file: Path


class Dovecot:
    """One private Dovecot instance under `root`; `start()` returns when a LOGIN has succeeded.

    Nothing is shared with a system Dovecot: config, base_dir (sockets, pid), state_dir and log are all
    under `root`. As root, mail runs as uid/gid 65534 and logins as the package's `dovenull`; as any
    other user everything runs as that user (Dovecot's documented unprivileged mode), as in CI.
    """

    def __init__(
        self,
        root: Path,
        tls: TlsFiles,
        *,
        oauth2_introspection_url: str = "",
        oauth2_mechanisms: str = "xoauth2 oauthbearer",
    ) -> None:
        """``oauth2_introspection_url``: also take XOAUTH2/OAUTHBEARER logins, whose tokens that
        RFC 7662 endpoint (tests/support/oauth.py) vouches for; users still come from add_user()."""
        self.root = root
        self.tls = tls
        self.oauth2_introspection_url = oauth2_introspection_url
        self.oauth2_mechanisms = oauth2_mechanisms
        self.port = free_port()
        self.starttls_port = free_port()
        self.host = LOCALHOST
        self.config_file = root / "dovecot.conf"
        self.users_dir = root / "users"  # one passwd-file per user, see add_user()
        self.log_file = root / "dovecot.log"
        self.home_root = root / "home"
        # Unix socket paths must stay under 108 bytes, so base_dir gets a short path of its own.
        self.base_dir = Path(tempfile.mkdtemp(prefix="dovecot-run-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._users: dict[str, str] = {}
        self._privileged = os.geteuid() == 0
        self.mail_uid = NOBODY if self._privileged else os.getuid()
        self.mail_gid = NOBODY if self._privileged else os.getgid()
        self._prepare()
        self.add_user(DEFAULT_USER, DEFAULT_PASSWORD)

    # -- lifecycle -----------------------------------------------------------------------------------

    @property
    def ca_file(self) -> Path:
        return self.tls.ca_file

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self.running:
            raise ServerError("Dovecot is already running")
        version = dovecot_version()
        if not version.startswith("2.3."):
            raise ServerError(f"tests/support/dovecot.py writes a Dovecot 2.3 config; found {version}")
        self._wait_ports_released()
        with self.log_file.open("ab") as log:
            log.write(f"--- starting {version} ---\n".encode())
            log.flush()
            # Errors before Dovecot opens its log_path (a bad config) arrive on stderr: same file.
            self._process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.config_file)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group, so kill() takes down master, logins and imap processes at once.
                start_new_session=True,
            )
        self._wait_ready()

    def stop(self) -> None:
        """Shut down cleanly (SIGTERM) and wait until both ports are free again."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STARTUP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._killpg()
                process.wait(timeout=STARTUP_TIMEOUT)
        self._process = None
        self._wait_ports_released()

    def kill(self) -> None:
        """Crash the server: SIGKILL to every Dovecot process, so open client connections drop at once."""
        process = self._process
        if process is None:
            raise ServerError("Dovecot is not running")
        self._killpg()
        process.wait(timeout=STARTUP_TIMEOUT)
        self._process = None
        self._wait_ports_released()

    def restart(self) -> None:
        """Start again on the same ports with the same users and mail (after stop() or kill())."""
        if self.running:
            self.stop()
        self.start()

    def close(self) -> None:
        """Kill the server and remove the out-of-tree base_dir; `root` (with the log) stays.

        A kill, not stop(): a clean shutdown takes Dovecot about a second, and nothing is left to keep.
        """
        try:
            if self.running:
                self.kill()
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log_file, lines)

    # -- users and mail ------------------------------------------------------------------------------

    def add_user(self, name: str, password: str) -> ImapAccount:
        """Create a user with an empty Maildir, usable at once (also while the server runs)."""
        if not _USER_NAME.fullmatch(name):
            raise ValueError(f"test user names are letters, digits, '.', '_', '-' and '@', not {name!r}")
        if name in self._users:
            raise ValueError(f"user {name!r} exists; Dovecot may serve a cached password for up to 1 s")
        if ":" in password or "\n" in password:
            raise ValueError("a passwd-file password cannot hold ':' or a newline")
        home = self.home_root / name
        home.mkdir(mode=0o700)
        if self._privileged:
            os.chown(home, self.mail_uid, self.mail_gid)
        # One passwd-file per user: Dovecot rereads a changed passwd-file at most once a second, so a
        # user appended to a shared file could be "unknown" to the next login; a new path is read fresh.
        entry = self.users_dir / name
        staging = entry.with_name(f".{name}.new")
        staging.write_text(f"{name}:{{PLAIN}}{password}:{self.mail_uid}:{self.mail_gid}::{home}::\n", "utf-8")
        # Readable by Dovecot's auth process (user `dovecot` as root); these are throwaway test passwords.
        staging.chmod(0o644)
        staging.replace(entry)  # renamed into place, so a racing login never reads half a file
        self._users[name] = password
        return self.account(name)

    def account(self, name: str = DEFAULT_USER) -> ImapAccount:
        return ImapAccount(self.host, self.port, self.starttls_port, name, self._users[name], self.ca_file)

    def connect(self, name: str = DEFAULT_USER, *, login: bool = True) -> IMAPClient:
        """An IMAPClient over implicit TLS that verifies the server against `ca_file`."""
        client = IMAPClient(
            self.host, port=self.port, ssl=True, ssl_context=self.tls.client_context(), timeout=10
        )
        if login:
            client.login(name, self._users[name])
        return client

    def deliver(
        self,
        folder: str,
        raw: bytes,
        flags: Iterable[str | bytes] = (),
        *,
        user: str = DEFAULT_USER,
        when: dt.datetime | None = None,
    ) -> int:
        """APPEND one message as the server would store it and return its UID (from APPENDUID)."""
        client = self.connect(user)
        try:
            response = client.append(folder, raw, flags=tuple(flags), msg_time=when)
        finally:
            client.logout()
        match = re.search(rb"APPENDUID \d+ (\d+)", response)
        if match is None:
            raise ServerError(f"APPEND to {folder!r} gave no APPENDUID: {response!r}")
        return int(match.group(1))

    # -- internals -----------------------------------------------------------------------------------

    def _prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.home_root.mkdir(exist_ok=True)
        self.users_dir.mkdir(exist_ok=True)
        (self.root / "state").mkdir(exist_ok=True)
        self.base_dir.chmod(0o755)
        if self._privileged:
            # Mail processes run as nobody and must reach the homes through every parent directory.
            _allow_traversal(self.home_root)
        if self.oauth2_introspection_url:
            (self.root / "oauth2.conf").write_text(
                f"introspection_url = {self.oauth2_introspection_url}\n"
                "introspection_mode = post\n"
                "username_attribute = email\n"
                "active_attribute = active\n"
                "active_value = true\n",
                encoding="utf-8",
            )
        self.config_file.write_text(self._config(), encoding="utf-8")

    def _oauth2_passdb(self) -> str:
        if not self.oauth2_introspection_url:
            return ""
        return f"""passdb {{
  driver = oauth2
  mechanisms = {self.oauth2_mechanisms}
  args = {self.root / "oauth2.conf"}
}}
"""

    def _config(self) -> str:
        if self._privileged:
            identity = ""
        else:
            # Dovecot's unprivileged mode: every service runs as us, and nothing can chroot.
            me = _user_name()
            identity = f"""
default_internal_user = {me}
default_internal_group = {_group_name()}
default_login_user = {me}
"""
        no_chroot = "" if self._privileged else "  chroot =\n"
        dh = f"ssl_dh = <{DH_PARAMS}\n" if DH_PARAMS.exists() else ""
        return f"""# Generated by tests/support/dovecot.py for Dovecot 2.3; do not edit.
base_dir = {self.base_dir}
state_dir = {self.root / "state"}
instance_name = coordinator-tui-test-{self.port}
protocols = imap
listen = {LOCALHOST}
log_path = {self.log_file}
info_log_path = {self.log_file}
auth_verbose = yes
# A wrong-password test must not slow the tests after it: no 2 s delay on the failure reply ...
auth_failure_delay = 0
auth_mechanisms = plain login{" " + self.oauth2_mechanisms if self.oauth2_introspection_url else ""}
first_valid_uid = 1
{identity}
{self._oauth2_passdb()}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.users_dir}/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.users_dir}/%u
}}
mail_location = maildir:~/Maildir

# CONDSTORE and QRESYNC are in 2.3's default imap_capability; SPECIAL-USE comes from these mailboxes.
namespace inbox {{
  inbox = yes
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Archive {{
    special_use = \\Archive
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
}}

ssl = yes
ssl_cert = <{self.tls.cert_file}
ssl_key = <{self.tls.key_file}
{dh}
service imap-login {{
{no_chroot}  inet_listener imap {{
    port = {self.starttls_port}
  }}
  inet_listener imaps {{
    port = {self.port}
    ssl = yes
  }}
}}

# ... and no per-IP auth penalty (2-15 s on every later login from 127.0.0.1): the auth process
# cannot open this socket, which turns the penalty off (Dovecot's documented switch).
service anvil {{
{no_chroot}  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}

protocol imap {{
  # Sync tests open several connections per user from the same address.
  mail_max_userip_connections = 100
}}
"""

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise ServerError(
                    f"Dovecot exited with status {self._process.returncode} while starting; "
                    f"log {self.log_file}:\n{self.log_tail()}"
                )
            try:
                self.connect().logout()
            except LoginError as error:
                # The login process waits for auth itself, so a refusal here is a broken setup, not a race.
                self._killpg()
                raise ServerError(
                    f"Dovecot refused the LOGIN of {DEFAULT_USER} ({error}); "
                    f"log {self.log_file}:\n{self.log_tail()}"
                ) from error
            except (OSError, IMAPClientError) as error:  # not listening yet
                last_error = error
            else:
                if port_accepts(self.starttls_port):
                    return
            time.sleep(0.05)
        self._killpg()
        raise ServerError(
            f"Dovecot did not accept a LOGIN within {STARTUP_TIMEOUT:.0f} s (last error: {last_error!r}); "
            f"log {self.log_file}:\n{self.log_tail()}"
        )

    def _wait_ports_released(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while port_accepts(self.port) or port_accepts(self.starttls_port):
            if time.monotonic() > deadline:
                raise ServerError(
                    f"ports {self.port}/{self.starttls_port} still in use after {STARTUP_TIMEOUT:.0f} s; "
                    f"log {self.log_file}:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def _killpg(self) -> None:
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)


def _allow_traversal(path: Path) -> None:
    """Add o+x to `path` and its parents (mkdtemp makes 0700 directories) so nobody can walk through."""
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _user_name() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def _group_name() -> str:
    return grp.getgrgid(os.getgid()).gr_name


# -- bulk seeding ----------------------------------------------------------------------------------


def seed_maildir(
    server: Dovecot,
    folder: str,
    messages: Iterable[bytes],
    *,
    user: str = DEFAULT_USER,
    seen: Iterable[bool] | None = None,
) -> int:
    """Write messages straight into a user's Maildir (thousands a second); returns how many.

    Much faster than APPEND for seeding big mailboxes. Dovecot gives the files UIDs, in the order
    written, when a client next opens the folder; call it before the first client has the folder
    open (or expect Dovecot to pick the new files up as new mail). ``folder`` is "INBOX" or a
    top-level folder name (Maildir++ layout: ``.Name``). ``seen`` gives each message its \\Seen flag.
    """
    if user not in server._users:
        raise ValueError(f"no such test user {user!r}")
    maildir = server.home_root / user / "Maildir"
    if folder.upper() != "INBOX":
        if "/" in folder or folder.startswith("."):
            raise ValueError(f"seed_maildir takes a top-level folder name, not {folder!r}")
        maildir = maildir / f".{folder}"
    created: list[Path] = []
    for directory in (maildir.parent, maildir, maildir / "cur", maildir / "new", maildir / "tmp"):
        if not directory.exists():
            directory.mkdir(mode=0o700)
            created.append(directory)
    if folder.upper() != "INBOX":
        with contextlib.suppress(FileExistsError):
            (maildir / "maildirfolder").touch(mode=0o600, exist_ok=False)
            created.append(maildir / "maildirfolder")
    flags_of = iter(seen) if seen is not None else None
    stamp = int(time.time())
    host = socket.gethostname().replace("/", "_").replace(":", "_")
    count = 0
    for count, raw in enumerate(messages, 1):
        flags = "S" if flags_of is not None and next(flags_of, False) else ""
        # Dovecot reads the size from S= instead of stat()ing each file; the counter keeps order.
        name = f"{stamp}.M{count:08d}P{os.getpid()}.{host},S={len(raw)}:2,{flags}"
        path = maildir / "cur" / name
        path.write_bytes(raw)
        created.append(path)
    if server._privileged:
        for path in created:
            os.chown(path, server.mail_uid, server.mail_gid)
    return count
