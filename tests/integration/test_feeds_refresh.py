"""Refreshing feeds against a real HTTP server in the test process: every way a feed can answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coordinator_tui.feeds.fetch import USER_AGENT, FetchLimits, fetch, make_client
from coordinator_tui.feeds.reading import load_item
from coordinator_tui.feeds.refresh import RetryBook, refresh_all
from store.engine import Store, open_store
from store.feeds import add_feed, items_window, list_feeds, unread_counts
from tests.support.dovecot import TlsFiles
from tests.support.feedserver import FeedServer, running_feed_server

FIXTURES = Path(__file__).parents[1] / "fixtures" / "feeds"
RSS2 = (FIXTURES / "rss2.xml").read_bytes()
ATOM = (FIXTURES / "atom.xml").read_bytes()
RSS1 = (FIXTURES / "rss1.xml").read_bytes()
QUICK = FetchLimits(connect=2.0, total=2.0)  # the 20 s of real life, shortened for the slow-server test


@pytest.fixture
def server() -> Iterator[FeedServer]:
    yield from running_feed_server()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    yield opened
    opened.dispose()


def feed_of(store: Store, url_or_name: str):  # type: ignore[no-untyped-def]
    return next(feed for feed in list_feeds(store) if url_or_name in (feed.url, feed.name))


def outcome_of(report, name: str):  # type: ignore[no-untyped-def]
    return next(outcome for outcome in report.feeds if outcome.name == name)


def test_three_formats_are_stored_with_text_links_and_dates(server: FeedServer, store: Store) -> None:
    add_feed(store, "DigiFinland", server.add("/rss2", body=RSS2))
    add_feed(store, "THL", server.add("/atom", body=ATOM, content_type="application/atom+xml"))
    add_feed(store, "Kanta", server.add("/rss1", body=RSS1, content_type="application/rdf+xml"))

    report = refresh_all(store, retry_book=RetryBook())

    assert report.ok
    assert [(o.name, o.status, o.new_items) for o in report.feeds] == [
        ("DigiFinland", "ok", 3),  # four items, one a duplicate GUID
        ("Kanta", "ok", 2),
        ("THL", "ok", 2),
    ]
    assert server.requests[0].headers["user-agent"] == USER_AGENT
    digi = feed_of(store, "DigiFinland")
    assert digi.title == "DigiFinland – uutiset" and digi.unread == 3 and digi.last_error == ""
    items = {item.title: item for item in items_window(store, feed_id=digi.id)}
    first = items["Omaolon oirearvioihin päivityksiä"]
    assert first.link == server.url("/uutiset/omaolo-paivitys")  # relative link resolved
    assert first.published_at.replace(tzinfo=UTC) == datetime(2026, 11, 24, 7, 15, tzinfo=UTC)
    undated = items["Päivämäärätön tiedote"]
    assert undated.published_at.replace(tzinfo=UTC) == digi.last_success_at.replace(tzinfo=UTC)  # first seen
    with store.session() as session:
        from sqlmodel import select

        from store.models import FeedItem

        stored = session.exec(select(FeedItem).where(FeedItem.guid == "df-2026-101")).one()
        words, item_id = stored.content_text, stored.id
    # The store keeps the words for search; the reader lays the HTML out when the item is opened.
    assert "työjonolähetys muuttuu 1.12.2026" in words
    assert "<p>" not in words and "alert" not in words
    assert item_id is not None
    shown = load_item(store, item_id)
    assert shown is not None
    assert "työjonolähetys muuttuu 1.12.2026" in shown.content_text
    assert "<p>" not in shown.content_text and "alert" not in shown.content_text
    # a relative link in the HTML, made absolute
    assert server.url("/ohjeet/tyojono") in shown.content_text
    thl = {item.title: item for item in items_window(store, feed_id=feed_of(store, "THL").id)}
    assert thl["Kanta-palveluiden käyttökatko"].link == "https://thl.example/fi/tiedotteet/kanta-katko"


def test_etag_and_last_modified_give_a_304_that_stores_nothing(server: FeedServer, store: Store) -> None:
    add_feed(store, "E", server.add("/etag", body=RSS2, etag='"v1"'))
    add_feed(store, "L", server.add("/lm", body=ATOM, last_modified="Wed, 25 Nov 2026 10:00:00 GMT"))
    refresh_all(store, retry_book=RetryBook())
    assert feed_of(store, "E").etag == '"v1"'

    report = refresh_all(store, retry_book=RetryBook())

    assert [(o.status, o.new_items) for o in report.feeds] == [("not_modified", 0), ("not_modified", 0)]
    conditional = [seen.headers for seen in server.requests[2:]]
    assert {"if-none-match": '"v1"'}.items() <= next(h for h in conditional if "if-none-match" in h).items()
    assert any(h.get("if-modified-since") == "Wed, 25 Nov 2026 10:00:00 GMT" for h in conditional)
    assert report.ok and feed_of(store, "E").unread == 3


def test_a_redirect_chain_is_followed_and_only_the_permanent_part_remembered(
    server: FeedServer, store: Store
) -> None:
    final = server.add("/final", body=RSS2)
    server.add("/temporary", status=302, redirect_to=final)
    server.add("/moved", status=301, redirect_to="/temporary")  # a relative Location
    add_feed(store, "Moved", server.add("/old", status=308, redirect_to=server.url("/moved")))

    report = refresh_all(store, retry_book=RetryBook())

    outcome = outcome_of(report, "Moved")
    assert outcome.status == "ok" and outcome.new_items == 3
    # 308 then 301 are permanent; the 302 after them is not, so /temporary is the address from now on.
    assert feed_of(store, "Moved").url == server.url("/temporary")
    refresh_all(store, retry_book=RetryBook())
    assert server.hits_of("/old") == 1 and server.hits_of("/temporary") == 2


def test_gzip_is_asked_for_and_unpacked(server: FeedServer, store: Store) -> None:
    add_feed(store, "Z", server.add("/gz", body=ATOM, gzip=True))
    report = refresh_all(store, retry_book=RetryBook())
    assert outcome_of(report, "Z").new_items == 2
    assert "gzip" in server.requests[0].headers["accept-encoding"]


def test_failures_are_recorded_in_words_and_never_stop_the_others(server: FeedServer, store: Store) -> None:
    add_feed(store, "Hyvä", server.add("/good", body=RSS1))
    add_feed(store, "Hidas", server.add("/slow", body=RSS2, trickle=0.2))
    add_feed(store, "Hidas alku", server.add("/slow-start", body=RSS2, delay=3))
    add_feed(store, "Iso", server.add("/big", body=b"<rss>" + b"x" * (5 * 1024 * 1024 + 10), chunked=True))
    add_feed(store, "Iso ilmoitettu", server.add("/big-declared", body=b"y" * (5 * 1024 * 1024 + 1)))
    add_feed(store, "Virhe", server.add("/500", status=500, body=b"oops", content_type="text/plain"))
    add_feed(store, "Poissa", server.url("/missing"))
    add_feed(
        store,
        "Sivu",
        server.add(
            "/page", body=(FIXTURES / "not-a-feed.html").read_bytes(), content_type="text/html; charset=utf-8"
        ),
    )
    broken = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<rss version="2.0"><channel><title>P\xe4\xe4</title></channel></rss>'
    )
    add_feed(store, "Koodaus", server.add("/latin1", body=broken))
    add_feed(store, "Suljettu", "http://127.0.0.1:9/feed")  # nothing listens on the discard port
    add_feed(store, "Ei nimeä", "http://no-such-host.invalid/feed")

    report = refresh_all(store, limits=QUICK, retry_book=RetryBook())

    assert not report.ok
    kinds = {o.name: (o.status, o.kind) for o in report.feeds}
    assert kinds == {
        "Ei nimeä": ("error", "dns"),
        "Hidas": ("error", "timeout"),
        "Hidas alku": ("error", "timeout"),
        "Hyvä": ("ok", ""),
        "Iso": ("error", "too_large"),
        "Iso ilmoitettu": ("error", "too_large"),
        "Koodaus": ("error", "encoding"),
        "Poissa": ("error", "http"),
        "Sivu": ("error", "not_a_feed"),
        "Suljettu": ("error", "refused"),
        "Virhe": ("error", "http"),
    }
    assert outcome_of(report, "Hyvä").new_items == 2
    rows = {feed.name: feed for feed in list_feeds(store)}
    assert "5 Mt" in rows["Iso"].last_error  # the Finnish catalog: "Syöte on suurempi kuin 5 Mt"
    assert "500" in rows["Virhe"].last_error and "404" in rows["Poissa"].last_error
    assert "2 s" in rows["Hidas"].last_error
    assert all(row.last_error for name, row in rows.items() if name != "Hyvä")
    assert rows["Hyvä"].last_success_at is not None and rows["Virhe"].last_success_at is None


def test_a_failure_keeps_the_last_success_and_the_items(server: FeedServer, store: Store) -> None:
    add_feed(store, "Välillä rikki", server.add("/flaky", body=RSS2))
    refresh_all(store, retry_book=RetryBook())
    success = feed_of(store, "Välillä rikki").last_success_at
    server.add("/flaky", status=500, body=b"")

    refresh_all(store, retry_book=RetryBook())

    feed = feed_of(store, "Välillä rikki")
    assert feed.last_success_at == success and "500" in feed.last_error and feed.unread == 3
    server.add("/flaky", body=RSS2)
    refresh_all(store, retry_book=RetryBook())
    assert feed_of(store, "Välillä rikki").last_error == ""


def test_retry_after_is_honoured(server: FeedServer, store: Store) -> None:
    add_feed(store, "Kiireinen", server.add("/busy", status=429, headers={"Retry-After": "120"}))
    add_feed(
        store,
        "Huolto",
        server.add("/maint", status=503, headers={"Retry-After": "Fri, 27 Nov 2099 10:00:00 GMT"}),
    )
    book = RetryBook()

    first = refresh_all(store, retry_book=book)
    second = refresh_all(store, retry_book=book)
    later = refresh_all(store, retry_book=book, now=datetime.now(UTC) + timedelta(seconds=121))

    busy = outcome_of(first, "Kiireinen")
    assert busy.status == "error" and busy.kind == "retry_later" and busy.retry_at is not None
    assert outcome_of(first, "Huolto").retry_at == datetime(2099, 11, 27, 10, tzinfo=UTC)
    assert [o.status for o in second.feeds] == ["skipped", "skipped"]
    assert second.ok  # waiting as asked is not a failure
    assert [(o.name, o.status) for o in later.feeds] == [("Huolto", "skipped"), ("Kiireinen", "error")]
    assert server.hits_of("/busy") == 2 and server.hits_of("/maint") == 1


def test_retry_after_holds_across_processes(server: FeedServer, store: Store) -> None:
    """The wait is kept on the feed in the store: a new RetryBook (a cron run, another app) honours it."""
    add_feed(store, "Kiireinen", server.add("/busy2", status=503, headers={"Retry-After": "3600"}))

    first = refresh_all(store, retry_book=RetryBook())
    other_process = refresh_all(store, retry_book=RetryBook())
    after_the_wait = refresh_all(store, retry_book=RetryBook(), now=datetime.now(UTC) + timedelta(hours=2))

    assert outcome_of(first, "Kiireinen").status == "error"
    assert feed_of(store, "Kiireinen").retry_after_at is not None
    skipped = outcome_of(other_process, "Kiireinen")
    assert skipped.status == "skipped" and skipped.retry_at is not None
    assert outcome_of(after_the_wait, "Kiireinen").status == "error"
    assert server.hits_of("/busy2") == 2


def test_a_bozo_feed_keeps_its_items_with_a_warning(server: FeedServer, store: Store) -> None:
    add_feed(store, "Rikki", server.add("/bozo", body=(FIXTURES / "bozo.xml").read_bytes()))
    report = refresh_all(store, retry_book=RetryBook())
    outcome = outcome_of(report, "Rikki")
    assert outcome.status == "ok" and outcome.new_items == 2 and outcome.warning
    assert report.ok and feed_of(store, "Rikki").warning


def test_reissued_guids_and_rewritten_items_do_not_flood_the_unread_count(
    server: FeedServer, store: Store
) -> None:
    def rss(items: str) -> bytes:
        head = '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title>'
        return f"{head}{items}</channel></rss>".encode()

    dated = "<pubDate>Tue, 24 Nov 2026 09:15:00 GMT</pubDate>"
    url = server.add(
        "/reissue",
        body=rss(
            f"<item><title>Yksi</title><guid>a-1</guid><link>https://e.example/1</link>{dated}</item>"
            f"<item><title>Kaksi</title><guid>a-2</guid><link>https://e.example/2</link>{dated}</item>"
            "<item><title>Kolme ilman linkkiä</title></item>"
        ),
    )
    add_feed(store, "Uudelleen", url)
    refresh_all(store, retry_book=RetryBook())
    feed_id = feed_of(store, "Uudelleen").id
    assert unread_counts(store) == {feed_id: 3}
    # New GUIDs every time, links the same; new GUID and link but the same title and date; same text again.
    server.add(
        "/reissue",
        body=rss(
            f"<item><title>Yksi</title><guid>b-1</guid><link>https://e.example/1</link>{dated}</item>"
            f"<item><title>Kaksi</title><guid>b-2</guid><link>https://e.example/2?utm=x</link>{dated}</item>"
            "<item><title>Kolme ilman linkkiä</title></item>"
            "<item><title>Neljä</title><guid>b-4</guid></item>"
        ),
    )
    report = refresh_all(store, retry_book=RetryBook())
    assert outcome_of(report, "Uudelleen").new_items == 1
    assert unread_counts(store) == {feed_id: 4}


def test_tls_is_verified(tls_files: TlsFiles, store: Store) -> None:
    for https in running_feed_server(tls=(tls_files.cert_file, tls_files.key_file)):
        add_feed(store, "Itse allekirjoitettu", https.add("/feed", body=RSS2))
        report = refresh_all(store, retry_book=RetryBook())
        assert [(o.status, o.kind) for o in report.feeds] == [("error", "tls")]
        trusted = refresh_all(store, retry_book=RetryBook(), verify=tls_files.client_context())
        assert [(o.status, o.new_items) for o in trusted.feeds] == [("ok", 3)]


def test_fetch_sends_the_validators_it_is_given(server: FeedServer) -> None:
    url = server.add("/v", body=RSS1, etag='"x"', last_modified="Mon, 23 Nov 2026 10:00:00 GMT")
    with make_client(QUICK) as client:
        fresh = fetch(client, url, limits=QUICK)
        again = fetch(client, url, etag=fresh.etag, last_modified=fresh.last_modified, limits=QUICK)
    assert fresh.status == "ok" and fresh.body == RSS1
    assert again.status == "not_modified" and again.body == b"" and again.etag == '"x"'
