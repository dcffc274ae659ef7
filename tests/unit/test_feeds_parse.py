"""Feed bytes → items: three formats, readable text, absolute links, UTC dates, de-duplication keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coordinator_tui.feeds.fetch import retry_after
from coordinator_tui.feeds.parse import NotAFeed, declared_utf8_but_invalid, parse_feed, readable_html

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
    # The HTML is kept (links absolute) and laid out when read; the stored text is its words.
    shown = readable_html(first.content_html)
    assert shown.startswith("Hyvä vastuukäyttäjä,\n\nOmaolon oirearvioiden työjonolähetys")
    assert "https://syote.example/ohjeet/tyojono" in shown
    assert "<" not in shown and "alert" not in shown
    assert (
        first.content_text
        == "Hyvä vastuukäyttäjä, Omaolon oirearvioiden työjonolähetys muuttuu 1.12.2026. Lue ohje."
    )
    assert first.summary == "Lyhyesti: työjonolähetys muuttuu."
    assert feed.items[2].published_at is None  # the store falls back to first-seen


def test_atom_with_xml_base_and_an_html_title() -> None:
    feed = parsed("atom.xml")
    katko, rokotus = feed.items
    assert katko.title == "Kanta-palveluiden käyttökatko"
    assert katko.link == "https://thl.example/fi/tiedotteet/kanta-katko"
    assert katko.published_at == datetime(2026, 11, 25, 8, tzinfo=UTC)
    assert "[Kanta-palveluita](https://thl.example/ohjeet/kanta)" in readable_html(katko.content_html)
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


# --- the RSS 2.0 fast path gives what feedparser gives ------------------------------------------------

_RSS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">'
    "<channel><title> Kanta &amp; Omaolo </title><link>https://hva.example/?a=1&amp;b=2</link>"
    '<atom:link href="https://hva.example/feed" rel="self" type="application/rss+xml"/>'
    "<image><title>Logo</title><link>https://hva.example/logo</link></image>"
)
PLAIN_ITEMS = [
    # entities, CDATA and an HTML-looking title
    "<item><title>&lt;b&gt;Tärkeä&lt;/b&gt; tiedote &amp; ohje</title><link>/a?x=1&amp;y=2</link>"
    "<guid isPermaLink='false'> id-1 </guid><pubDate>Tue, 24 Nov 2026 09:15:00 +0200</pubDate>"
    "<description><![CDATA[<p>Lyhyt <a href='ohje'>ohje</a></p>]]></description>"
    "<content:encoded><![CDATA[<p>Pitkä <b>teksti</b>.</p>]]></content:encoded></item>",
    # no link: a permalink guid is the link; an unreadable date
    "<item><title>Ilman linkkiä</title><guid>https:///hva.example/uutiset/2</guid>"
    "<pubDate>ei päivää</pubDate><description>Teksti</description></item>",
    # a guid that is not a permalink, no link, no date, content only
    "<item><title>Vain sisältö</title><guid isPermaLink='false'>id-3</guid>"
    "<content:encoded>&lt;p&gt;Sisältö&lt;/p&gt;</content:encoded></item>",
    # content before the description, the things we do not read, mojibake and cp1252 repairs
    "<item><content:encoded>&lt;p&gt;Ensin sisältö&lt;/p&gt;</content:encoded>"
    "<description>Sitten kuvaus Ã¤ &#x96; loppu</description><title></title>"
    "<category domain='x'>Omaolo</category><dc:creator>DigiFinland</dc:creator><author>a@b.example</author>"
    "<comments>/kommentit</comments>"
    "<enclosure url='https://hva.example/a.pdf' length='1' type='application/pdf'/>"
    "<link>https://hva.example/4</link></item>",
    # a title with an entity only, and duplicate guids
    "<item><title>Päivitys &#8211; versio 2.1</title><guid isPermaLink='false'>id-1</guid></item>",
]


def _fast_and_slow(body: bytes, **headers: str):  # type: ignore[no-untyped-def]
    from coordinator_tui.feeds.fastrss import parse_plain_rss

    slow = parse_feed(body, url=BASE, headers=headers, fast=False)
    fast = parse_feed(body, url=BASE, headers=headers, fast=True)
    return parse_plain_rss(body, {k.lower(): v for k, v in headers.items()}) is not None, slow, fast


@pytest.mark.parametrize("index", range(len(PLAIN_ITEMS)))
def test_the_rss_fast_path_gives_what_feedparser_gives(index: int) -> None:
    body = (_RSS_HEAD + PLAIN_ITEMS[index] + "</channel></rss>").encode()
    used, slow, fast = _fast_and_slow(body, **{"Content-Type": "application/rss+xml; charset=utf-8"})
    assert used
    assert fast == slow


WORDPRESS = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
 xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:wfw="http://wellformedweb.org/CommentAPI/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom"
 xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel>
  <title>Hyvinvointialue &#8211; Ajankohtaista</title>
  <atom:link href="https://hva.example/feed/" rel="self" type="application/rss+xml" />
  <link>https://hva.example</link>
  <description>Uutisia</description>
  <lastBuildDate>Wed, 25 Nov 2026 10:00:00 +0000</lastBuildDate>
  <language>fi</language>
  <sy:updatePeriod>hourly</sy:updatePeriod>
  <generator>https://wordpress.org/?v=6.6</generator>
  <image><url>https://hva.example/logo.png</url><title>HVA</title><link>https://hva.example</link></image>
  <item>
    <title>Omaolo-palvelun käyttökatko 3.12.</title>
    <link>https://hva.example/2026/11/katko/</link>
    <comments>https://hva.example/2026/11/katko/#respond</comments>
    <dc:creator><![CDATA[Viestintä]]></dc:creator>
    <pubDate>Wed, 25 Nov 2026 08:30:00 +0000</pubDate>
    <category><![CDATA[Tiedotteet]]></category>
    <guid isPermaLink="false">https://hva.example/?p=123</guid>
    <description><![CDATA[<p>Omaolo ei ole käytettävissä [&#8230;]</p>]]></description>
    <content:encoded><![CDATA[<p>Omaolo ei ole käytettävissä.</p><ul><li>1</li></ul>]]></content:encoded>
    <wfw:commentRss>https://hva.example/2026/11/katko/feed/</wfw:commentRss>
    <slash:comments>0</slash:comments>
  </item>
</channel></rss>""".encode()


