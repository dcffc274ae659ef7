"""No secret at rest: a realistic run with known passwords, DEBUG logging on, leaves none on disk.

The flow, against real servers (Dovecot, aiosmtpd with STARTTLS + AUTH, the feed server, the test
identity provider with an OAuth2 Dovecot), each command in its own process as a user runs it:
`init`, `login imap` (the password typed at a terminal into the keyring), `sync` (password from the
keyring), a reply sent from the compose screen (SMTP password from the environment, the Sent copy
over IMAP with the keyring's password), `sync` again (IMAP password from the environment),
`feeds refresh`, `doctor`, and an OAuth2 `login imap` (device code) followed by `sync` with the
refresh token from the keyring.

Then the store (its -wal/-shm copied while it is open, and a backup), every file under the config
dir, the log files, an SVG screenshot of the run and the SVG snapshots under tests/snapshots are
searched for every secret: raw, escaped, its ASCII runs, and as the base64 an AUTH PLAIN / AUTH
LOGIN / XOAUTH2 exchange carries it; the logs also for the text of the mails. The store, its
-wal/-shm, its backup and the logs must be 0600 and their directories 0700.

The keyring is tests/support/file_keyring.py (no keyring daemon runs headless here): its file is
the stand-in for the OS keyring and is the one place the secrets may be. DEBUG logging is switched
on by wrapping ``coordinator_tui.logs.setup_logging`` (the app has no switch for it), see DEBUG_CLI.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from textual.widgets import TextArea

from coordinator_tui import logs, secrets
from coordinator_tui.config import Config, ImapSection
from coordinator_tui.mail.compose import reply_draft
from coordinator_tui.oauth2 import forget_sources
from coordinator_tui.screens.compose import ComposeScreen
from store.engine import open_store, url_for_path
from store.migrate import backup_before_upgrade
from tests.support.dovecot import Dovecot, TlsFiles, seed_maildir
from tests.support.feedserver import FeedServer, running_feed_server
from tests.support.file_keyring import FileKeyring
from tests.support.fixtures import running_dovecot
from tests.support.messages import plain, smtp_section_for
from tests.support.oauth import CLIENT_ID, TENANT, IdentityProvider
from tests.support.smtp import SMTP_USER, SmtpServer
from tests.support.terminal import answer_password_prompt

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = ROOT / "tests" / "snapshots"
IMAP_USER = "salainen.koordinaattori"
IMAP_SECRET = "Imap-Kz7q-Ålö-4471-zeta"  # non-ASCII: goes as AUTHENTICATE PLAIN
SMTP_SECRET = "Smtp-Wq3x-Äyy-9182-theta"  # non-ASCII: goes as UTF-8 AUTH PLAIN
FROM = "omaolo@pohde.example.fi"

# The CLI with DEBUG logging: the same main() as `python -m coordinator_tui`, with the log level up.
DEBUG_CLI = [
    sys.executable,
    "-c",
    "import logging, sys\n"
    "import coordinator_tui.logs as logs\n"
    "setup = logs.setup_logging\n"
    "logs.setup_logging = lambda level=logging.INFO: setup(logging.DEBUG)\n"
    "from coordinator_tui.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n",
]


def encodings(secret: str, *users: str) -> set[bytes]:
    """The forms a secret takes on the wire: raw, and base64 as AUTH PLAIN / LOGIN / XOAUTH2 send it."""
    raw = secret.encode()
    forms = {raw, base64.b64encode(raw), json.dumps(secret).encode(), repr(raw).encode()[2:-1]}
    # Its ASCII runs as well, which any escaping of the rest (JSON, bytes reprs, SVG) leaves alone.
    forms.update(piece.encode() for piece in re.split(r"[^\x00-\x7f]+", secret) if len(piece) >= 8)
    for user in users:
        forms.add(base64.b64encode(f"\0{user}\0{secret}".encode()))
        forms.add(base64.b64encode(f"{user}\0{user}\0{secret}".encode()))
        forms.add(base64.b64encode(f"user={user}\x01auth=Bearer {secret}\x01\x01".encode()))
    return forms


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DEBUG_CLI, *args], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=180
    )


def login_at_a_terminal(config: Path, password: str, env: dict[str, str]) -> str:
    """`coordinator-tui login imap` in a pseudo-terminal, the password typed at its prompt."""
    return answer_password_prompt([*DEBUG_CLI, "--config", str(config), "login", "imap"], password, env)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    yield from running_feed_server()


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider(poll_interval=1)
    yield provider
    provider.close()


@pytest.fixture
def oauth_dovecot(tls_files: TlsFiles, idp: IdentityProvider) -> Iterator[Dovecot]:
    with running_dovecot(tls_files, oauth2_introspection_url=idp.introspection_url) as server:
        yield server


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The keyring of every process of the run, this one included: a file outside the app's dirs."""
    path = tmp_path / "keyring" / "keyring.json"
    path.parent.mkdir()
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.support.file_keyring.FileKeyring")
    monkeypatch.setenv("COORDINATOR_TUI_TEST_KEYRING", str(path))
    previous = keyring.get_keyring()
    keyring.set_keyring(FileKeyring())
    secrets.forget_memory()
    forget_sources()
    yield path
    keyring.set_keyring(previous)
    secrets.forget_memory()
    forget_sources()


