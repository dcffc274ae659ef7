"""The TLS policy against real servers: what is not verified, not encrypted or not upgraded is refused.

- A server with a self-signed certificate (a private Dovecot, aiosmtpd with STARTTLS and with
  implicit TLS) is refused without ``ca_file``, with words that name the setting that trusts it;
  with ``ca_file`` pointing at that certificate the same server is used.
- A server that does not offer STARTTLS when ``security = "starttls"`` is refused before the
  password is sent (a private Dovecot with ``ssl = no``, aiosmtpd without STARTTLS), although
  both would take a plaintext login: the control cases show that they do.
- ``security = "none"`` is refused for a host that is not this machine, by the config and by the
  connection code itself.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from imapclient import IMAPClient

from coordinator_tui import i18n
from coordinator_tui.config import ConfigError, ImapSection, SmtpSection, parse_config
from coordinator_tui.mail import send as smtp
from coordinator_tui.mail.imap import ImapError, close_quietly, connect
from coordinator_tui.mail.send import SmtpError, send_outbox
from coordinator_tui.outgoing import queue_message
from store.engine import Store, open_store, url_for_path
from tests.support.dovecot import DEFAULT_PASSWORD, DEFAULT_USER, LOCALHOST, Dovecot, TlsFiles
from tests.support.fixtures import running_dovecot
from tests.support.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer

ROOT = Path(__file__).resolve().parents[2]
FROM = "omaolo@pohde.example.fi"


@pytest.fixture(autouse=True)
def english() -> None:
    """The texts are asserted in English (the message ids), whatever the catalog holds."""
    i18n.set_language("en")


# -- servers -----------------------------------------------------------------------------------------


def self_signed_files(directory: Path) -> TlsFiles:
    """One certificate that is its own issuer, as `openssl req -x509` makes it (CA:TRUE, SAN)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.pohde.example.fi self-signed")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(LOCALHOST)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "self-signed.pem", directory / "self-signed.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o600)
    # The certificate is its own trust anchor: what a user saves and names in ca_file.
    return TlsFiles(ca_file=cert_file, cert_file=cert_file, key_file=key_file)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return self_signed_files(tmp_path_factory.mktemp("self-signed"))


@pytest.fixture(scope="module")
def self_signed_dovecot(self_signed: TlsFiles) -> Iterator[Dovecot]:
    with running_dovecot(self_signed) as server:
        yield server


