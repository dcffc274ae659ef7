"""Pytest fixtures for the real-server tests: a session Dovecot, fresh IMAP users, an SMTP server.

Registered from tests/conftest.py with `pytest_plugins`. A server that cannot start fails the test
with the server's log; nothing here skips, so a machine without Dovecot shows red, not green.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support.dovecot import Dovecot, ImapAccount, TlsFiles, generate_tls_files
from tests.support.smtp import SmtpServer

_user_numbers = itertools.count(1)
D = TypeVar("D", bound=Dovecot)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A private CA and a server certificate for 127.0.0.1/localhost, shared by every test server."""
    return generate_tls_files(tmp_path_factory.mktemp("tls"))


def _server_root() -> Path:
    """A directory for a Dovecot outside pytest's basetemp.

    Dovecot's mail and auth processes run as other users and must walk the path to their files;
    every pytest session started on the machine resets /tmp/pytest-of-<user> to 0700, which
    would cut a Dovecot of another, still running session off mid-test.
    """
    return Path(tempfile.mkdtemp(prefix="coordinator-tui-dovecot-"))


@contextmanager
def running_dovecot(tls: TlsFiles, kind: type[D] = Dovecot, **options: Any) -> Iterator[D]:  # type: ignore[assignment]
    """A Dovecot of ``kind`` (``options``: its constructor's) in a fresh root; stopped and removed after."""
    root = _server_root()
    server = kind(root, tls, **options)
    try:
        server.start()
        yield server
    finally:
        server.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot(tls_files: TlsFiles) -> Iterator[Dovecot]:
    """The Dovecot shared by the session. Do not kill or stop it: take `private_dovecot` for that."""
    with running_dovecot(tls_files) as server:
        yield server


@pytest.fixture
def imap_user(dovecot: Dovecot) -> ImapAccount:
    """A new user with an empty mailbox (INBOX, Sent, Archive, Trash) on the session Dovecot."""
    if not dovecot.running:  # an earlier test broke the rule above; do not let every later test fail too
        dovecot.start()
    number = next(_user_numbers)
    return dovecot.add_user(f"testi{number}", f"salasana-{number}")


@pytest.fixture
def private_dovecot(tls_files: TlsFiles) -> Iterator[Dovecot]:
    """A Dovecot of this test's own, for tests that kill, stop or restart the server."""
    with running_dovecot(tls_files) as server:
        yield server


@pytest.fixture
def smtp_server(tls_files: TlsFiles) -> Iterator[SmtpServer]:
    """An SMTP server that demands STARTTLS and AUTH (SMTP_USER/SMTP_PASSWORD) and records each message."""
    with SmtpServer(tls_files) as server:
        yield server
