"""OAuth2 (XOAUTH2) sign-in against real servers: a private Dovecot whose ``oauth2`` passdb asks the
test identity provider (tests/support/oauth.py) about each token, and aiosmtpd with XOAUTH2.

Nothing is mocked but the system keyring (no keyring daemon runs headless here): an in-memory
keyring backend stands in for it, which is also how the tests see what was stored where.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest

from coordinator_tui import i18n
from coordinator_tui.config import ImapSection, SmtpSection
from coordinator_tui.mail.imap import ImapError, close_quietly, connect
from coordinator_tui.mail.send import SmtpError, _close_quietly
from coordinator_tui.mail.send import connect as smtp_connect
from coordinator_tui.mail.sync import sync_account
from coordinator_tui.mail.watch import WatchState, waits_for_user
from coordinator_tui.oauth2 import (
    IdentityUnavailable,
    OAuth2Settings,
    SignInRequired,
    finish_device_sign_in,
    forget_sources,
    keyring_user,
    load_refresh_token,
    start_device_sign_in,
    token_source,
)
from coordinator_tui.secrets import resolve_credential
from store.engine import Store, open_store, url_for_path
from store.mailview import folder_count, folders
from tests.support.dovecot import Dovecot, TlsFiles
from tests.support.fixtures import running_dovecot
from tests.support.memory_keyring import MemoryKeyring
from tests.support.messages import plain
from tests.support.oauth import CLIENT_ID, DEVICE_GRANT, TENANT, IdentityProvider
from tests.support.smtp import SmtpServer


@pytest.fixture(autouse=True)
def english_messages() -> None:
    """These tests read the error texts the code writes: in English, whatever the UI language."""
    i18n.set_language("en")  # tests/conftest.py puts Finnish back after each test


_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider(poll_interval=1)
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def oauth_dovecot(tls_files: TlsFiles, idp: IdentityProvider) -> Iterator[Dovecot]:
    with running_dovecot(tls_files, oauth2_introspection_url=idp.introspection_url) as server:
        yield server


@pytest.fixture(autouse=True)
def memory_keyring(idp: IdentityProvider) -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    forget_sources()
    idp.down = False
    idp.slow_down_polls = 0
    yield backend
    keyring.set_keyring(previous)
    forget_sources()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(url_for_path(tmp_path / "store.sqlite"))
    yield opened
    opened.dispose()


@pytest.fixture
def mailbox(oauth_dovecot: Dovecot) -> str:
    """A fresh user of the OAuth2 Dovecot, named by address as in Microsoft 365."""
    address = f"maija{next(_numbers)}@example.fi"
    oauth_dovecot.add_user(address, "not-used-with-oauth2")
    return address


def imap_section(dovecot: Dovecot, idp: IdentityProvider, username: str, **overrides: Any) -> ImapSection:
    values: dict[str, Any] = {
        "host": dovecot.host,
        "port": dovecot.port,
        "security": "tls",
        "username": username,
        "ca_file": str(dovecot.ca_file),
        "auth": "oauth2",
        "tenant": TENANT,
        "authority": idp.authority,  # Microsoft's v2.0 endpoint shapes, derived from the tenant
        "client_id": CLIENT_ID,
    }
    values.update(overrides)
    return ImapSection(**values)


def sign_in(
    section: ImapSection | SmtpSection, idp: IdentityProvider, account: str, kind: str = "imap"
) -> None:
    """The device sign-in as a user does it: the app shows a code, the user enters it elsewhere."""
    settings = OAuth2Settings.from_section(kind, section)  # type: ignore[arg-type]
    device = start_device_sign_in(settings)

    def user_signs_in_elsewhere() -> None:
        idp.approve(device.user_code, account)

    threading.Timer(0.3, user_signs_in_elsewhere).start()
    finish_device_sign_in(settings, device)


def deliver(dovecot: Dovecot, user: str, subject: str) -> None:
    message_id = f"<{next(_numbers)}.{time.time_ns()}@example.fi>"
    dovecot.deliver("INBOX", plain(subject, "Viesti.", message_id), user=user)


def inbox_count(store: Store) -> int:
    inbox = next(folder for folder in folders(store) if folder.role == "inbox")
    return folder_count(store, inbox.id)


def test_device_sign_in_then_sync_the_inbox(oauth_dovecot, idp, mailbox, memory_keyring, store) -> None:  # type: ignore[no-untyped-def]
    deliver(oauth_dovecot, mailbox, "Tervetuloa")
    section = imap_section(oauth_dovecot, idp, mailbox)
    assert resolve_credential("imap", section) is None  # not signed in yet
    sign_in(section, idp, mailbox)
    # The scopes asked for by default: Outlook's IMAP scope and offline_access (a refresh token).
    device_requests = [seen for seen in idp.seen if seen.path.endswith("/devicecode")]
    assert device_requests[-1].form["scope"].split() == [
        "https://outlook.office.com/IMAP.AccessAsUser.All",
        "offline_access",
    ]
    stored = memory_keyring.passwords[("coordinator-tui", keyring_user("imap", mailbox))]
    assert any(token in stored for token in idp.refresh)  # the live refresh token, in the keyring
    secret = resolve_credential("imap", section)
    assert secret is not None
    report = sync_account(store, section, secret.value)
    assert report.ok
    assert inbox_count(store) == 1


def test_the_next_run_refreshes_silently_and_keeps_the_rotated_token(oauth_dovecot, idp, mailbox) -> None:  # type: ignore[no-untyped-def]
    section = imap_section(oauth_dovecot, idp, mailbox)
    sign_in(section, idp, mailbox)
    first = load_refresh_token("imap", mailbox)
    assert first is not None
    forget_sources()  # a new process: no access token in memory, only the keyring
    refreshes_before = len(idp.token_requests("refresh_token"))
    secret = resolve_credential("imap", section)
    assert secret is not None
    close_quietly(connect(section, secret.value))
    assert len(idp.token_requests("refresh_token")) == refreshes_before + 1
    second = load_refresh_token("imap", mailbox)
    assert second is not None and second.refresh_token != first.refresh_token  # rotated and kept
    assert first.refresh_token not in idp.refresh and second.refresh_token in idp.refresh
    assert second.signed_in_at == first.signed_in_at  # still the same sign-in


def test_an_expired_token_is_refreshed_once(oauth_dovecot, idp, mailbox) -> None:  # type: ignore[no-untyped-def]
    section = imap_section(oauth_dovecot, idp, mailbox)
    sign_in(section, idp, mailbox)
    source = token_source("imap", section)
    source.token()
    idp.expire_access_tokens()  # the server now refuses the token this process still holds
    refreshes_before = len(idp.token_requests("refresh_token"))
    introspections_before = idp.introspections
    close_quietly(connect(section, source))
    assert len(idp.token_requests("refresh_token")) == refreshes_before + 1
    assert idp.introspections == introspections_before + 2  # the stale token, then the fresh one


def test_a_revoked_sign_in_asks_to_sign_in_again_without_a_loop(oauth_dovecot, idp, mailbox) -> None:  # type: ignore[no-untyped-def]
    section = imap_section(oauth_dovecot, idp, mailbox)
    sign_in(section, idp, mailbox)
    idp.revoke_refresh_tokens()
    idp.expire_access_tokens()
    source = token_source("imap", section)
    source.token()  # still valid as far as this process knows
    refreshes_before = len(idp.token_requests("refresh_token"))
    with pytest.raises(ImapError) as raised:
        close_quietly(connect(section, source))
    assert isinstance(raised.value.__cause__, SignInRequired)
    assert "coordinator-tui login imap" in str(raised.value)
    assert waits_for_user(raised.value) is WatchState.SIGN_IN_REQUIRED  # waits for the user, no retry
    assert len(idp.token_requests("refresh_token")) == refreshes_before + 1


def test_a_token_for_another_user_is_refused(oauth_dovecot, idp, mailbox) -> None:  # type: ignore[no-untyped-def]
    other = f"pekka{next(_numbers)}@example.fi"
    oauth_dovecot.add_user(other, "x")
    section = imap_section(oauth_dovecot, idp, mailbox)
    sign_in(section, idp, other)  # the wrong person signed in on the other device
    refreshes_before = len(idp.token_requests("refresh_token"))
    with pytest.raises(ImapError) as raised:
        close_quietly(connect(section, token_source("imap", section)))
    assert "refused the sign-in token" in raised.value.what
    assert waits_for_user(raised.value) is WatchState.LOGIN_REFUSED
    # One fresh token was tried after the refusal, then it stopped: no loop.
    assert len(idp.token_requests("refresh_token")) == refreshes_before + 1


def test_shared_mailbox_with_the_delegates_token(oauth_dovecot, idp, mailbox, store) -> None:  # type: ignore[no-untyped-def]
    shared = f"yhteinen{next(_numbers)}@example.fi"
    oauth_dovecot.add_user(shared, "x")
    deliver(oauth_dovecot, shared, "Yhteiseen postiin")
    deliver(oauth_dovecot, shared, "Toinen viesti")
    idp.delegates[mailbox] = shared  # the delegate may open the shared mailbox
    section = imap_section(oauth_dovecot, idp, mailbox, shared_mailbox=shared)
    sign_in(section, idp, mailbox)
    source = token_source("imap", section)
    assert source.user == shared  # the SASL user is the shared mailbox, the token the delegate's
    assert sync_account(store, section, source).ok
    assert inbox_count(store) == 2


def test_identity_service_down_backs_off(oauth_dovecot, idp, mailbox) -> None:  # type: ignore[no-untyped-def]
    section = imap_section(oauth_dovecot, idp, mailbox)
    sign_in(section, idp, mailbox)
    # No access token in this process and the token endpoint answers 503: try later, not "sign in".
    forget_sources()
    idp.down = True
    with pytest.raises(ImapError) as raised:
        close_quietly(connect(section, token_source("imap", section)))
    assert isinstance(raised.value.__cause__, IdentityUnavailable)
    assert waits_for_user(raised.value) is None  # the watcher backs off and retries by itself
    assert load_refresh_token("imap", mailbox) is not None  # the sign-in is kept
    # A token in hand but Dovecot cannot introspect it: [UNAVAILABLE], not a refusal; no refresh.
    idp.down = False
    source = token_source("imap", section)
    source.token()
    idp.down = True
    refreshes_before = len(idp.token_requests("refresh_token"))
    with pytest.raises(ImapError) as raised:
        close_quietly(connect(section, source))
    assert "UNAVAILABLE" in str(raised.value)
    assert waits_for_user(raised.value) is None
    assert len(idp.token_requests("refresh_token")) == refreshes_before
    assert source.current is not None  # the token was not thrown away
    idp.down = False
    close_quietly(connect(section, source))  # and it works once the service is back


def test_slow_down_and_decline_during_device_sign_in(oauth_dovecot, idp, mailbox) -> None:  # type: ignore[no-untyped-def]
    section = imap_section(oauth_dovecot, idp, mailbox)
    settings = OAuth2Settings.from_section("imap", section)
    idp.slow_down_polls = 1
    device = start_device_sign_in(settings)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            idp.deny(device.user_code)

    with pytest.raises(SignInRequired, match="declined"):
        finish_device_sign_in(settings, device, sleep=sleep)
    assert waits[1] == waits[0] + 5  # RFC 8628: slow_down adds five seconds to the interval
    assert load_refresh_token("imap", mailbox) is None
    grants = idp.token_requests(DEVICE_GRANT)
    assert all("client_secret" not in seen.form for seen in grants)  # a public client


def test_smtp_xoauth2_with_refresh_once(tls_files, idp) -> None:  # type: ignore[no-untyped-def]
    account = f"lahettaja{next(_numbers)}@example.fi"

    def check(user: str, token: str) -> bool:
        grant = idp.access.get(token)
        return grant is not None and grant.expires_at > time.time() and grant.account == user

    server = SmtpServer(tls_files, tls="starttls", username="ei-kaytossa", oauth2_check=check)
    server.start()
    try:
        section = SmtpSection(
            host=server.host,
            port=server.port,
            security="starttls",
            username=account,
            ca_file=str(tls_files.ca_file),
            from_address=account,
            auth="oauth2",
            tenant=TENANT,
            authority=idp.authority,
            client_id=CLIENT_ID,
        )
        sign_in(section, idp, account, kind="smtp")
        scope = [seen for seen in idp.seen if seen.path.endswith("/devicecode")][-1].form["scope"]
        assert scope.split() == ["https://outlook.office.com/SMTP.Send", "offline_access"]
        source = token_source("smtp", section)
        _close_quietly(smtp_connect(section, source))
        assert server.oauth2_attempts == [account]
        idp.expire_access_tokens()
        _close_quietly(smtp_connect(section, source))  # refused, refreshed once, accepted
        assert server.oauth2_attempts == [account] * 3
        idp.revoke_refresh_tokens()
        idp.expire_access_tokens()
        with pytest.raises(SmtpError) as raised:
            _close_quietly(smtp_connect(section, source))
        assert "login smtp" in str(raised.value)
        assert server.oauth2_attempts == [account] * 4  # no retry loop
    finally:
        server.stop()


ROOT = Path(__file__).resolve().parents[2]


def test_login_command_then_a_later_sync_and_doctor_with_no_token_on_disk(  # type: ignore[no-untyped-def]
    tmp_path, private_dirs, oauth_dovecot, idp, mailbox
) -> None:
    """`coordinator-tui login imap` in its own process, then `sync` and `doctor` in later ones: the
    sign-in lives in the keyring (a file-backed stand-in here) and in no file of the app's."""
    deliver(oauth_dovecot, mailbox, "Ensimmäinen viesti")
    store_path = tmp_path / "data" / "store.sqlite"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{store_path}"\n'
        f'[imap]\nhost = "{oauth_dovecot.host}"\nport = {oauth_dovecot.port}\nsecurity = "tls"\n'
        f'username = "{mailbox}"\nca_file = "{oauth_dovecot.ca_file}"\nauth = "oauth2"\n'
        f'tenant = "{TENANT}"\nauthority = "{idp.authority}"\nclient_id = "{CLIENT_ID}"\n',
        encoding="utf-8",
    )
    keyring_file = tmp_path / "keyring.json"
    env = {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "tests.support.file_keyring.FileKeyring",
        "COORDINATOR_TUI_TEST_KEYRING": str(keyring_file),
        "PYTHONPATH": str(ROOT),
    }
    login = subprocess.Popen(
        [sys.executable, "-m", "coordinator_tui", "--config", str(config), "login", "imap"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert login.stdout is not None
    shown = []
    for line in login.stdout:
        shown.append(line)
        if "enter the code:" in line:
            idp.approve(line.rsplit(":", 1)[1].strip(), mailbox)  # the user, on their phone
            break
    rest, errors = login.communicate(timeout=60)
    said = "".join(shown) + rest
    assert login.returncode == 0, said + errors
    assert "https://microsoft.com/devicelogin" in said
    assert f"accepts it (as {mailbox})" in said

    synced = subprocess.run(
        [sys.executable, "-m", "coordinator_tui", "--config", str(config), "sync", "--json"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert synced.returncode == 0, synced.stderr
    inbox = next(f for f in json.loads(synced.stdout)["folders"] if f["folder"] == "INBOX")
    assert inbox["messages"] == 1

    doctor = subprocess.run(
        [sys.executable, "-m", "coordinator_tui", "--config", str(config), "doctor"],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    sign_in_line = next(line for line in doctor.stdout.splitlines() if "imap sign-in" in line)
    assert sign_in_line.startswith("ok") and mailbox in sign_in_line and "valid until" in sign_in_line
    assert any(line.startswith("ok") and "accepts the login" in line for line in doctor.stdout.splitlines())

    kept = json.loads(keyring_file.read_text(encoding="utf-8"))
    live = [token for token in idp.refresh if idp.refresh[token].account == mailbox]
    assert len(live) == 1 and any(live[0] in entry for entry in kept.values())
    logs = list(Path(env["COORDINATOR_TUI_LOG_DIR"]).glob("*.log*"))
    assert logs, "the runs wrote no log to check"
    files = [config, store_path, *store_path.parent.glob("store.sqlite-*"), *logs]
    for path in files:
        data = path.read_bytes()
        for token in idp.issued:
            assert token.encode() not in data, f"a token was found in {path}"


async def test_the_app_signs_in_with_a_code_shown_in_a_modal(  # type: ignore[no-untyped-def]
    demo_store, make_app, oauth_dovecot, idp, mailbox
) -> None:
    from coordinator_tui.config import Config
    from coordinator_tui.screens.signin import DeviceSignInScreen
    from tests.screen import screen_text

    config = Config(imap=imap_section(oauth_dovecot, idp, mailbox))
    # demo=True: the app's own mail watcher stays off, so the modal is the one this worker opened.
    app = make_app(demo_store, demo=True, config=config)
    results = []
    async with app.run_test(size=(120, 40)) as pilot:
        worker = app.run_worker(
            lambda: results.append(app.password_from_worker("imap", mailbox)), thread=True
        )
        # A second worker asking meanwhile (a send, the sync) waits for the same modal's outcome.
        second = app.run_worker(
            lambda: results.append(app.password_from_worker("imap", mailbox)), thread=True
        )
        device = None
        for _ in range(200):
            await pilot.pause(0.05)
            if isinstance(app.screen, DeviceSignInScreen) and app.screen.device is not None:
                device = app.screen.device
                break
        assert device is not None, "the sign-in modal showed no code"
        text = screen_text(app)
        assert device.user_code in text and "microsoft.com/devicelogin" in text
        await pilot.pause(0.5)
        assert sum(isinstance(screen, DeviceSignInScreen) for screen in app.screen_stack) == 1
        idp.approve(device.user_code, mailbox)
        await worker.wait()
        await second.wait()
        await pilot.pause(0.1)
        assert not isinstance(app.screen, DeviceSignInScreen)  # closed by itself
    assert len(results) == 2 and all(secret is not None for secret in results)
    secret = results[0]
    assert secret is not None and secret.value.user == mailbox
    close_quietly(connect(config.imap, secret.value))  # and the server takes it


def test_oauthbearer_where_xoauth2_is_not_offered(tls_files, idp) -> None:  # type: ignore[no-untyped-def]
    with running_dovecot(
        tls_files, oauth2_introspection_url=idp.introspection_url, oauth2_mechanisms="oauthbearer"
    ) as server:
        account = f"kalle{next(_numbers)}@example.fi"
        server.add_user(account, "x")
        section = imap_section(server, idp, account)
        sign_in(section, idp, account)
        client = connect(section, token_source("imap", section))
        try:
            assert client.select_folder("INBOX")[b"EXISTS"] == 0
        finally:
            close_quietly(client)
        assert "method=OAUTHBEARER" in server.log_tail(40)
