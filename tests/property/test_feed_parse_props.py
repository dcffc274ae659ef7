"""Feed parsing: a damaged document gives items or NotAFeed, and every text is displayable (issue 9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator_tui.feeds.parse import NotAFeed, ParsedFeed, parse_feed, readable_html
from tests.property.displayable import assert_block, assert_line
from tests.property.mutate import mutated
from tests.support.hostile import CATALOGUE, encodable

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "feeds").glob("*.xml"))
SEEDS = [path.read_bytes() for path in FIXTURES]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
URL = "https://feeds.example.fi/feed.xml"


def assert_displayable(feed: ParsedFeed) -> None:
    assert_line(feed.title, "title")
    assert_line(feed.warning, "warning")
    for item in feed.items:
        assert_line(item.title, "item.title")
        assert_line(item.guid, "item.guid")
        assert_line(item.dedup_key, "item.dedup_key")
        assert_line(item.link, "item.link")
        assert_block(item.summary, "item.summary")
        assert_block(item.content_text, "item.content_text")
        assert_block(readable_html(item.content_html), "the item as the reader shows it")


def parse_both(data: bytes, headers: dict[str, str] | None = None) -> None:
    for fast in (True, False):
        try:
            feed = parse_feed(data, url=URL, headers=headers, fast=fast)
        except NotAFeed as error:
            assert str(error)
            continue
        assert_displayable(feed)


def test_the_seeds_are_feeds() -> None:
    assert len(SEEDS) >= 4
    for seed in SEEDS:
        feed = parse_feed(seed, url=URL)
        assert feed.items
        assert_displayable(feed)


@SETTINGS
@given(mutated(SEEDS), st.sampled_from([None, {"Content-Type": "application/rss+xml; charset=utf-8"}]))
def test_mutated_documents(data: bytes, headers: dict[str, str] | None) -> None:
    parse_both(data, headers)


@SETTINGS
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data: bytes) -> None:
    parse_both(data)


def rss(title: str, item_title: str, text: str, link: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://example.fi/</link>"
        f"<item><title>{item_title}</title><link>{link}</link><guid>{item_title}</guid>"
        f"<description>{text}</description></item></channel></rss>"
    ).encode("utf-8", "replace")


def atom(title: str, item_title: str, text: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{title}</title><id>urn:x</id><updated>2026-11-01T00:00:00Z</updated>"
        f'<entry><title type="html">{item_title}</title><id>urn:y</id>'
        "<updated>2026-11-01T00:00:00Z</updated>"
        f'<content type="html">{text}</content></entry></feed>'
    ).encode("utf-8", "replace")


def xml_escaped(text: str, how: str) -> str:
    text = encodable(text)
    if how == "charref":  # every character as a numeric reference, controls included
        return "".join(f"&#{ord(char)};" for char in text[:400])
    if how == "cdata":
        return "<![CDATA[" + text.replace("]]>", "") + "]]>"
    return text.replace("&", "&amp;").replace("<", "&lt;")


@SETTINGS
@given(
    st.sampled_from(CATALOGUE),
    st.sampled_from(["raw", "charref", "cdata"]),
    st.sampled_from(["rss", "atom"]),
)
def test_hostile_text_in_every_field(hostile, how: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    text = xml_escaped(hostile.text, how)
    data = rss(text, text, text, text) if kind == "rss" else atom(text, text, text)
    parse_both(data)


@pytest.mark.parametrize("fast", [True, False])
def test_a_bracketed_link_does_not_sink_the_feed(fast: bool) -> None:
    data = rss("Syöte", "Kohde", '&lt;a href="https://[y]/"&gt;b&lt;/a&gt;', "https://[@click=app.quit]x/")
    feed = parse_feed(data, url=URL, fast=fast)
    assert [item.title for item in feed.items] == ["Kohde"]


@pytest.mark.parametrize("fast", [True, False])
def test_an_item_link_is_stored_clean(fast: bool) -> None:
    hostile = "\x1b]8;;https://evil.example\x1b\\x\x1b[31m\u202e"
    data = rss("Syöte", "Kohde", "teksti", "https://example.fi/a" + hostile)
    feed = parse_feed(data, url=URL, fast=fast)
    for item in feed.items:
        assert_line(item.link, "item.link")