def test_the_fast_path_reads_all_plain_items_together_and_the_fixture_alike() -> None:
    body = (_RSS_HEAD + "".join(PLAIN_ITEMS) + "</channel></rss>").encode()
    used, slow, fast = _fast_and_slow(body)
    assert used and fast == slow and len(fast.items) == 4  # the second id-1 is a duplicate
    used, slow, fast = _fast_and_slow((FIXTURES / "rss2.xml").read_bytes())
    assert used and fast == slow
    used, slow, fast = _fast_and_slow(WORDPRESS, **{"Content-Type": "application/rss+xml; charset=UTF-8"})
    assert used and fast == slow and fast.items[0].title == "Omaolo-palvelun käyttökatko 3.12."


@pytest.mark.parametrize(
    "body",
    [
        (FIXTURES / "atom.xml").read_bytes(),
        (FIXTURES / "rss1.xml").read_bytes(),
        (FIXTURES / "bozo.xml").read_bytes(),
        # an element feedparser reads and the fast path does not know
        (
            _RSS_HEAD
            + "<item><title>T</title><source url='https://x.example/'>X</source></item></channel></rss>"
        ).encode(),
        # markup inside a text element, xml:base, another encoding, a DOCTYPE
        (_RSS_HEAD + "<item><description><p>XHTML</p></description></item></channel></rss>").encode(),
        (_RSS_HEAD + "<item xml:base='https://b.example/'><link>x</link></item></channel></rss>").encode(),
        _RSS_HEAD.replace("UTF-8", "ISO-8859-1").encode("latin-1")
        + b"<item><title>\xe4</title></item></channel></rss>",
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "x">]>'
        b'<rss version="2.0"><channel><title>&e;</title></channel></rss>',
    ],
    ids=["atom", "rss1", "bozo", "source", "markup", "xml-base", "latin-1", "doctype"],
)
def test_anything_else_is_left_to_feedparser_with_the_same_result(body: bytes) -> None:
    used, slow, fast = _fast_and_slow(body)
    assert not used
    assert fast == slow
