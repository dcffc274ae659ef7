"""A fetched feed's bytes → plain items: readable text, absolute links, UTC dates, de-duplication keys."""

from __future__ import annotations

import calendar
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html import unescape
from typing import Any
from urllib.parse import urljoin

from coordinator_tui.i18n import Language, _, set_language
from coordinator_tui.textclean import clean_line, clean_text
from store.feedkeys import title_date_key

log = logging.getLogger(__name__)

TITLE_LIMIT = 500
LINK_LIMIT = 2000  # characters of an item's link kept
TEXT_LIMIT = 100_000  # the readable text of one item, capped like a mail body
HTML_LIMIT = 512 * 1024  # characters of an item's HTML kept for the reader
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[A-Za-z/!?][^>]*>")
# Inline tags join what they surround ("<b>ohje</b>." stays "ohje."); any other tag separates words.
_INLINE_TAG = re.compile(
    r"</?(?:a|abbr|b|cite|code|em|font|i|mark|s|small|span|strong|sub|sup|u)\b[^>]*>", re.I
)
_BLANK_LINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_CHARSET = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9._-]+)", re.IGNORECASE)


class NotAFeed(Exception):
    """The bytes are not a feed (e.g. an HTML page) or cannot be decoded; ``str()`` says so in words."""

    def __init__(self, kind: str, words: str) -> None:
        super().__init__(words)
        self.kind = kind


@dataclass(frozen=True)
class ParsedItem:
    dedup_key: str
    guid: str
    link: str
    title: str
    summary: str
    content_text: str  # the words of the item (readable text, or for HTML the words for search)
    published_at: datetime | None  # None = the feed gave no date; the store uses first-seen
    title_date_key: str  # the hash of title+date, the last resort of de-duplication
    # The item's HTML with absolute links, rendered by readable_html() when the item is read: laying
    # out every item's HTML at fetch time was two thirds of a cold refresh's parsing.
    content_html: str = ""


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    link: str
    items: list[ParsedItem]
    warning: str = ""  # set when the XML was ill-formed but items could still be read


def declared_utf8_but_invalid(body: bytes, headers: Mapping[str, str]) -> bool:
    """True when HTTP or the XML declaration says UTF-8 and the bytes are not UTF-8."""
    declared = ""
    match = _CHARSET.search(headers.get("content-type", ""))
    if match:
        declared = match.group(1)
    else:
        xml = _XML_ENCODING.match(body[:200])
        declared = xml.group(1).decode("ascii") if xml else "utf-8"  # XML's default is UTF-8
    if declared.lower().replace("_", "-") not in ("utf-8", "utf8"):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def parse_feed(
    body: bytes, *, url: str, headers: Mapping[str, str] | None = None, fast: bool = True
) -> ParsedFeed:
    """Parse with feedparser from the bytes and the response headers; raise NotAFeed when it is none.

    ``fast``: a plain UTF-8 RSS 2.0 document is read by :mod:`coordinator_tui.feeds.fastrss` into
    the same entries feedparser would give, in a tenth of its time; anything else by feedparser.
    """
    headers = {key.lower(): value for key, value in (headers or {}).items()}
    if declared_utf8_but_invalid(body, headers):
        raise NotAFeed(
            "encoding",
            _("The feed says it is UTF-8 but contains bytes that are not; it was not read."),
        )
    plain = None
    if fast:
        from coordinator_tui.feeds.fastrss import parse_plain_rss

        plain = parse_plain_rss(body, headers)
    if plain is not None:
        feed, entries = plain
        warning = ""
    else:
        feed, entries, warning = _feedparser(body, url, headers)
    base = feed.get("link") or url
    items: list[ParsedItem] = []
    seen: set[str] = set()
    for entry in entries:
        item = _item(entry, url, base)
        if item.dedup_key in seen:
            continue  # the same GUID twice in one document: the first one counts
        seen.add(item.dedup_key)
        items.append(item)
    title = clean_line(feed.get("title", ""), TITLE_LIMIT)
    return ParsedFeed(
        title=title, link=_absolute(url, str(feed.get("link", "") or "")), items=items, warning=warning
    )


