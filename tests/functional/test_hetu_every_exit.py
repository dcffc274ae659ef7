"""The henkilötunnus guard on every way text leaves the machine: one test each, nothing leaves.

Each exit path and the test that shows a valid code in the outgoing text blocks it, with a clear
message and nothing at the SMTP server (aiosmtpd) or on disk:

- reply to a mail (compose screen, `r`):
  tests/functional/test_compose_screen.py::test_reply_hetu_block_canned_reply_and_demo_outbox
- reply to a request (Requests screen, `r`):
  tests/functional/test_requests_reply.py (the henkilötunnus guard in the reply flow)
- forward of a mail whose text carries a code (compose screen, `f`): here,
  test_a_forward_of_a_mail_with_a_code_in_its_text_is_blocked
- forward of a mail whose attachment carries a code (the original is not attached):
  tests/integration/test_send.py::test_an_original_with_a_hetu_in_an_attachment_is_not_attached
- feed item passed on (Feeds screen, `F`):
  tests/functional/test_feeds_screen.py::test_refresh_read_star_forward_again_and_digest
- digest of feed items (Feeds screen, `D`): here, test_a_digest_with_a_code_in_an_item_is_blocked
- notice (Notices screen / notices.send.queue):
  tests/integration/test_notice_send.py::test_a_dvv_test_identity_code_blocks_the_notice_before_anything_is_stored
- replies to the requests linked to a resolved notice (the request's subject goes into the
  reply's subject): here, test_a_linked_request_reply_with_a_code_in_its_subject_is_not_sent
- `coordinator-tui export requests`:
  tests/functional/test_export_cli.py::test_an_identity_code_blocks_the_export
- the request figures screen's `e` (the same rows as a file): here,
  test_the_figures_screen_export_with_a_code_writes_nothing
- `coordinator-tui export people`: here, test_export_people_with_a_code_writes_nothing
- `coordinator-tui feeds export-opml`: here, test_export_opml_with_a_code_writes_nothing
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

import pytest
from sqlmodel import col, select
from textual.widgets import Input, TextArea

from coordinator_tui.config import Config, FeedEntry, ImapSection, NewslettersSection, SmtpSection
from coordinator_tui.mail.compose import forward_draft
from coordinator_tui.mail.sync import sync_account
from coordinator_tui.screens.compose import ComposeScreen
from coordinator_tui.screens.feedcompose import FeedForwardScreen
from coordinator_tui.screens.feeds import FeedsScreen
from store.engine import Store, open_store, url_for_path
from store.feeds import list_feeds
from store.models import FeedForward, MailMessage, Outbox, ServiceRequest
from tests.support.dovecot import Dovecot, ImapAccount
from tests.support.feedserver import FeedServer, running_feed_server
from tests.support.messages import smtp_section_for
from tests.support.notice_directory import Directory, build_directory
from tests.support.smtp import SMTP_PASSWORD, SmtpServer

CLI = [sys.executable, "-m", "coordinator_tui"]
FROM = "omaolo@hva.example.fi"
HETU = "131052-308T"
MASKED = "131052-***T"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(url_for_path(tmp_path / "store.sqlite"))
    yield opened
    opened.dispose()


def smtp_section(server: SmtpServer) -> SmtpSection:
    return smtp_section_for(server, from_address=FROM)


def outbox_rows(store: Store) -> list[Outbox]:
    with store.session() as session:
        return list(session.exec(select(Outbox)).all())


async def wait_until(pilot, condition, what: str, tries: int = 1200) -> None:  # type: ignore[no-untyped-def]
    for _attempt in range(tries):
        if condition():
            return
        await pilot.pause(0.025)
    raise AssertionError(f"{what} did not come true")


# -- mail ------------------------------------------------------------------------------------------


async def test_a_forward_of_a_mail_with_a_code_in_its_text_is_blocked(  # type: ignore[no-untyped-def]
    store: Store,
    dovecot: Dovecot,
    imap_user: ImapAccount,
    smtp_server: SmtpServer,
    make_app,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COORDINATOR_TUI_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("COORDINATOR_TUI_IMAP_PASSWORD", imap_user.password)
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = "Hoitaja <hoitaja@kunta.example.fi>"
    message["To"] = "koordinaattori@example.fi"
    message["Subject"] = "Asiakkaan arvio ei näy"
    message["Message-ID"] = "<arvio-1@kunta.example.fi>"
    message["Date"] = "Thu, 26 Nov 2026 09:30:00 +0200"
    message.set_content(f"Asiakkaan {HETU} oirearvio ei näy työjonossa.\n", charset="utf-8")
    dovecot.deliver("INBOX", message.as_bytes(), user=imap_user.username)
    imap = ImapSection(
        host=imap_user.host,
        port=imap_user.port,
        security="tls",
        username=imap_user.username,
        ca_file=str(imap_user.ca_file),
    )
    assert sync_account(store, imap, imap_user.password).ok
    with store.session() as session:
        original_id = session.exec(select(MailMessage.id)).one()
    assert original_id is not None
    app = make_app(store, demo=False, config=Config(smtp=smtp_section(smtp_server), imap=imap))
    async with app.run_test(size=(130, 42)) as pilot:
        screen = ComposeScreen(forward_draft(store, original_id))
        app.push_screen(screen)
        await wait_until(
            pilot, lambda: app.screen is screen and bool(screen.query("#compose-body")), "the editor"
        )
        assert HETU in screen.query_one("#compose-body", TextArea).text  # the original's text comes along
        screen.query_one("#compose-to", Input).value = "tuki@digifinland.example.fi"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: MASKED in screen.problem, "the henkilötunnus block")
        assert "henkilötunnus" in screen.problem and HETU not in screen.problem
        await pilot.pause(0.2)
        assert app.screen is screen  # the draft stays for the user to fix
    assert smtp_server.messages == []
    assert outbox_rows(store) == []


# -- feeds -----------------------------------------------------------------------------------------


RSS_WITH_A_CODE = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Kuntainfo</title><link>https://kunta.example.fi/</link>
<description>Uutiset</description>
<item><title>Asiakas {HETU} siirtyi toiseen yksikköön</title>
<link>https://kunta.example.fi/uutiset/1</link><guid>k-1</guid>
<pubDate>Wed, 25 Nov 2026 12:00:00 GMT</pubDate><description>Siirto.</description></item>
<item><title>Huoltokatko 3.12.</title><link>https://kunta.example.fi/uutiset/2</link><guid>k-2</guid>
<pubDate>Tue, 24 Nov 2026 12:00:00 GMT</pubDate><description>Katko.</description></item>
</channel></rss>
""".encode()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    yield from running_feed_server()


