"""The Feeds screen end to end: the start-up refresh from a local feed server, reading, starring,
passing an item on over real SMTP (aiosmtpd), the "already passed on" question, a digest, the
henkilötunnus guard, newsletters that arrive as mail, and the browser fallback."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import UTC, datetime
from email.policy import default
from pathlib import Path

import pytest
from sqlmodel import col, select
from textual.widgets import Input, TextArea

from coordinator_tui.config import Config, FeedEntry, NewslettersSection, SmtpSection
from coordinator_tui.feeds.newsletters import MAIL_FEED_NAME
from coordinator_tui.i18n import _
from coordinator_tui.screens.feedcompose import FeedForwardScreen, ForwardAgainQuestion
from coordinator_tui.screens.feeds import FeedsScreen
from store.engine import Store, open_store
from store.feeds import list_feeds
from store.models import FeedForward, FeedItem, MailFolder, MailMessage, Outbox
from tests.screen import screen_text
from tests.support.feedserver import FeedServer, running_feed_server
from tests.support.notice_directory import Directory, build_directory
from tests.support.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer

FIXTURES = Path(__file__).parents[1] / "fixtures" / "feeds"
FROM = "omaolo@hva.example.fi"
HETU = "131052-308T"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    yield from running_feed_server()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    yield opened
    opened.dispose()


@pytest.fixture
def directory(store: Store) -> Directory:
    return build_directory(store)


def feeds_config(server: FeedServer, smtp: SmtpServer | None = None, **newsletters: object) -> Config:
    smtp_section = SmtpSection()
    if smtp is not None:
        smtp_section = SmtpSection(
            host=smtp.host,
            port=smtp.port,
            security="starttls",
            username=SMTP_USER,
            from_address=FROM,
            ca_file=str(smtp.ca_file),
        )
    return Config(
        feeds=[
            FeedEntry(name="DigiFinland", url=server.add("/rss2", body=(FIXTURES / "rss2.xml").read_bytes())),
            FeedEntry(
                name="THL",
                url=server.add(
                    "/atom", body=(FIXTURES / "atom.xml").read_bytes(), content_type="application/atom+xml"
                ),
            ),
        ],
        smtp=smtp_section,
        newsletters=NewslettersSection(**newsletters),  # type: ignore[arg-type]
    )


async def wait_until(pilot, condition, tries: int = 1200) -> None:  # type: ignore[no-untyped-def]
    for _attempt in range(tries):
        if condition():
            return
        await pilot.pause(0.025)
    raise AssertionError("the condition did not come true")


async def open_feeds(app, pilot) -> FeedsScreen:  # type: ignore[no-untyped-def]
    await pilot.press("5")
    await wait_until(pilot, lambda: isinstance(app.screen, FeedsScreen) and app.screen.loaded_at is not None)
    screen = app.screen
    assert isinstance(screen, FeedsScreen)
    return screen


def items(store: Store) -> dict[str, FeedItem]:
    with store.session() as session:
        return {item.title: item for item in session.exec(select(FeedItem)).all()}


def forwards(store: Store) -> list[FeedForward]:
    with store.session() as session:
        return list(session.exec(select(FeedForward).order_by(col(FeedForward.id))).all())


async def test_refresh_read_star_forward_again_and_digest(  # type: ignore[no-untyped-def]
    store: Store, directory: Directory, server: FeedServer, smtp_server: SmtpServer, make_app, monkeypatch
) -> None:
    monkeypatch.setenv("COORDINATOR_TUI_SMTP_PASSWORD", SMTP_PASSWORD)
    config = feeds_config(server, smtp_server, forward_list="Ohjausryhmä", forward_intro="Hei verkosto,")
    app = make_app(store, demo=False, config=config)
    async with app.run_test(size=(130, 44)) as pilot:
        # The start-up refresh fetches both feeds without a key being pressed.
        await wait_until(pilot, lambda: sum(feed.items for feed in list_feeds(store)) == 5)
        assert server.hits_of("/rss2") == 1 and server.hits_of("/atom") == 1
        screen = await open_feeds(app, pilot)
        await wait_until(pilot, lambda: screen.feed_list.count == 5)
        text = screen_text(app)
        assert "DigiFinland" in text and "THL" in text
        newest = screen.feed_list.current_row()
        assert newest is not None and not newest.read

        # enter reads the item into the reader and marks it read.
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.reader.detail is not None)
        assert screen.reader.detail is not None and screen.reader.detail.row.id == newest.id
        await wait_until(pilot, lambda: items(store)[newest.title].read)
        assert newest.title in screen_text(app)

        # s stars it, N makes it unread again.
        await pilot.press("s")
        await wait_until(pilot, lambda: items(store)[newest.title].starred)
        await pilot.press("N")
        await wait_until(pilot, lambda: not items(store)[newest.title].read)

        # F: the compose screen, addressed to the list in Bcc; ctrl+s sends it through SMTP.
        await pilot.press("F")
        await wait_until(pilot, lambda: isinstance(app.screen, FeedForwardScreen))
        compose = app.screen
        assert isinstance(compose, FeedForwardScreen)
        await wait_until(
            pilot, lambda: "piilokopio" in screen_text(app).lower() and "Ohjausryhmä" in screen_text(app)
        )
        body = compose.query_one("#compose-body", TextArea).text
        assert body.startswith("Hei verkosto,") and newest.title in body
        if newest.link:
            assert newest.link in body
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: len(smtp_server.messages) == 1)
        await wait_until(pilot, lambda: isinstance(app.screen, FeedsScreen))
        (received,) = smtp_server.messages
        assert sorted(received.rcpt_tos) == sorted([FROM, "anu@liminka.example.fi"])
        message = email.message_from_bytes(received.data, policy=default)
        assert "anu@" not in str(message["To"]) and message["Bcc"] is None  # members in Bcc only
        assert newest.title in message.get_content()
        (recorded,) = forwards(store)
        assert recorded.feed_item_id == newest.id and recorded.list_id == directory.steering
        with store.session() as session:
            outbox = session.get(Outbox, recorded.outbox_id)
            assert outbox is not None and outbox.state == "sent" and outbox.kind == "forward"
        # The F mark in the list, once the list is read again after the editor closed.
        await wait_until(pilot, lambda: getattr(screen.feed_list.current_row(), "forwarded", False))

        # F again asks first; n sends nothing.
        await pilot.press("F")
        await wait_until(pilot, lambda: isinstance(app.screen, ForwardAgainQuestion))
        assert "Ohjausryhmä" in screen_text(app)
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, FeedsScreen))
        # y goes on to the editor: a henkilötunnus in the text blocks the send.
        await pilot.press("F")
        await wait_until(pilot, lambda: isinstance(app.screen, ForwardAgainQuestion))
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, FeedForwardScreen))
        again = app.screen
        again.query_one("#compose-body", TextArea).insert(f"Asiakas {HETU}\n")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "henkilötunnus" in again.problem)
        await pilot.pause(0.2)
        assert len(smtp_server.messages) == 1 and len(forwards(store)) == 1
        await pilot.press("escape")
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, FeedsScreen))

        # x selects two items; D builds one digest of them, grouped by feed.
        screen.feed_list.move_to(1)
        await pilot.press("x", "x")
        assert len(screen.feed_list.marked) == 2
        chosen = [row.id for row in (screen.feed_list.row_at(1), screen.feed_list.row_at(2)) if row]
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(app.screen, FeedForwardScreen))
        digest = app.screen
        digest_body = digest.query_one("#compose-body", TextArea).text
        titles = {item.id: title for title, item in items(store).items()}
        assert all(titles[item_id] in digest_body for item_id in chosen)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: len(smtp_server.messages) == 2)
        await wait_until(pilot, lambda: isinstance(app.screen, FeedsScreen))
        assert sorted(f.feed_item_id for f in forwards(store)[1:]) == sorted(chosen)
        assert len({f.outbox_id for f in forwards(store)[1:]}) == 1  # one email
        await wait_until(pilot, lambda: screen.feed_list.marked == [])

        # The "passed on" filter shows exactly the three items passed on.
        await pilot.press("f")
        await wait_until(pilot, lambda: screen.view == "forwarded" and screen.feed_list.count == 3)


async def test_newsletters_from_mail_search_and_the_link_without_a_browser(  # type: ignore[no-untyped-def]
    store: Store, server: FeedServer, make_app, monkeypatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with store.session() as session:
        inbox = MailFolder(name="INBOX", role="inbox")
        session.add(inbox)
        session.flush()
        assert inbox.id is not None
        session.add(
            MailMessage(
                folder_id=inbox.id,
                uid=1,
                message_id="<uk-1@digifinland.example>",
                subject="DigiFinlandin uutiskirje joulukuu",
                from_addr="Uutiskirje@DigiFinland.example",
                body_text="Joulukuun uutiset: Omaolon työjonolähetys muuttuu.",
                date=datetime(2026, 11, 25, 8, tzinfo=UTC),
            )
        )
        session.commit()
    config = feeds_config(server, senders=["uutiskirje@digifinland.example"])
    app = make_app(store, demo=False, config=config)
    async with app.run_test(size=(130, 44)) as pilot:
        await wait_until(pilot, lambda: "DigiFinlandin uutiskirje joulukuu" in items(store))
        mail_item = items(store)["DigiFinlandin uutiskirje joulukuu"]
        assert mail_item.mail_message_id is not None
        screen = await open_feeds(app, pilot)
        await wait_until(pilot, lambda: _(MAIL_FEED_NAME) in screen_text(app))

        # / searches the items' text (FTS) as you type.
        await pilot.press("slash")
        for key in "työjono":
            await pilot.press(key)
        await wait_until(pilot, lambda: screen.search_text == "työjono")
        found = {screen.feed_list.row_at(i).title for i in range(screen.feed_list.count)}  # type: ignore[union-attr]
        assert "DigiFinlandin uutiskirje joulukuu" in found
        await pilot.press("escape")
        await wait_until(pilot, lambda: screen.search_text == "" and screen.feed_list.count == 6)

        # o with no browser on the machine copies the link and says so.
        screen.feed_list.focus()
        index = next(
            i
            for i in range(screen.feed_list.count)
            if screen.feed_list.row_at(i).link  # type: ignore[union-attr]
        )
        screen.feed_list.move_to(index)
        link = screen.feed_list.row_at(index).link  # type: ignore[union-attr]
        copied: list[str] = []
        monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
        await pilot.press("o")
        await wait_until(pilot, lambda: copied == [link])


async def test_add_feed_reads_the_title_before_saving(  # type: ignore[no-untyped-def]
    store: Store, server: FeedServer, make_app
) -> None:
    url = server.add("/uusi", body=(FIXTURES / "rss1.xml").read_bytes(), content_type="application/rdf+xml")
    app = make_app(store, demo=False, config=Config())
    async with app.run_test(size=(130, 44)) as pilot:
        await open_feeds(app, pilot)
        await pilot.press("a")
        await wait_until(pilot, lambda: app.screen.query("#addfeed-url"))
        field = app.screen.query_one("#addfeed-url", Input)
        field.value = server.url("/ei-ole")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "HTTP 404" in screen_text(app))
        assert list_feeds(store) == []
        field.value = url
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.query_one("#addfeed-name", Input).value != "")
        title = app.screen.query_one("#addfeed-name", Input).value
        assert title in screen_text(app)
        assert list_feeds(store) == []  # shown, not saved yet
        await pilot.press("enter")
        await wait_until(pilot, lambda: [feed.url for feed in list_feeds(store)] == [url])
        await wait_until(pilot, lambda: sum(feed.items for feed in list_feeds(store)) == 2)
        assert list_feeds(store)[0].name == title

        # space: the unread item under the cursor, then (at the end of a short item) the next unread.
        screen = app.screen
        assert isinstance(screen, FeedsScreen)
        await wait_until(pilot, lambda: screen.feed_list.count == 2 and app.focused is screen.feed_list)
        first, second = screen.feed_list.row_at(0), screen.feed_list.row_at(1)
        assert first is not None and second is not None
        await pilot.press("space")
        await wait_until(
            pilot, lambda: screen.reader.detail is not None and screen.reader.detail.row.id == first.id
        )
        await pilot.press("space")
        await wait_until(pilot, lambda: screen.reader.detail.row.id == second.id)  # type: ignore[union-attr]
        assert screen.feed_list.cursor == 1
        await wait_until(pilot, lambda: all(item.read for item in items(store).values()))


async def test_a_failing_feed_shows_its_error_and_last_success_and_never_stops_the_others(  # type: ignore[no-untyped-def]
    store: Store, server: FeedServer, make_app
) -> None:
    from store.feeds import add_feed, record_fetch

    broken = add_feed(store, "Rikki", server.add("/rikki", status=500, body=b"oops"))
    record_fetch(store, broken.id, at=datetime(2026, 11, 25, 6, 0, tzinfo=UTC), ok=True)
    config = feeds_config(server)
    app = make_app(store, demo=False, config=config)
    async with app.run_test(size=(130, 44)) as pilot:
        await wait_until(pilot, lambda: sum(feed.items for feed in list_feeds(store)) == 5)
        screen = await open_feeds(app, pilot)
        error = _("The server had an error (HTTP {code}). Try again later.").format(code=500)
        await wait_until(pilot, lambda: "! " + error[:20] in screen_text(app))
        text = screen_text(app)
        assert _("last ok {when}").format(when="25.11.") in text
        feed = next(f for f in list_feeds(store) if f.name == "Rikki")
        assert feed.last_error and feed.last_success_at is not None
        # Choosing the feed shows the whole reason above its (empty) list.
        screen.query_one("#feeds-feeds").focus()
        index = next(i for i, f in enumerate(screen.feeds) if f.name == "Rikki") + 4
        screen.query_one("#feeds-feeds").highlighted = index  # type: ignore[attr-defined]
        await wait_until(pilot, lambda: screen.view == f"feed-{feed.id}" and screen.feed_list.count == 0)
        await wait_until(pilot, lambda: error in screen_text(app))  # the whole reason in the title


async def test_an_item_becomes_a_request_with_its_summary_and_link(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    from coordinator_tui.screens.requestpickers import NewRequestPicker
    from store.models import ServiceRequest

    with demo_store.session() as session:
        before = len(session.exec(select(ServiceRequest)).all())
    app = make_app(demo_store)
    async with app.run_test(size=(130, 44)) as pilot:
        screen = await open_feeds(app, pilot)
        await wait_until(pilot, lambda: screen.feed_list.count > 0)
        await pilot.press("f")  # the items passed on are the demo's own, with links
        await wait_until(pilot, lambda: screen.view == "forwarded" and screen.feed_list.count > 0)
        row = screen.feed_list.current_row()
        assert row is not None and row.link
        await pilot.press("C")
        await wait_until(pilot, lambda: isinstance(app.screen, NewRequestPicker))
        await pilot.press("a", "2")  # the first category, priority 2: the request is made
        await wait_until(pilot, lambda: isinstance(app.screen, FeedsScreen))

        def made() -> ServiceRequest | None:
            with demo_store.session() as session:
                rows = session.exec(select(ServiceRequest).order_by(col(ServiceRequest.id))).all()
                return rows[-1] if len(rows) > before else None

        await wait_until(pilot, lambda: made() is not None)
        request = made()
        assert request is not None and request.title == row.title and request.priority == 2
        assert row.link in request.description and row.feed_name in request.description


async def test_ctrl_r_refreshes_every_feed_now(store: Store, server: FeedServer, make_app) -> None:  # type: ignore[no-untyped-def]
    from store.feeds import add_feed

    add_feed(store, "Rikki", server.add("/korjattava", status=500, body=b"oops"))
    app = make_app(store, demo=False, config=feeds_config(server))
    async with app.run_test(size=(130, 44)) as pilot:
        await wait_until(pilot, lambda: sum(feed.items for feed in list_feeds(store)) == 5)
        screen = await open_feeds(app, pilot)
        assert next(f for f in list_feeds(store) if f.name == "Rikki").last_error
        server.add(
            "/korjattava", body=(FIXTURES / "rss1.xml").read_bytes(), content_type="application/rdf+xml"
        )
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: next(f for f in list_feeds(store) if f.name == "Rikki").items == 2)
        assert next(f for f in list_feeds(store) if f.name == "Rikki").last_error == ""
        await wait_until(pilot, lambda: screen.feed_list.count == 7)
        assert server.hits_of("/korjattava") == 2 and server.hits_of("/rss2") == 2