def _feedparser(body: bytes, url: str, headers: dict[str, str]) -> tuple[Any, list[Any], str]:
    from coordinator_tui.feeds.fastrss import load_feedparser

    feedparser = load_feedparser()

    # No Content-Location: given the document's address, feedparser resolves a base URI at every
    # start tag (a third of its time). Relative links are resolved here instead, against the
    # element's xml:base (which feedparser still applies) or else the document's address.
    headers.pop("content-location", None)
    # feedparser's own resolving re-parses every item's HTML (a third of its time); links in the HTML
    # are made absolute below, on the way to text, against the item's base instead.
    parsed = feedparser.parse(
        body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    if not parsed.get("version") and not parsed.entries:
        raise NotAFeed("not_a_feed", _("The address gives a web page or other content, not a feed."))
    warning = ""
    exception = parsed.get("bozo_exception")
    # A missing or odd Content-Type, or a charset the document overrides, is no fault of the XML.
    benign = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
    if parsed.get("bozo") and not isinstance(exception, benign):
        # Logged by type only: the message can quote the feed's own (untrusted) text.
        log.info("feed %s is ill-formed: %s", url[:200], type(exception).__name__)
        warning = _("The feed is not well-formed XML; the items that could be read are shown.")
    return parsed.feed, list(parsed.entries), warning


def _item(entry: Any, url: str, base: str) -> ParsedItem:
    link = _absolute(url, str(entry.get("link", "") or "").strip())
    guid = clean_line(entry.get("id", "") or "", 1000)
    raw_title = str(entry.get("title", "") or "")
    if (entry.get("title_detail") or {}).get("type") in ("text/html", "application/xhtml+xml"):
        raw_title = _html_to_text(raw_title)
    title = clean_line(raw_title, TITLE_LIMIT)
    summary_html = entry.get("summary", "") or ""
    content_html = ""
    for content in entry.get("content", []) or []:
        content_html = content.get("value", "") or ""
        if content_html:
            break
    # Relative links in the HTML resolve against its xml:base or else the feed's own address.
    content_base = summary_base = url
    for detail in entry.get("content", []) or []:
        if detail.get("value") == content_html and detail.get("base"):
            content_base = _absolute(url, str(detail["base"])) or url
            break
    if (entry.get("summary_detail") or {}).get("base"):
        summary_base = _absolute(url, str(entry["summary_detail"]["base"])) or url
    summary = _readable(summary_html, summary_base)
    stored_html = ""
    if not content_html:
        content_text = summary
    elif _is_markup(content_html):
        stored_html = _absolute_links(content_html, content_base)[:HTML_LIMIT]
        content_text = words_of_html(stored_html)
    else:
        content_text = _readable(content_html, content_base)
    published = _date(entry)
    hash_key = title_date_key(title, published)
    if guid:
        dedup_key = "guid:" + guid
    elif link:
        dedup_key = "link:" + link
    else:
        dedup_key = hash_key
    return ParsedItem(
        dedup_key=dedup_key,
        guid=guid,
        link=link,
        title=title,
        summary=summary[:2000],
        content_text=content_text,
        published_at=published,
        title_date_key=hash_key,
        content_html=stored_html,
    )


def _date(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


_HREF = re.compile(r"""(<a\s[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def _absolute(base: str, link: str) -> str:
    """``link`` made absolute against ``base``, as one clean line; "" for what is no address at all
    (a link with spaces or control characters, or one urljoin cannot read, e.g. ``https://[x]/``)."""
    if not link:
        return ""
    try:
        joined = urljoin(base, link)
    except ValueError:  # a bracketed host that is no IP address: one bad link must not sink the feed
        return ""
    if clean_line(joined, LINK_LIMIT) != joined or any(character.isspace() for character in joined):
        return ""  # terminal escapes or bidi controls in an address are never shown or opened
    return joined


def _absolute_links(html: str, base: str) -> str:
    if "href" not in html:
        return html

    def absolute(match: re.Match[str]) -> str:
        href = match.group(3).strip()
        if not href.startswith(("http://", "https://", "mailto:")):  # most links are absolute already
            href = _absolute(base, href) or href
        return f"{match.group(1)}{match.group(2)}{href}{match.group(2)}"

    return _HREF.sub(absolute, html)


def _readable(html: str, base: str) -> str:
    return readable_html(_absolute_links(html, base))


def readable_html(html: str) -> str:
    """An item's HTML (links already absolute) as the reader shows it: the mail's converter."""
    return clean_text(_html_to_text(html))[:TEXT_LIMIT]


def _is_markup(text: str) -> bool:
    return "<" in text or "&" in text


def words_of_html(html: str) -> str:
    """The words of an HTML fragment, quickly, for search: tags and scripts dropped, entities
    decoded, whitespace collapsed. What the reader shows comes from :func:`readable_html`."""
    text = _TAG.sub(" ", _INLINE_TAG.sub("", _SCRIPT.sub(" ", html)))
    return clean_text(" ".join(unescape(text).split()))[:TEXT_LIMIT]


def _html_to_text(html: str) -> str:
    """The same converter as mail (inscriptis); plain text passes through unchanged."""
    if not html.strip():
        return ""
    if not _is_markup(html):
        return html.strip()
    try:
        from inscriptis import get_text
        from inscriptis.model.config import ParserConfig

        text = get_text(html, ParserConfig(display_links=True))
    except Exception as error:  # lxml or a tree too deep for the renderer
        log.info("feed item HTML could not be laid out: %s", type(error).__name__)
        text = re.sub(r"<[^>]+>", " ", html)
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


# Run in the refresh's parser processes: this module imports only what parsing needs, so a spawned
# process is ready in a fraction of a second (no SQL, no HTTP client).


def warm_parser(language: Language) -> None:
    """Import what parsing needs (before the first feed arrives, and before threads race to it)."""
    from coordinator_tui.feeds.fastrss import load_feedparser

    set_language(language)
    load_feedparser()
    from inscriptis import get_text
    from lxml import etree  # noqa: F401

    get_text("<p>x</p>")


def parse_elsewhere(body: bytes, url: str, headers: dict[str, str], language: Language) -> ParsedFeed:
    set_language(language)
    return parse_feed(body, url=url, headers=headers)