async def reply_from_the_compose_screen(  # type: ignore[no-untyped-def]
    make_app, store_path: Path, config: Config, screenshot: Path
) -> dict[Path, int]:
    """The reply a user sends: `r` on the synced mail, a line typed, ctrl+s (in this process, with
    the app's own DEBUG log file). Returns copies of the open store's -wal/-shm, with their modes."""
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", *logs.PROTOCOL_TRACERS)}
    handler_path = logs.setup_logging(logging.DEBUG)
    assert handler_path is not None
    added = root.handlers[-1]
    # The test's SMTP server (aiosmtpd, logger "mail.log") runs in this process: its DEBUG trace of
    # the DATA it receives is the server's, not the app's, and stays out of the app's file.
    server_log = logging.getLogger("mail.log")
    server_level = server_log.level
    server_log.setLevel(logging.INFO)
    store = open_store(url_for_path(store_path))
    try:
        from sqlmodel import select

        from store.models import MailMessage

        with store.session() as session:
            original_id = session.exec(select(MailMessage.id).where(MailMessage.subject == "Tunnukset")).one()
        assert original_id is not None
        app = make_app(store, demo=False, config=config, language="fi")
        async with app.run_test(size=(130, 42)) as pilot:
            screen = ComposeScreen(reply_draft(store, original_id, reply_all=False, own_addresses=[FROM]))
            app.push_screen(screen)
            for _ in range(400):
                await pilot.pause(0.025)
                if app.screen is screen and screen.query("#compose-body"):
                    break
            screen.query_one("#compose-body", TextArea).insert("Hei, tunnukset on nyt avattu.\n")
            screenshot.write_text(app.export_screenshot(), encoding="utf-8")
            await pilot.press("ctrl+s")
            for _ in range(800):
                await pilot.pause(0.025)
                if screen not in app.screen_stack:
                    break
            assert screen not in app.screen_stack, screen.problem
        # While the store is open its -wal/-shm exist (the last close removes them): keep copies.
        copies: dict[Path, int] = {}
        for path in store_path.parent.glob(store_path.name + "-*"):
            copy = screenshot.parent / f"open-{path.name}"
            shutil.copyfile(path, copy)
            copies[copy] = stat.S_IMODE(path.stat().st_mode)
        assert copies, "the open store has no -wal/-shm to search"
        return copies
    finally:
        store.dispose()
        root.removeHandler(added)
        added.close()
        server_log.setLevel(server_level)
        for name, level in levels.items():  # the rest of the test session logs as before
            logging.getLogger(name or None).setLevel(level)


