"""The app keeps the store in step with a real Dovecot while it runs, and says so in the status bar."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

import pytest
from sqlmodel import select
from textual.message import Message

from coordinator_tui.config import Config, ImapSection
from coordinator_tui.mail.watch import WatchState
from coordinator_tui.widgets.syncprogress import MailSyncProgress, SyncProgress
from store.engine import Store, open_store
from store.models import MailFolder, MailMessage
from tests.screen import screen_text
from tests.support.dovecot import Dovecot, ImapAccount, seed_maildir

SIZE = (120, 30)
WAIT = 30.0


def raw_message(subject: str, message_id: str) -> bytes:
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = "Päivi Meriläinen <paivi@example.fi>"
    message["To"] = "koordinaattori@example.fi"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = "Thu, 26 Nov 2026 09:30:00 +0200"
    message.set_content("Hei!\n", charset="utf-8")
    return message.as_bytes()


def config_for(account: ImapAccount) -> Config:
    return Config(
        imap=ImapSection(
            host=account.host,
            port=account.port,
            security="tls",
            username=account.username,
            ca_file=str(account.ca_file),
        )
    )


def inbox_uids(store: Store) -> list[int]:
    with store.session() as session:
        statement = select(MailMessage.uid).join(MailFolder).where(MailFolder.name == "INBOX")
        return sorted(session.exec(statement).all())


def server_uids(server: Dovecot, user: str) -> list[int]:
    with server.connect(user) as client:
        client.select_folder("INBOX", readonly=True)
        return sorted(client.search("ALL"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/store.sqlite")
    yield opened
    opened.dispose()


async def wait_until(pilot, condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"no {what} within {WAIT:.0f} s; status: {pilot.app.sync_state!r}")


def notifications(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [notification.message for notification in app._notifications]


def watch_state(app) -> WatchState | None:  # type: ignore[no-untyped-def]
    status = app._watch_status
    return status.state if status is not None else None


async def test_the_app_syncs_shows_progress_and_follows_new_mail(
    private_dovecot: Dovecot, store: Store, make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = private_dovecot.account()
    total = 1000
    template = raw_message("Viesti {n}", "<s{n}@example.fi>")
    seed_maildir(private_dovecot, "INBOX", (template.replace(b"{n}", b"%d" % n) for n in range(total)))
    monkeypatch.setenv("COORDINATOR_TUI_IMAP_PASSWORD", account.password)
    app = make_app(store, demo=False, config=config_for(account), language="en")

    # Hold the initial sync after its first batch (in the watcher's thread) to look at the screen.
    fetching, release = threading.Event(), threading.Event()
    post = app._post_from_watcher

    def holding(message: Message) -> None:
        post(message)
        first_batch = isinstance(message, MailSyncProgress) and 0 < message.done < message.total
        if first_batch and not fetching.is_set():
            fetching.set()
            release.wait(WAIT)

    app._post_from_watcher = holding
    versions: list[int] = []
    async with app.run_test(size=SIZE) as pilot:
        app.watch(app, "mail_version", lambda value: versions.append(value), init=False)
        await wait_until(pilot, fetching.is_set, "first batch")
        await wait_until(pilot, lambda: app.sync_progress is not None and app.sync_progress.done, "progress")
        await pilot.pause(0.1)
        bar = app.screen.query_one(SyncProgress)
        assert bar.display and bar.has_class("-active")
        text = screen_text(app)
        assert "Fetching mail: INBOX 200/1000" in text
        assert "syncing… INBOX 200/1000" in text
        release.set()

        await wait_until(pilot, lambda: watch_state(app) is WatchState.UP_TO_DATE, "up to date")
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "Sync: up to date at 9:30" in text  # the app's clock is the tests' fixed morning
        assert "Fetching mail" not in text and not bar.display
        assert inbox_uids(store) == server_uids(private_dovecot, account.username)
        assert versions, "the screens were not told of the new mail"

        # Mail delivered while the app runs: IDLE brings it, and mail_version moves on.
        seen = app.mail_version
        private_dovecot.deliver("INBOX", raw_message("Uusi kesken päivän", "<uusi@example.fi>"))
        await wait_until(pilot, lambda: len(inbox_uids(store)) == total + 1, "the delivered message")
        await wait_until(pilot, lambda: app.mail_version > seen, "a new mail_version")
        assert app.last_error == ""


async def test_a_killed_server_is_reported_and_the_app_reconnects(
    private_dovecot: Dovecot, store: Store, make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = private_dovecot.account()
    private_dovecot.deliver("INBOX", raw_message("Ensimmäinen", "<eka@example.fi>"))
    monkeypatch.setenv("COORDINATOR_TUI_IMAP_PASSWORD", account.password)
    app = make_app(store, demo=False, config=config_for(account), language="en")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: watch_state(app) is WatchState.UP_TO_DATE, "up to date")
        private_dovecot.kill()
        await wait_until(pilot, lambda: watch_state(app) is WatchState.DISCONNECTED, "the disconnect")
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "Sync: connection lost, retrying in " in text
        assert "The connection to the IMAP server" in app.last_error or "refused" in app.last_error

        private_dovecot.restart()
        private_dovecot.deliver("INBOX", raw_message("Katkon jälkeen", "<jalkeen@example.fi>"))
        await wait_until(pilot, lambda: len(inbox_uids(store)) == 2, "the message sent during the outage")
        await wait_until(pilot, lambda: watch_state(app) is WatchState.UP_TO_DATE, "up to date again")
        await pilot.pause(0.1)
        assert "Sync: up to date at" in screen_text(app)
        assert app.last_error == ""  # the watcher's own error went when it recovered


async def test_a_wrong_password_is_said_once_and_not_retried(
    dovecot: Dovecot, imap_user: ImapAccount, store: Store, make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COORDINATOR_TUI_IMAP_PASSWORD", "väärä")
    app = make_app(store, demo=False, config=config_for(imap_user), language="en")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: watch_state(app) is WatchState.LOGIN_REFUSED, "the refusal")
        await pilot.pause(0.1)
        assert "login refused: check the password" in screen_text(app)
        assert "refused the login" in app.last_error
        await pilot.pause(1.0)  # no retry loop: one refusal, one notification
        assert sum("login refused" in text for text in notifications(app)) == 1

        monkeypatch.setenv("COORDINATOR_TUI_IMAP_PASSWORD", imap_user.password)
        await app.run_action("sync_mail")  # ctrl+r on the Mail screen
        await wait_until(pilot, lambda: watch_state(app) is WatchState.UP_TO_DATE, "up to date")


async def test_the_demo_syncs_nothing(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.8)
        assert app.mail_watcher is None and not app.is_watching_mail
        await app.run_action("sync_mail")
        await pilot.pause(0.1)
        assert any("demo" in text.lower() for text in notifications(app))


async def test_without_a_mail_server_ctrl_r_says_what_to_set(store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(store, demo=False, language="en")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.8)
        assert app.mail_watcher is None
        await app.run_action("sync_mail")
        await pilot.pause(0.1)
        assert any("[imap] host" in text for text in notifications(app))
