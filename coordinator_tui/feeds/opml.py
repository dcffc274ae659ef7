"""OPML 2.0 import and export of the followed feeds (the format every feed reader speaks)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from coordinator_tui import APP_NAME
from coordinator_tui.i18n import _
from coordinator_tui.textclean import clean_line

MAX_OPML_BYTES = 5 * 1024 * 1024


class OpmlError(Exception):
    """The file is not OPML we can read; ``str()`` says why in words."""


@dataclass(frozen=True)
class OpmlFeed:
    name: str
    url: str


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """Every outline with an http(s) ``xmlUrl``, nested folders flattened, duplicates dropped."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(_("The OPML file is larger than 5 MB."))
    _refuse_dtd(data)
    try:
        root = ET.fromstring(data)  # noqa: S314 - DTDs and entities are refused above; expat fetches nothing
    except ET.ParseError as error:
        raise OpmlError(_("The file is not well-formed XML ({reason}).").format(reason=error)) from None
    if root.tag != "opml":
        raise OpmlError(_("The file is not OPML (its root element is not <opml>)."))
    feeds: list[OpmlFeed] = []
    seen: set[str] = set()
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if not url.startswith(("http://", "https://")) or url in seen:
            continue
        if clean_line(url, 2000) != url or any(character.isspace() for character in url):
            continue  # control characters or spaces: not an address to store or fetch
        seen.add(url)
        name = clean_line(outline.get("text") or outline.get("title") or url, 200)
        feeds.append(OpmlFeed(name=name, url=url))
    return feeds


def _refuse_dtd(data: bytes) -> None:
    """No DTDs: entity expansion is how XML files attack their readers. Expat reads the document
    in whatever encoding it declares (a byte search would miss a UTF-16 DOCTYPE) and stops at the
    first DTD or entity declaration."""
    from xml.parsers import expat

    refused = OpmlError(_("The OPML file declares a DTD or entities, which are not accepted."))

    def refuse(*_args: object) -> None:
        raise refused

    checker = expat.ParserCreate()
    checker.StartDoctypeDeclHandler = refuse
    checker.EntityDeclHandler = refuse
    try:
        checker.Parse(data, True)
    except expat.ExpatError as error:
        raise OpmlError(_("The file is not well-formed XML ({reason}).").format(reason=error)) from None


class OpmlExportBlocked(Exception):
    """A feed's name or address carries a personal identity code; nothing is written."""

    def __init__(self, number: int) -> None:
        self.number = number
        super().__init__(
            _(
                "Feed {number} of the export contains a Finnish personal identity code in its name or "
                "address; nothing was exported. Rename or remove the feed and export again."
            ).format(number=number)
        )


def build_opml(feeds: list[OpmlFeed], *, title: str = "", now: datetime | None = None) -> bytes:
    """The OPML document; raises :class:`OpmlExportBlocked` before anything is built when a feed
    carries a henkilötunnus (an export leaves the machine like a mail does)."""
    from coordinator_tui.hetu import contains_hetu

    for number, feed in enumerate(feeds, start=1):
        if contains_hetu(feed.name) or contains_hetu(feed.url):
            raise OpmlExportBlocked(number)
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title or f"{APP_NAME} feeds"
    ET.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(UTC), usegmt=True)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        ET.SubElement(body, "outline", type="rss", text=feed.name, title=feed.name, xmlUrl=feed.url)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
