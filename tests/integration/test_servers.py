"""The test servers are real: TLS that verifies, logins that fail, mail that survives a crash."""

from __future__ import annotations

import smtplib
import ssl
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from imapclient.imapclient import ARCHIVE, SEEN, SENT, TRASH

from tests.support.dovecot import Dovecot, ImapAccount, TlsFiles
from tests.support.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer

FINNISH_SUBJECT = "Äänestyspäivän työvuorot – yöllä öljyä"


def finnish_message(message_id: str = "<vuorot-1@example.fi>") -> bytes:
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = "Päivi Meriläinen <paivi@example.fi>"
    message["To"] = "koordinaattori@example.fi"
    message["Subject"] = FINNISH_SUBJECT
    message["Message-ID"] = message_id
    message["Date"] = "Thu, 26 Nov 2026 09:30:00 +0200"
    message.set_content("Hei!\n\nYövuoron vaihto käy, kiitos.\n\nPäivi\n", charset="utf-8", cte="8bit")
    return message.as_bytes()


def connect(account: ImapAccount, context: ssl.SSLContext) -> IMAPClient:
    return IMAPClient(account.host, port=account.port, ssl=True, ssl_context=context, timeout=10)


# -- IMAP --------------------------------------------------------------------------------------------


def test_imaps_verifies_the_server_against_the_test_ca(imap_user: ImapAccount) -> None:
    with connect(imap_user, ssl.create_default_context(cafile=str(imap_user.ca_file))) as client:
        client.login(imap_user.username, imap_user.password)
        sock = client.socket()
        assert isinstance(sock, ssl.SSLSocket)
        certificate = sock.getpeercert()
        assert certificate is not None
        assert certificate["subjectAltName"] == (("IP Address", "127.0.0.1"), ("DNS", "localhost"))


def test_imaps_without_the_test_ca_fails_verification(imap_user: ImapAccount) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(imap_user, ssl.create_default_context())


def test_starttls_on_the_plain_port(imap_user: ImapAccount) -> None:
    client = IMAPClient(imap_user.host, port=imap_user.starttls_port, ssl=False, timeout=10)
    try:
        assert b"STARTTLS" in client.capabilities()
        assert not isinstance(client.socket(), ssl.SSLSocket)
        client.starttls(ssl.create_default_context(cafile=str(imap_user.ca_file)))
        assert isinstance(client.socket(), ssl.SSLSocket)
        client.login(imap_user.username, imap_user.password)
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
    finally:
        client.logout()


def test_a_wrong_password_raises_login_error(imap_user: ImapAccount) -> None:
    context = ssl.create_default_context(cafile=str(imap_user.ca_file))
    with connect(imap_user, context) as client, pytest.raises(LoginError):
        client.login(imap_user.username, imap_user.password + "x")


def test_a_delivered_message_comes_back_byte_for_byte(dovecot: Dovecot, imap_user: ImapAccount) -> None:
    raw = finnish_message()
    assert b"=?utf-8?" in raw.lower()  # the subject travels RFC 2047-encoded
    assert "Yövuoron".encode() in raw  # and the body as raw 8-bit UTF-8
    uid = dovecot.deliver("INBOX", raw, flags=[SEEN, "$Kiire"], user=imap_user.username)

    with dovecot.connect(imap_user.username) as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search(["HEADER", "Message-ID", "<vuorot-1@example.fi>"]) == [uid]
        data = client.fetch([uid], ["BODY.PEEK[]", "FLAGS", "ENVELOPE"])[uid]

    assert data[b"BODY[]"] == raw
    assert {SEEN, b"$Kiire"} <= set(data[b"FLAGS"])
    subject = data[b"ENVELOPE"].subject.decode("ascii")
    assert str(make_header(decode_header(subject))) == FINNISH_SUBJECT


def test_condstore_and_qresync_are_offered_and_work(dovecot: Dovecot, imap_user: ImapAccount) -> None:
    dovecot.deliver("INBOX", finnish_message(), user=imap_user.username)
    with dovecot.connect(imap_user.username) as client:
        assert {b"CONDSTORE", b"QRESYNC", b"UIDPLUS", b"MOVE", b"SPECIAL-USE"} <= set(client.capabilities())
        assert client.enable("QRESYNC") == [b"QRESYNC"]
        selected = client.select_folder("INBOX")
        assert selected[b"HIGHESTMODSEQ"] > 0