async def test_a_digest_with_a_code_in_an_item_is_blocked(  # type: ignore[no-untyped-def]
    store: Store, feed_server: FeedServer, smtp_server: SmtpServer, make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COORDINATOR_TUI_SMTP_PASSWORD", SMTP_PASSWORD)
    build_directory(store)
    config = Config(
        feeds=[FeedEntry(name="Kuntainfo", url=feed_server.add("/rss", body=RSS_WITH_A_CODE))],
        smtp=smtp_section(smtp_server),
        newsletters=NewslettersSection(forward_list="Ohjausryhmä", forward_intro="Hei,"),
    )
    app = make_app(store, demo=False, config=config)
    async with app.run_test(size=(130, 44)) as pilot:
        await wait_until(pilot, lambda: sum(feed.items for feed in list_feeds(store)) == 2, "the refresh")
        await pilot.press("5")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, FeedsScreen) and app.screen.feed_list.count == 2,
            "the Feeds screen",
        )
        screen = app.screen
        assert isinstance(screen, FeedsScreen)
        screen.feed_list.move_to(0)
        await pilot.press("x", "x")
        assert len(screen.feed_list.marked) == 2
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, FeedForwardScreen), "the digest editor")
        digest = app.screen
        assert isinstance(digest, FeedForwardScreen)
        await wait_until(pilot, lambda: not digest.resolving, "the list resolved")
        assert HETU in digest.query_one("#compose-body", TextArea).text
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: MASKED in digest.problem, "the henkilötunnus block")
        await pilot.pause(0.2)
        assert app.screen is digest
    assert smtp_server.messages == []
    assert outbox_rows(store) == []
    with store.session() as session:
        assert session.exec(select(FeedForward)).all() == []


# -- notices ---------------------------------------------------------------------------------------