async def test_no_secret_at_rest_after_a_realistic_run(  # type: ignore[no-untyped-def]
    tmp_path: Path,
    private_dirs: Path,
    dovecot: Dovecot,
    tls_files: TlsFiles,
    feed_server: FeedServer,
    idp: IdentityProvider,
    oauth_dovecot: Dovecot,
    file_keyring: Path,
    make_app,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = dovecot.add_user(f"{IMAP_USER}{time.time_ns() % 100000}", IMAP_SECRET)
    # Written into the Maildir: the test helper's own APPEND logs in with LOGIN, which is ASCII only.
    seed_maildir(
        dovecot,
        "INBOX",
        [
            plain(
                "Tunnukset",
                "Hei, tarvitsen tunnukset Omaoloon.\n",
                "<tunnukset-1@kunta.example.fi>",
                sender="Hoitaja <hoitaja@kunta.example.fi>",
            )
        ],
        user=account.username,
    )
    feed = feed_server.add("/rss", body=(ROOT / "tests" / "fixtures" / "feeds" / "rss2.xml").read_bytes())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    config_dir = Path(os.environ["XDG_CONFIG_HOME"]) / "coordinator-tui"
    log_dir = Path(os.environ["COORDINATOR_TUI_LOG_DIR"])
    data_dir = Path(os.environ["XDG_DATA_HOME"]) / "coordinator-tui"
    store_path = data_dir / "store.sqlite"
    oauth_store = data_dir / "store-oauth2.sqlite"

    with SmtpServer(tls_files, password=SMTP_SECRET) as smtp_server:
        # init writes the example config where the app looks for it; the user then fills it in.
        initialised = run(["init"], env)
        assert initialised.returncode == 0, initialised.stderr
        config_file = config_dir / "config.toml"
        assert config_file.exists()
        config_file.write_text(
            f'[store]\nurl = "{url_for_path(store_path)}"\n'
            f'[imap]\nhost = "{account.host}"\nport = {account.port}\nsecurity = "tls"\n'
            f'username = "{account.username}"\nca_file = "{account.ca_file}"\n'
            f'[smtp]\nhost = "{smtp_server.host}"\nport = {smtp_server.port}\nsecurity = "starttls"\n'
            f'username = "{SMTP_USER}"\nfrom_address = "{FROM}"\nca_file = "{smtp_server.ca_file}"\n'
            f'[[feeds]]\nname = "DigiFinland"\nurl = "{feed}"\n',
            encoding="utf-8",
        )

        said = login_at_a_terminal(config_file, IMAP_SECRET, env)
        assert "Stored the IMAP password" in said and IMAP_SECRET not in said
        synced = run(["sync", "--json"], env)  # the password from the keyring
        assert synced.returncode == 0, synced.stderr
        inbox = next(f for f in json.loads(synced.stdout)["folders"] if f["folder"] == "INBOX")
        assert inbox["messages"] == 1

        monkeypatch.setenv("COORDINATOR_TUI_SMTP_PASSWORD", SMTP_SECRET)
        screenshot = tmp_path / "reply.svg"
        config = Config(
            imap=ImapSection(
                host=account.host,
                port=account.port,
                security="tls",
                username=account.username,
                ca_file=str(account.ca_file),
            ),
            smtp=smtp_section_for(smtp_server, from_address=FROM),
        )
        open_files = await reply_from_the_compose_screen(make_app, store_path, config, screenshot)
        (received,) = smtp_server.wait_for_messages(1)
        assert received.login == SMTP_USER and received.tls

        with_env = {
            **env,
            "COORDINATOR_TUI_IMAP_PASSWORD": IMAP_SECRET,
            "COORDINATOR_TUI_SMTP_PASSWORD": SMTP_SECRET,
        }
        again = run(["sync", "--json"], with_env)
        assert again.returncode == 0, again.stderr
        sent = next(f for f in json.loads(again.stdout)["folders"] if f["folder"] == "Sent")
        assert sent["messages"] == 1  # the reply's copy, filed over IMAP
        refreshed = run(["feeds", "refresh"], with_env)
        assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
        doctor = run(["doctor"], with_env)
        assert "Traceback" not in doctor.stderr
        assert any(line.startswith("ok") and "smtp" in line.lower() for line in doctor.stdout.splitlines()), (
            doctor.stdout
        )

    # OAuth2: a device sign-in whose refresh token goes to the keyring, then a sync with it.
    mailbox = "maija.salainen@example.fi"
    oauth_dovecot.add_user(mailbox, "not-used-with-oauth2")
    oauth_config = config_dir / "oauth2.toml"
    oauth_config.write_text(
        f'[store]\nurl = "{url_for_path(oauth_store)}"\n'
        f'[imap]\nhost = "{oauth_dovecot.host}"\nport = {oauth_dovecot.port}\nsecurity = "tls"\n'
        f'username = "{mailbox}"\nca_file = "{oauth_dovecot.ca_file}"\nauth = "oauth2"\n'
        f'tenant = "{TENANT}"\nauthority = "{idp.authority}"\nclient_id = "{CLIENT_ID}"\n',
        encoding="utf-8",
    )
    login = subprocess.Popen(
        [*DEBUG_CLI, "--config", str(oauth_config), "login", "imap"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert login.stdout is not None
    for line in login.stdout:
        if "enter the code:" in line:
            idp.approve(line.rsplit(":", 1)[1].strip(), mailbox)
            break
    _rest, errors = login.communicate(timeout=60)
    assert login.returncode == 0, errors
    oauth_synced = run(["--config", str(oauth_config), "sync"], env)
    assert oauth_synced.returncode == 0, oauth_synced.stderr
    assert idp.issued, "no token was issued"
    assert any(token in file_keyring.read_text(encoding="utf-8") for token in idp.issued)

    # -- the search ---------------------------------------------------------------------------------
    backup = backup_before_upgrade(store_path, "secrets-test")
    stores = [store_path, oauth_store, backup]
    beside = [path for base in stores for path in base.parent.glob(base.name + "-*")]
    config_files = [path for path in config_dir.rglob("*") if path.is_file()]
    log_files = [path for path in log_dir.rglob("*") if path.is_file()]
    snapshots = sorted(SNAPSHOTS.rglob("*.svg"))
    searched = [*stores, *beside, *open_files, *config_files, *log_files, screenshot, *snapshots]
    assert log_files and all(path.stat().st_size > 0 for path in log_files), "the run wrote no log"
    assert any(b"DEBUG" in path.read_bytes() for path in log_files), "DEBUG logging was not on"
    assert snapshots, "no snapshots to search"

    users = (account.username, SMTP_USER, mailbox)
    forms = {
        "IMAP password": encodings(IMAP_SECRET, *users),
        "SMTP password": encodings(SMTP_SECRET, *users),
        **{f"OAuth2 token {n}": encodings(token, *users) for n, token in enumerate(idp.issued)},
    }
    # The search finds what is there: the keyring's file holds the IMAP password and the token.
    kept = file_keyring.read_bytes()
    assert any(pattern in kept for pattern in forms["IMAP password"])
    assert any(any(pattern in kept for pattern in forms[what]) for what in forms if what.startswith("OAuth2"))
    found = [
        f"{what} in {path}"
        for path in searched
        for what, patterns in forms.items()
        if any(pattern in path.read_bytes() for pattern in patterns)
    ]
    assert found == []
    # Nor a message's text: the synced mail's body and the reply's (imapclient traces whole FETCH
    # literals at DEBUG; coordinator_tui/logs.py keeps such tracers at INFO).
    bodies = [b"tarvitsen tunnukset Omaoloon", b"tunnukset on nyt avattu"]
    assert [f"{body!r} in {path}" for path in log_files for body in bodies if body in path.read_bytes()] == []

    # -- the modes ----------------------------------------------------------------------------------
    private = [*stores, *[path for path in beside if path.exists()], *log_files]
    loose = [
        f"{path}: {oct(stat.S_IMODE(path.stat().st_mode))}" for path in private if path.stat().st_mode & 0o077
    ]
    loose += [f"{copy.name}: {oct(mode)}" for copy, mode in open_files.items() if mode & 0o077]
    assert loose == []
    for directory in (data_dir, log_dir, config_dir):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, f"{directory} is not 0700"