def test_special_use_folders_are_listed(dovecot: Dovecot, imap_user: ImapAccount) -> None:
    with dovecot.connect(imap_user.username) as client:
        flags_by_name = {name: set(flags) for flags, _delimiter, name in client.list_folders()}
        assert client.find_special_folder(SENT) == "Sent"
        assert client.find_special_folder(TRASH) == "Trash"
    assert SENT in flags_by_name["Sent"]
    assert ARCHIVE in flags_by_name["Archive"]
    assert TRASH in flags_by_name["Trash"]


def test_kill_drops_connections_and_restart_serves_the_same_mail(private_dovecot: Dovecot) -> None:
    raw = finnish_message()
    uid = private_dovecot.deliver("Archive", raw)
    client = private_dovecot.connect()
    validity = client.select_folder("Archive")[b"UIDVALIDITY"]

    private_dovecot.kill()
    with pytest.raises((OSError, IMAPClient.AbortError)):
        client.noop()
    with pytest.raises(OSError):
        private_dovecot.connect()

    private_dovecot.restart()
    with private_dovecot.connect() as again:
        assert again.select_folder("Archive")[b"UIDVALIDITY"] == validity
        assert again.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"] == raw


# -- SMTP --------------------------------------------------------------------------------------------


def test_smtp_starttls_and_auth_then_the_server_records_envelope_and_bytes(smtp_server: SmtpServer) -> None:
    raw = finnish_message()
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        assert not client.has_extn("auth")  # never offered in clear text
        client.starttls(context=ssl.create_default_context(cafile=str(smtp_server.ca_file)))
        client.ehlo()
        assert set(client.esmtp_features["auth"].split()) >= {"PLAIN", "LOGIN"}
        client.login(SMTP_USER, SMTP_PASSWORD)
        refused = client.sendmail("koordinaattori@example.fi", ["paivi@example.fi", "Jussi@Example.fi"], raw)

    assert refused == {}
    [received] = smtp_server.messages
    assert received.mail_from == "koordinaattori@example.fi"
    assert received.rcpt_tos == ("paivi@example.fi", "Jussi@Example.fi")
    assert received.data == raw
    assert received.login == SMTP_USER
    assert received.tls


@pytest.mark.parametrize(
    ("reply", "code"),
    [(None, 550), ("450 4.2.1 <x@example.fi>: Mailbox busy, try again later", 450)],
)
def test_smtp_answers_chosen_recipients_with_an_error(
    smtp_server: SmtpServer, reply: str | None, code: int
) -> None:
    smtp_server.reject_recipient("poissa@example.fi", reply)
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.starttls(context=ssl.create_default_context(cafile=str(smtp_server.ca_file)))
        client.login(SMTP_USER, SMTP_PASSWORD)
        refused = client.sendmail(
            "koordinaattori@example.fi", ["paivi@example.fi", "Poissa@example.fi"], b"x\r\n"
        )

    assert refused["Poissa@example.fi"][0] == code
    assert [message.rcpt_tos for message in smtp_server.messages] == [("paivi@example.fi",)]


def test_smtp_refuses_a_wrong_password_and_mail_without_auth(smtp_server: SmtpServer) -> None:
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.starttls(context=ssl.create_default_context(cafile=str(smtp_server.ca_file)))
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login(SMTP_USER, SMTP_PASSWORD + "x")
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("koordinaattori@example.fi", ["paivi@example.fi"], b"x\r\n")
    assert refused.value.smtp_code == 530
    assert smtp_server.messages == []


def test_smtp_over_implicit_tls(tls_files: TlsFiles) -> None:
    with SmtpServer(tls_files, tls="implicit") as server:
        context = ssl.create_default_context(cafile=str(server.ca_file))
        with smtplib.SMTP_SSL(server.host, server.port, timeout=10, context=context) as client:
            client.login(SMTP_USER, SMTP_PASSWORD)
            client.sendmail("koordinaattori@example.fi", ["paivi@example.fi"], b"Subject: hei\r\n\r\nhei\r\n")
        assert server.wait_for_messages(1)[0].data == b"Subject: hei\r\n\r\nhei\r\n"