def test_a_linked_request_reply_with_a_code_in_its_subject_is_not_sent(
    store: Store, smtp_server: SmtpServer
) -> None:
    """A request made from a mail keeps the mail's subject; the resolved notice's reply to it would
    carry that subject (Re: ...) out. The other linked request is answered as usual."""
    from coordinator_tui.notices import recipients, send
    from coordinator_tui.notices.compose import NoticeDraft
    from coordinator_tui.notices.linked import reply_and_close
    from coordinator_tui.requests.service import RequestService

    directory: Directory = build_directory(store)
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    queued, _built = send.queue(
        store,
        None,
        NoticeDraft(
            services=["työjonolähetys"],
            start_at=now,
            impact="Oirearviot eivät siirry.",
            instructions="Soittakaa 116117",
            contact=FROM,
        ),
        recipients.Choice(lists=[directory.notice_list]),
        from_address=FROM,
    )
    service = RequestService(store, clock=lambda: now)
    leaking = service.create(f"Asiakkaan {HETU} arvio ei siirry", requester_email="anu@liminka.example.fi")
    clean = service.create("Omaolo ei lähetä työjonoon?", requester_email="ville@liminka.example.fi")
    with store.session() as session:
        for request_id in (leaking.id, clean.id):
            row = session.get(ServiceRequest, request_id)
            assert row is not None
            row.notice_id = queued.notice_id
            session.add(row)
    before = {row.id for row in outbox_rows(store)}

    outcome = reply_and_close(
        store,
        queued.notice_id,
        "Vika on korjattu klo 9.00.",
        service,
        Config(smtp=smtp_section(smtp_server)),
        smtp_password=SMTP_PASSWORD,
        demo=False,
        now=now,
    )

    assert outcome.replied == [clean.reference]
    assert any(leaking.reference in problem and "henkilötunnus" in problem for problem in outcome.problems)
    assert all(HETU not in problem for problem in outcome.problems)
    (received,) = smtp_server.wait_for_messages(1)
    assert received.rcpt_tos == ("ville@liminka.example.fi",)
    assert HETU.encode() not in received.data
    new_rows = [row for row in outbox_rows(store) if row.id not in before]
    assert len(new_rows) == 1 and HETU.encode() not in new_rows[0].raw
    with store.session() as session:
        still = session.get(ServiceRequest, leaking.id)
        assert still is not None and still.status != "suljettu"  # left open for the coordinator


# -- exports ---------------------------------------------------------------------------------------


def run_cli(config: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*CLI, "--config", str(config), "--lang", "en", *args],
        capture_output=True,
        env=dict(os.environ),
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_export_people_with_a_code_writes_nothing(demo_store: Store, tmp_path: Path) -> None:
    assert demo_store.path is not None
    demo_store.dispose()
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{demo_store.path}"\n', encoding="utf-8")
    connection = sqlite3.connect(demo_store.path)
    connection.execute("UPDATE person SET phone = ? WHERE id = (SELECT max(id) FROM person)", (HETU,))
    connection.commit()
    connection.close()

    out = tmp_path / "verkosto.csv"
    to_file = run_cli(config, "export", "people", "--output", str(out))
    assert to_file.returncode == 1
    said = to_file.stderr.decode()
    assert "identity code" in said and HETU not in said and "Traceback" not in said
    assert not out.exists() and list(tmp_path.glob("verkosto*")) == []
    to_stdout = run_cli(config, "export", "people")
    assert to_stdout.returncode == 1 and to_stdout.stdout == b""


def test_export_opml_with_a_code_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\nurl = "{url_for_path(tmp_path / "store.sqlite")}"\n', encoding="utf-8")
    opml = tmp_path / "lukija.opml"
    opml.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head><title>x</title></head><body>\n'
        '<outline type="rss" text="DigiFinland" xmlUrl="https://digifinland.example/rss"/>\n'
        f'<outline type="rss" text="Asiakas" xmlUrl="https://kunta.example.fi/rss?asiakas={HETU}"/>\n'
        "</body></opml>\n",
        encoding="utf-8",
    )
    imported = run_cli(config, "feeds", "import-opml", str(opml))
    assert imported.returncode == 0, imported.stderr.decode()

    out = tmp_path / "syotteet.opml"
    to_file = run_cli(config, "feeds", "export-opml", "--out", str(out))
    assert to_file.returncode == 1
    said = to_file.stderr.decode()
    assert "identity code" in said and HETU not in said and "Traceback" not in said
    assert not out.exists()
    to_stdout = run_cli(config, "feeds", "export-opml")
    assert to_stdout.returncode == 1 and to_stdout.stdout == b""


async def test_the_figures_screen_export_with_a_code_writes_nothing(  # type: ignore[no-untyped-def]
    demo_store: Store, make_app, tmp_path: Path
) -> None:
    from tests.functional.test_request_figures import open_figures, told
    from tests.functional.test_requests_screen import SIZE

    with demo_store.session() as session:
        newest = session.exec(select(ServiceRequest).order_by(col(ServiceRequest.id).desc())).first()
        assert newest is not None
        newest.title = f"Asiakas {HETU} ei pääse Omaoloon"
        session.add(newest)
    from coordinator_tui.screens.requestfigures import ExportScreen

    app = make_app(demo_store, language="en")
    target = tmp_path / "pyynnot.csv"
    async with app.run_test(size=SIZE) as pilot:
        await open_figures(pilot)
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen), "the export dialog")
        app.screen.query_one("#figures-export-path", Input).value = str(target)
        await pilot.press("enter")
        await wait_until(pilot, lambda: any("identity code" in text for text in told(app)), "the block said")
        assert all(HETU not in text for text in told(app))
    assert not target.exists() and list(tmp_path.glob("pyynnot*")) == []