class PlainDovecot(Dovecot):
    """A Dovecot that offers no STARTTLS (``ssl = no``) and takes a LOGIN in plain text.

    Dovecot adds STARTTLS to its capabilities whenever TLS is enabled, so the only way to have a
    real Dovecot without it is TLS off altogether: no imaps listener either. The plain port is
    ``starttls_port``; readiness is a plain LOGIN on it.
    """

    def _config(self) -> str:
        text = super()._config()
        text = text.replace("ssl = yes\nssl_cert", "ssl = no\n#ssl_cert").replace("ssl_key =", "#ssl_key =")
        text = text.replace(f"  inet_listener imaps {{\n    port = {self.port}\n    ssl = yes\n  }}\n", "")
        assert "ssl = no" in text and "inet_listener imaps" not in text, "the Dovecot config changed shape"
        return text.replace(
            "auth_failure_delay = 0\n", "auth_failure_delay = 0\ndisable_plaintext_auth = no\n"
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while True:
            assert self._process is not None and self._process.poll() is None, self.log_tail()
            try:
                client = IMAPClient(self.host, port=self.starttls_port, ssl=False, timeout=5)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
                continue
            client.login(DEFAULT_USER, DEFAULT_PASSWORD)
            client.logout()
            return


@pytest.fixture
def plain_dovecot(tls_files: TlsFiles) -> Iterator[PlainDovecot]:
    with running_dovecot(tls_files, PlainDovecot) as server:
        yield server


class RecordingSmtpServer(SmtpServer):
    """aiosmtpd that also records every AUTH attempt: a password sent in the clear shows here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.auth_attempts: list[str] = []

    def __enter__(self) -> RecordingSmtpServer:
        self.start()
        return self

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        self.auth_attempts.append(mechanism)
        return super()._authenticate(server, session, envelope, mechanism, auth_data)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(url_for_path(tmp_path / "store.sqlite"))
    yield opened
    opened.dispose()


def queued(store: Store) -> int:
    message = EmailMessage()
    message["From"] = FROM
    message["To"] = "tuki@digifinland.example.fi"
    message["Subject"] = "Kuittaus"
    message.set_content("Kiitos viestistä.\n")
    return queue_message(store, message, ["tuki@digifinland.example.fi"], kind="reply", demo=False)


def imap_at(server: Dovecot, **overrides: Any) -> ImapSection:
    values: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": "tls",
        "username": DEFAULT_USER,
        "ca_file": "",
    }
    return ImapSection(**{**values, **overrides})


def smtp_at(server: SmtpServer, **overrides: Any) -> SmtpSection:
    values: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": "starttls" if server.tls == "starttls" else "tls",
        "username": SMTP_USER,
        "from_address": FROM,
        "ca_file": "",
    }
    return SmtpSection(**{**values, **overrides})


# -- a self-signed certificate -------------------------------------------------------------------------


def test_imap_refuses_a_self_signed_certificate_and_says_to_set_ca_file(
    self_signed_dovecot: Dovecot, self_signed: TlsFiles
) -> None:
    for security, port in (
        ("tls", self_signed_dovecot.port),
        ("starttls", self_signed_dovecot.starttls_port),
    ):
        with pytest.raises(ImapError) as caught:
            connect(imap_at(self_signed_dovecot, security=security, port=port), DEFAULT_PASSWORD)
        assert "could not be verified" in caught.value.what and "self-signed" in caught.value.what
        assert "self-signed" in caught.value.todo and "[imap] ca_file" in caught.value.todo
        # The advice works: ca_file naming the certificate's file, and the same server is used.
        section = imap_at(self_signed_dovecot, security=security, port=port, ca_file=str(self_signed.ca_file))
        close_quietly(connect(section, DEFAULT_PASSWORD))
    assert f"user=<{DEFAULT_USER}>" in self_signed_dovecot.log_tail(200)


def test_sync_on_the_command_line_names_the_setting(self_signed_dovecot: Dovecot, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\nurl = "{url_for_path(tmp_path / "store.sqlite")}"\n'
        f'[imap]\nhost = "{self_signed_dovecot.host}"\nport = {self_signed_dovecot.port}\n'
        f'security = "tls"\nusername = "{DEFAULT_USER}"\n',
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "COORDINATOR_TUI_IMAP_PASSWORD": DEFAULT_PASSWORD,
        "COORDINATOR_TUI_LOG_DIR": str(tmp_path / "logs"),
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-m", "coordinator_tui", "--config", str(config), "--lang", "en", "sync"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "self-signed" in result.stderr and "[imap] ca_file" in result.stderr


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_smtp_refuses_a_self_signed_certificate_and_says_to_set_ca_file(
    store: Store, self_signed: TlsFiles, mode: str
) -> None:
    with RecordingSmtpServer(self_signed, tls=mode) as server:  # type: ignore[arg-type]
        outbox_id = queued(store)
        result = send_outbox(store, outbox_id, smtp_at(server), SMTP_PASSWORD)
        assert result.state == "failed"
        assert "self-signed" in result.error and "[smtp] ca_file" in result.error
        assert server.messages == [] and server.auth_attempts == []
        # The advice works: the certificate's own file as ca_file, and a new copy goes out.
        again = queued(store)
        sent = send_outbox(store, again, smtp_at(server, ca_file=str(self_signed.ca_file)), SMTP_PASSWORD)
        assert sent.state == "sent", sent.error
        assert len(server.messages) == 1 and server.messages[0].tls


# -- no STARTTLS: no silent downgrade --------------------------------------------------------------------


def test_imap_without_starttls_is_refused_before_the_password_is_sent(plain_dovecot: PlainDovecot) -> None:
    user = plain_dovecot.add_user("alas", "ei-selvakielella-7q")
    plain_port = plain_dovecot.starttls_port
    # Control: this server takes the password in the clear (allowed only for this machine).
    close_quietly(
        connect(imap_at(plain_dovecot, security="none", port=plain_port, username="alas"), user.password)
    )
    assert "user=<alas>" in plain_dovecot.log_tail(400)

    other = plain_dovecot.add_user("tarkka", "ei-selvakielella-8r")
    with pytest.raises(ImapError) as caught:
        connect(
            imap_at(plain_dovecot, security="starttls", port=plain_port, username="tarkka"), other.password
        )
    assert "does not offer STARTTLS" in caught.value.what
    assert "tls" in caught.value.todo
    assert "tarkka" not in plain_dovecot.log_tail(400), "a login was tried without TLS"


def test_smtp_without_starttls_is_refused_before_the_password_is_sent(store: Store) -> None:
    with RecordingSmtpServer(None, tls=None) as server:
        # Control: this server takes AUTH and mail in the clear (allowed only for this machine).
        control = send_outbox(store, queued(store), smtp_at(server, security="none"), SMTP_PASSWORD)
        assert control.state == "sent", control.error
        assert server.auth_attempts and len(server.messages) == 1
        server.clear()
        server.auth_attempts.clear()

        result = send_outbox(store, queued(store), smtp_at(server, security="starttls"), SMTP_PASSWORD)
        assert result.state == "failed"
        assert "does not offer STARTTLS" in result.error
        assert server.auth_attempts == [] and server.messages == []


# -- "none" only for this machine ----------------------------------------------------------------------


REMOTE_HOSTS = [
    "mail.example.invalid",
    "localhost.example.invalid",
    "127.0.0.1.example.invalid",
    "10.0.0.5",
    "0.0.0.0",
    "::ffff:127.0.0.1",
]


@pytest.mark.parametrize("host", REMOTE_HOSTS)
def test_the_config_refuses_none_for_a_remote_host(host: str) -> None:
    for section in ("imap", "smtp"):
        with pytest.raises(ConfigError) as caught:
            parse_config(f'[{section}]\nhost = "{host}"\nsecurity = "none"\n', Path("config.toml"))
        assert f"{section}.security" in caught.value.message() and "unencrypted" in caught.value.message()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1", "127.0.0.2"])
def test_the_config_allows_none_for_this_machine(host: str) -> None:
    config = parse_config(
        f'[imap]\nhost = "{host}"\nsecurity = "none"\n[smtp]\nhost = "{host}"\nsecurity = "none"\n',
        Path("config.toml"),
    )
    assert config.imap.security == config.smtp.security == "none"


@pytest.mark.parametrize("host", REMOTE_HOSTS)
def test_connect_refuses_none_for_a_remote_host_without_the_config(host: str) -> None:
    # model_construct skips validation: the connection code must refuse on its own.
    imap = ImapSection.model_construct(host=host, port=143, security="none", username="k")
    with pytest.raises(ImapError) as imap_error:
        connect(imap, "salasana", timeout=2)
    assert "unencrypted" in imap_error.value.what
    section = SmtpSection.model_construct(
        host=host, port=587, security="none", username="k", from_address=FROM
    )
    with pytest.raises(SmtpError) as smtp_error:
        smtp.connect(section, "salasana", timeout=2)
    assert "unencrypted" in smtp_error.value.what
