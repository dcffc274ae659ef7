"""Feed bytes → items: three formats, readable text, absolute links, UTC dates, de-duplication keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coordinator_tui.feeds.fetch import retry_after
from coordinator_tui.feeds.parse import NotAFeed, declared_utf8_but_invalid, parse_feed

FIXTURES = Path(__file__).parents[1] / "fixtures" / "feeds"
BASE = "https://syote.example/uutiset/feed.xml"


def parsed(name: str, **headers: str):  # type: ignore[no-untyped-def]
    return parse_feed((FIXTURES / name).read_bytes(), url=BASE, headers=headers)


def test_rss2_items_with_html_as_text_and_a_duplicate_guid_dropped() -> None:
    feed = parsed("rss2.xml", **{"Content-Type": "application/rss+xml"})
    assert feed.title == "DigiFinland – uutiset" and feed.warning == ""
    assert [item.dedup_key for item in feed.items] == [
        "guid:df-2026-101",
        "guid:df-2026-102",
        "link:https://www.digifinland.example/uutiset/ilman-paivaa",
    ]
    first = feed.items[0]
    assert first.link == "https://syote.example/uutiset/omaolo-paivitys"
    assert first.published_at == datetime(2026, 11, 24, 7, 15, tzinfo=UTC)
    assert first.content_text.startswith("Hyvä vastuukäyttäjä,\n\nOmaolon oirearvioiden työjonolähetys")
    assert "https://syote.example/ohjeet/tyojono" in first.content_text
    assert "<" not in first.content_text and "alert" not in first.content_text
    assert first.summary == "Lyhyesti: työjonolähetys muuttuu."
    assert feed.items[2].published_at is None  # the store falls back to first-seen


def test_atom_with_xml_base_and_an_html_title() -> None:
    feed = parsed("atom.xml")
    katko, rokotus = feed.items
    assert katko.title == "Kanta-palveluiden käyttökatko"
    assert katko.link == "https://thl.example/fi/tiedotteet/kanta-katko"
    assert katko.published_at == datetime(2026, 11, 25, 8, tzinfo=UTC)
    assert "[Kanta-palveluita](https://thl.example/ohjeet/kanta)" in katko.content_text
    assert rokotus.published_at == datetime(2026, 11, 20, 8, tzinfo=UTC)  # published, not updated


def test_rss1_with_dublin_core_dates_and_finnish_letters() -> None:
    feed = parsed("rss1.xml")
    assert feed.title == "Kanta ajankohtaista"
    assert feed.items[0].summary == "Muutoksia ääkkösillä: åäö ÅÄÖ."
    assert feed.items[0].published_at == datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
    assert feed.items[1].published_at is None


def test_ill_formed_xml_keeps_its_items_and_warns() -> None:
    feed = parsed("bozo.xml")
    assert [item.title for item in feed.items] == ["Ensimmäinen", "Toinen"]
    assert feed.warning


def test_an_html_page_is_not_a_feed() -> None:
    with pytest.raises(NotAFeed) as caught:
        parsed("not-a-feed.html", **{"content-type": "text/html"})
    assert caught.value.kind == "not_a_feed"


def test_invalid_utf8_declared_utf8_is_refused() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?>'
        b'<rss version="2.0"><channel><title>\xe4</title></channel></rss>'
    )
    with pytest.raises(NotAFeed) as caught:
        parse_feed(body, url=BASE)
    assert caught.value.kind == "encoding"
    latin = body.replace(b"utf-8", b"iso-8859-1")
    assert not declared_utf8_but_invalid(latin, {})
    assert declared_utf8_but_invalid(latin, {"content-type": "application/xml; charset=UTF-8"})
    assert parse_feed(latin, url=BASE).title == "ä"


def test_hostile_text_is_cleaned() -> None:
    body = (
        '<rss version="2.0"><channel><title>Syöte\x1b[31m</title>'
        "<item><title>A\u202eB [@click=app.quit]</title>"
        "<guid>x</guid><description>teksti\x07</description></item></channel></rss>"
    ).encode()
    item = parse_feed(body, url=BASE).items[0]
    assert item.title == "AB [@click=app.quit]"  # kept as text; never markup, shown through safe.plain
    assert "\x07" not in item.summary


def test_the_same_title_and_date_give_the_same_hash_key() -> None:
    one = parse_feed(b'<rss version="2.0"><channel><item><title>X</title></item></channel></rss>', url=BASE)
    two = parse_feed(b'<rss version="2.0"><channel><item><title>X</title></item></channel></rss>', url=BASE)
    assert one.items[0].dedup_key == two.items[0].dedup_key == one.items[0].title_date_key
    assert one.items[0].dedup_key.startswith("hash:")


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    assert retry_after("120", now) == now + timedelta(seconds=120)
    assert retry_after("Thu, 26 Nov 2026 13:00:00 GMT", now) == datetime(2026, 11, 26, 13, tzinfo=UTC)
    assert retry_after("Thu, 26 Nov 2026 11:00:00 GMT", now) == now  # in the past: now
    assert retry_after("soon", now) is None and retry_after(None, now) is None
