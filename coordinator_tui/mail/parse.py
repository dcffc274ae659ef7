"""Raw mail (RFC 5322 bytes) into a plain, display-safe record for the store; never raises.

Why ``compat32`` and not ``policy.default``: the structure is parsed by the standard library's
feed parser either way, but ``policy.default`` parses every header through its header registry
on each access. That is 10-12x slower on everyday mail (7 ms against 0.6 ms for a 5 KB Outlook
message: minutes over a 20,000 message sync), quadratic on long address lists and parameter lists
(a 100 KB Content-Type takes seconds), and raises from ``str()`` on some group and malformed
addresses. So the parser runs with a ``compat32`` policy that cuts header values to a sane length
before anything reads them and decodes raw 8-bit header bytes (utf-8, else windows-1252), and
this module decodes headers itself: RFC 2047 words in any charset (adjacent words of one charset
joined before decoding, as Outlook splits characters across them), addresses with
``email.utils.getaddresses``, dates with ``parsedate_tz``, charsets with a fallback that never fails.

Every text field of the result has been through ``textclean``: no terminal escapes, no control
characters but newline (in the body), no bidi overrides. Markup-like text (``[@click=...]``)
stays literal text; screens must still show it as plain text.
"""

from __future__ import annotations

import binascii
import codecs
import contextlib
import functools
import inspect
import logging
import re
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from email.message import Message
from email.parser import BytesParser
from email.policy import Compat32
from email.utils import getaddresses, parsedate_tz
from html.parser import HTMLParser
from typing import Any, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from coordinator_tui.textclean import clean_line, clean_text
from coordinator_tui.timefmt import HELSINKI

log = logging.getLogger(__name__)

TEXT_LIMIT = 256 * 1024
# Longer header values are cut before anything reads them: nothing real comes near, and the
# standard library's header and parameter parsing slows down quadratically past it.
HEADER_LIMIT = 32 * 1024
MIME_HEADER_LIMIT = 4 * 1024  # Content-*: the longest real one is an RFC 2231 file name (~2.3 KB)
MAX_DEPTH = 32  # nested multiparts and forwarded messages
# Deeper multipart nesting is not parsed at all: the standard library's parser checks every line
# against the boundary of each open multipart (900 levels and 60,000 lines: 18 s for one 240 KB
# message), and recurses once per level. No real mail nests more than a few levels.
MAX_NESTING = 2 * MAX_DEPTH
MAX_PARTS = 500
MAX_ADDRESSES = 1000
MAX_REFERENCES = 200
HTML_LIMIT = 512 * 1024  # characters of HTML laid out (~0.7 s); Gmail clips at 102 KB
CALENDAR_LIMIT = 256 * 1024
SOURCE_LIMIT = 1024 * 1024
SNIPPET_LENGTH = 100
NOTE_LIMIT = 400
CUT_MARK = "\n…"
FORWARD_RULE = "---------- Forwarded message ----------"


class Address(NamedTuple):
    """One mailbox: ``name`` may be "" (only an address), ``addr`` may be "" (an unparseable header)."""

    name: str
    addr: str

    @property
    def display(self) -> str:
        """``Name <addr>``, or whichever of the two there is."""
        if self.name and self.addr:
            return f"{self.name} <{self.addr}>"
        return self.name or self.addr


class Attachment(NamedTuple):
    """A part to list: ``part`` is its IMAP body section (``"2"``, ``"1.2"``) for fetching it later."""

    part: str
    filename: str
    content_type: str
    size: int  # decoded bytes (estimated from base64 without decoding; approximate for a message)


@dataclass(frozen=True, slots=True)
class CalendarInvite:
    """The first event of a text/calendar part: what, when, where.

    ``start``/``end`` are aware UTC datetimes, or dates for all-day events; floating times and
    unknown time zones are read as Europe/Helsinki.
    """

    what: str
    start: datetime | date | None
    end: datetime | date | None
    where: str
    method: str = ""  # REQUEST, CANCEL, REPLY, PUBLISH ... or ""
    recurring: bool = False

    @property
    def all_day(self) -> bool:
        return isinstance(self.start, date) and not isinstance(self.start, datetime)


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """What the store keeps of a message. All text is cleaned for display; collections are tuples."""

    message_id: str = ""  # with its angle brackets; "" when the message has none
    in_reply_to: str = ""  # the first Message-ID in In-Reply-To
    references: tuple[str, ...] = ()
    subject: str = ""
    from_name: str = ""
    from_addr: str = ""
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    date: datetime | None = None  # aware, UTC
    body_text: str = ""
    snippet: str = ""
    attachments: tuple[Attachment, ...] = ()
    # False when the only parts listed are inline images of an HTML body (signature logos) or
    # signatures (smime.p7s): they are listed, but do not earn the message a paperclip.
    has_attachments: bool = False
    calendar: CalendarInvite | None = None
    body_cut: bool = False  # body_text (or the HTML it came from) was cut; it then ends with "\n…"
    parse_note: str = ""  # "" when clean; else short English notes joined with "; "


def parse_message(raw: bytes, *, text_limit: int = TEXT_LIMIT) -> ParsedMessage:
    """Parse one message; whatever the bytes, return a record (with a ``parse_note`` if needed)."""
    try:
        data = bytes(raw)
    except Exception:
        data = b""
    if not data.strip():
        return ParsedMessage(parse_note="empty message")
    try:
        return _parse(data, max(0, int(text_limit)))
    except Exception as error:  # a bug of ours or the stdlib's: still store and list the mail
        _log_failure("parse", error)
    try:
        return _scan_headers(data, "the message could not be parsed; headers read line by line")
    except Exception as error:
        _log_failure("header scan", error)
    return ParsedMessage(parse_note="the message could not be parsed")


def thread_key(parsed: ParsedMessage) -> str:
    """The Message-ID at the root of the thread as far as the message knows it ("" if it has none)."""
    if parsed.references:
        return parsed.references[0]
    return parsed.in_reply_to or parsed.message_id


def addresses_text(addresses: Iterable[Address]) -> str:
    """``Name <addr>, addr2`` for a single text column or line."""
    return ", ".join(address.display for address in addresses)


def source_text(raw: bytes, limit: int = SOURCE_LIMIT) -> str:
    """The raw source as display-safe text, for 'view source' (cut at ``limit`` characters)."""
    data = bytes(raw[: limit * 4])
    text = clean_text(_guess(data)[0][: limit + 1])
    return text[:limit] + CUT_MARK if len(text) > limit or len(raw) > limit * 4 else text


# --- the parse ----------------------------------------------------------------------------------


class _Notes:
    """What went wrong, each thing once, in the order found."""

    def __init__(self) -> None:
        self._items: dict[str, None] = {}

    def add(self, note: str) -> None:
        if len(self._items) < 20:
            self._items.setdefault(note)

    def text(self) -> str:
        return clean_line("; ".join(self._items), NOTE_LIMIT)


class _Policy(Compat32):
    """compat32 parsing, with header values cut to size and their 8-bit bytes decoded."""

    cut: list[str] | None = None  # names of the headers cut, when the caller gives a list

    def __init__(self, cut: list[str] | None = None) -> None:
        super().__init__()
        object.__setattr__(self, "cut", cut)  # policies are read-only once made

    def header_source_parse(self, sourcelines: list[str]) -> tuple[str, str]:
        name, value = super().header_source_parse(sourcelines)
        limit = MIME_HEADER_LIMIT if name[:8].lower() == "content-" else HEADER_LIMIT
        if len(value) > limit:
            value = value[:limit]
            if self.cut is not None and len(self.cut) < 5:
                self.cut.append(f"{name[:40]} ({limit} characters)")
        return name, value

    def header_fetch_parse(self, name: str, value: Any) -> str:
        # Everything (get_param, get_filename, get_content_type) then sees unfolded Unicode text.
        return _header_text(value)


_T = TypeVar("_T")


def _parse(data: bytes, text_limit: int) -> ParsedMessage:
    notes = _Notes()
    cut: list[str] = []
    structure_ok = True
    nesting = _multipart_nesting(data)
    try:
        if nesting > MAX_NESTING:
            raise _TooDeep
        msg = BytesParser(policy=_Policy(cut)).parsebytes(data)
    except _TooDeep:
        notes.add(f"MIME parts nested too deep ({nesting} levels), body shown as raw text")
        structure_ok = False
        msg = BytesParser(policy=_Policy(cut)).parsebytes(data, headersonly=True)
    except Exception as error:  # e.g. RecursionError on thousands of nested message/rfc822 parts
        _log_failure("structure", error)
        notes.add(f"the message structure could not be read ({type(error).__name__}), body shown as raw text")
        structure_ok = False
        cut.clear()
        msg = BytesParser(policy=_Policy(cut)).parsebytes(data, headersonly=True)
    for name in cut:
        notes.add(f"header {name} cut")

    headers: dict[str, str] = {}
    for name, value in msg.raw_items():
        headers.setdefault(name.strip().lower(), value)
    if not headers:
        notes.add("no headers found")

    def header(name: str) -> str:
        return _header_text(headers.get(name, ""))

    def safely(what: str, function: Callable[[], _T], default: _T) -> _T:
        try:
            return function()
        except Exception as error:
            _log_failure(what, error)
            notes.add(f"{what} could not be read")
            return default

    no_addresses: tuple[Address, ...] = ()
    subject = safely("Subject", lambda: clean_line(_decode_words(header("subject"), notes)), "")
    senders = safely("From", lambda: _addresses(header("from"), notes), no_addresses)
    to = safely("To", lambda: _addresses(header("to"), notes), no_addresses)
    cc = safely("Cc", lambda: _addresses(header("cc"), notes), no_addresses)
    reply_to = safely("Reply-To", lambda: _addresses(header("reply-to"), notes), no_addresses)
    moment = safely("Date", lambda: _date(header("date"), notes), None)
    message_id = safely("Message-ID", lambda: _message_id(header("message-id")), "")
    in_reply_to = safely("In-Reply-To", lambda: next(iter(_message_ids(header("in-reply-to"))), ""), "")
    references = safely("References", lambda: _references(header("references")), tuple[str, ...]())

    walker = _Walker(text_limit, notes)
    if structure_ok:
        try:
            walker.message(msg, "", 0, True)
        except Exception as error:
            _log_failure("body", error)
            notes.add(f"the body could not be read ({type(error).__name__}), shown as raw text")
            walker = _Walker(text_limit, notes)
            structure_ok = False
    if not structure_ok:
        walker.add_text(_guess(_raw_body(data, text_limit))[0])
    body = walker.body()
    for defect in walker.defects:
        notes.add(defect)

    first = senders[0] if senders else Address("", "")
    calendar = walker.calendar
    return ParsedMessage(
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        subject=subject,
        from_name=first.name,
        from_addr=first.addr,
        to=to,
        cc=cc,
        reply_to=reply_to,
        date=moment,
        body_text=body,
        snippet=_snippet(body) or (calendar.what[:SNIPPET_LENGTH] if calendar else ""),
        attachments=tuple(walker.attachments),
        has_attachments=any(item.part not in walker.decorative for item in walker.attachments),
        calendar=calendar,
        body_cut=walker.cut,
        parse_note=notes.text(),
    )


class _TooDeep(Exception):
    """More than MAX_NESTING multiparts inside one another."""


_BOUNDARY_PARAM = re.compile(rb"boundary[ \t]*=[ \t]*\"?([^\"\s;]{1,200})", re.IGNORECASE)
_DECLARED_OR_CLOSED = re.compile(
    rb"boundary[ \t]*=[ \t]*\"?([^\"\s;]{1,200})|^--([^\r\n]{1,200}?)--[ \t]*\r?$",
    re.IGNORECASE | re.MULTILINE,
)


def _multipart_nesting(data: bytes) -> int:
    """How many multiparts are open at once at most, read from the raw bytes: boundaries declared
    and not yet closed (``--boundary--``). Exact enough to tell a bomb from real mail, and cheap:
    with at most MAX_NESTING boundaries declared, their count is returned (a bound on the depth);
    only a message declaring more is read line by line."""
    declared = len(_BOUNDARY_PARAM.findall(data))
    if declared <= MAX_NESTING:
        return declared
    opened: list[bytes] = []
    deepest = 0
    for match in _DECLARED_OR_CLOSED.finditer(data):
        boundary, closed = match.groups()
        if boundary is not None:
            opened.append(boundary)
            deepest = max(deepest, len(opened))
        elif closed in opened:
            del opened[len(opened) - 1 - opened[::-1].index(closed) :]
    return deepest


def _log_failure(stage: str, error: BaseException) -> None:
    # Only where it failed and how: the log never holds message content (an exception's message
    # can quote it).
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    log.warning("mail %s failed: %s at %s", stage, type(error).__name__, where)


# --- headers ------------------------------------------------------------------------------------

_ENCODED_WORD = re.compile(r"=\?([^?*\s]{1,40})(?:\*[^?\s]{0,20})?\?([bBqQ])\?([!->@-~]*)\?=")
_GROUP_ONLY = re.compile(r"\s*[^:;,<>@\"]*:\s*;?\s*")
_MESSAGE_ID = re.compile(r"<([^<>]{1,998})>")
_ADDR_SPEC = r"[^<>\s\",;:()\\@\[\]]+@[^<>\s\",;:()\\@\[\]]+"
_SIMPLE_MAILBOX = re.compile(
    rf"""[ \t]*(?:
        (?:"([^"\\]*)"|([^"<>,;:()\\@\[\]]*?))[ \t]*<({_ADDR_SPEC})>  # name <addr>
        | ({_ADDR_SPEC})                                            # addr
    )[ \t]*""",
    re.VERBOSE,
)
_GETADDRESSES_LENIENT: dict[str, Any] = (
    # Python 3.11.10+/3.12.6+ default to strict=True, which turns a whole header with one
    # malformed address into [('', '')]; the lenient parse keeps what can be kept.
    {"strict": False} if "strict" in inspect.signature(getaddresses).parameters else {}
)


def _header_text(value: object) -> str:
    """A raw header value as unfolded Unicode: raw 8-bit bytes read as utf-8, else windows-1252."""
    text = value if isinstance(value, str) else str(value)
    if not text.isascii():
        # The parser keeps undecodable bytes as lone surrogates; turn them back into bytes.
        try:
            text = _guess(text.encode("utf-8", "surrogateescape"))[0]
        except UnicodeEncodeError:
            text = text.encode("utf-8", "replace").decode("utf-8")
    if "\n" in text or "\r" in text:
        text = text.replace("\r", "").replace("\n", "")
    return text.strip()


def _decode_words(text: str, notes: _Notes) -> str:
    """Decode RFC 2047 encoded words; whatever cannot be decoded is left as it was."""
    if "=?" not in text:
        return text
    # Segments: (None, literal text) or (charset, bytes of one or more joined encoded words).
    segments: list[tuple[str | None, Any]] = []
    position = 0
    for match in _ENCODED_WORD.finditer(text):
        gap = text[position : match.start()]
        position = match.end()
        decoded = _word_bytes(match.group(2), match.group(3))
        if decoded is None:
            notes.add("a damaged encoded word in a header, shown as is")
            segments.append((None, gap + match.group(0)))
            continue
        charset = match.group(1).lower()
        if gap and not (gap.isspace() and segments and segments[-1][0] is not None):
            segments.append((None, gap))
        if segments and segments[-1][0] == charset:
            segments[-1][1].extend(decoded)  # one character may be split across two words
        else:
            segments.append((charset, bytearray(decoded)))
    segments.append((None, text[position:]))
    return "".join(
        value if charset is None else _decode_text(bytes(value), charset, notes, "a header")
        for charset, value in segments
    )


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    try:
        if encoding in "qQ":
            return binascii.a2b_qp(payload.encode("ascii"), header=True)
        return binascii.a2b_base64((payload + "=" * (-len(payload) % 4)).encode("ascii"))
    except (binascii.Error, ValueError):
        return None


def _addresses(value: str, notes: _Notes) -> tuple[Address, ...]:
    if not value:
        return ()
    # Split first, decode names after: an encoded name may hold a comma ("Virtanen, Liisa").
    pairs = _simple_addresses(value)
    if pairs is None:
        try:
            pairs = getaddresses([value], **_GETADDRESSES_LENIENT)
        except Exception:
            pairs = []
    found = []
    for name, addr in pairs[:MAX_ADDRESSES]:
        address = Address(
            clean_line(" ".join(_decode_words(name, notes).split())), clean_line(addr, 320).replace(" ", "")
        )
        if address.name or address.addr:
            found.append(address)
    if not found and not _GROUP_ONLY.fullmatch(value):
        notes.add("an address header could not be read, shown as is")
        return (Address(clean_line(_decode_words(value, notes)), ""),)
    return tuple(found)


def _simple_addresses(value: str) -> list[tuple[str, str]] | None:
    """The everyday forms (``a@b``, ``Name <a@b>``, ``"Last, First" <a@b>``) without the stdlib's
    character-by-character parser, which is most of the cost of parsing a message; None for
    anything else (groups, comments, escapes, route addresses), which ``getaddresses`` reads."""
    found = []
    position, end = 0, len(value)
    while position < end:
        match = _SIMPLE_MAILBOX.match(value, position)
        if match is None:
            return None
        quoted, phrase, angle, bare = match.groups()
        found.append((quoted if quoted is not None else phrase or "", angle or bare))
        position = match.end()
        if position < end:
            if value[position] != ",":
                return None
            position += 1
            if not value[position:].strip():
                break
    return found


def _date(value: str, notes: _Notes) -> datetime | None:
    if not value:
        return None
    try:
        parts = parsedate_tz(value[:200])
        if parts is None:
            raise ValueError(value)
        offset = parts[9]
        zone = UTC if offset is None else timezone(timedelta(seconds=offset))
        return datetime(*parts[:6], tzinfo=zone).astimezone(UTC)
    except Exception:
        notes.add("unreadable Date header")
        return None


def _message_ids(value: str) -> list[str]:
    ids = (_id_text(match.group(1)) for match in _MESSAGE_ID.finditer(value))
    return list(dict.fromkeys(f"<{found}>" for found in ids if found))


def _id_text(value: str) -> str:
    return "".join(clean_text(value, keep_newlines=False).split())


def _message_id(value: str) -> str:
    ids = _message_ids(value)
    if ids:
        return ids[0]
    bare = _id_text(value)[:998]  # some senders leave out the brackets; keys must still match
    return f"<{bare}>" if bare else ""


def _references(value: str) -> tuple[str, ...]:
    ids = _message_ids(value)
    if len(ids) > MAX_REFERENCES:  # keep the root and the nearest, as RFC 5322 suggests
        ids = ids[:1] + ids[-(MAX_REFERENCES - 1) :]
    return tuple(ids)


# --- charsets -----------------------------------------------------------------------------------

_LABEL_ALIASES = {
    "iso-8859-8-i": "iso-8859-8",
    "unicode-1-1-utf-8": "utf-8",
    "utf8mb4": "utf-8",
    "x-user-defined": "windows-1252",
    "ansi": "windows-1252",
    "x-sjis": "shift_jis",
}
# What mail labelled with the first actually is (the WHATWG encoding standard does the same):
# "iso-8859-1" Finnish mail from Windows is windows-1252, with its € and dashes.
_SUPERSETS = {
    "iso8859-1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
    "tis-620": "cp874",
}
# Codecs that are text encodings to Python but not charsets a mail can have.
_NOT_CHARSETS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined", "mbcs"})
_C1 = re.compile("[\x80-\x9f]")
_C1_TABLE = {code: bytes([code]).decode("cp1252", "replace") for code in range(0x80, 0xA0)}
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


@functools.lru_cache(maxsize=256)
def _codec(label: str) -> str | None:
    """The Python codec for a charset label, or None for an unknown or unusable one."""
    label = _LABEL_ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except Exception:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return _SUPERSETS.get(info.name, info.name)


def _guess(data: bytes) -> tuple[str, str]:
    """Undeclared bytes: utf-8 if they are valid utf-8, else windows-1252 (Finnish legacy mail)."""
    try:
        return _c1_as_windows_1252(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace"), "windows-1252"


def _c1_as_windows_1252(text: str) -> str:
    """C1 controls (U+0080-U+009F) are never text: they are windows-1252 punctuation sent with an
    iso-8859 label (0x96 an en dash, 0x9e a ž), or someone's trick. As characters they would also
    reach textclean, which reads a lone U+009D as the start of an OSC string and drops all text
    after it."""
    return text.translate(_C1_TABLE) if _C1.search(text) else text


def _decode_text(data: bytes, charset: object, notes: _Notes, where: str) -> str:
    return _c1_as_windows_1252(_decode_declared(data, charset, notes, where))


def _decode_declared(data: bytes, charset: object, notes: _Notes, where: str) -> str:
    label = str(charset or "").strip().strip("\"'").lower()[:64]
    codec = _codec(label) if label else "ascii"  # RFC 2045: no charset means us-ascii
    if codec is None:
        text, used = _guess(data)
        how = "read as utf-8" if used == "utf-8" else "decoded as windows-1252 with replacement"
        notes.add(f"unknown charset {label[:40]} in {where}, {how}")
        return text
    if codec == "ascii":
        # 8-bit text labelled us-ascii (or not labelled) is everyday mail, not an error.
        return data.decode("ascii") if data.isascii() else _guess(data)[0]
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        pass
    except Exception:  # a codec that fails in other ways (utf-7 on junk, odd-length utf-16 ...)
        notes.add(f"charset {label[:40]} in {where} could not be used, read with replacement")
        return _guess(data)[0]
    if codec == "utf-8":
        replaced = data.decode("utf-8", "replace")
        broken = replaced.count("\ufffd") - data.count(b"\xef\xbf\xbd")
        if len(_UTF8_SEQUENCE.findall(data)) > broken:  # mostly utf-8 with a few bad bytes
            notes.add(f"invalid utf-8 in {where}, decoded with replacement")
            return replaced
        notes.add(f"{where} declared utf-8 is not utf-8, decoded as windows-1252 with replacement")
        return data.decode("cp1252", "replace")
    notes.add(f"undecodable {label[:40]} bytes in {where}, decoded with replacement")
    return data.decode(codec, "replace")


# --- the MIME tree ------------------------------------------------------------------------------

_BODY_TYPES = frozenset({"text/plain", "text/html"})
_CALENDAR_TYPES = frozenset({"text/calendar", "application/ics"})
_SIGNATURE_TYPES = frozenset(
    {"application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature"}
)
_CONTENT_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]{1,60}/[a-z0-9!#$&^_.+-]{1,80}")
_DEFECT_NOTES = {
    "StartBoundaryNotFoundDefect": "multipart boundary not found, body shown as raw text",
    "NoBoundaryInMultipartDefect": "multipart without a boundary, body shown as raw text",
    "CloseBoundaryNotFoundDefect": "multipart closing boundary missing",
    "InvalidBase64PaddingDefect": "damaged base64 content",
    "InvalidBase64CharactersDefect": "damaged base64 content",
    "InvalidBase64LengthDefect": "damaged base64 content",
    "MissingHeaderBodySeparatorDefect": "malformed header section",
}
_TNEF_NAME = "winmail.dat"


def _join(prefix: str, number: int | str) -> str:
    return f"{prefix}.{number}" if prefix else str(number)


class _Walker:
    """Walks the MIME tree once: body text, attachments (numbered as IMAP body sections), invite."""

    def __init__(self, text_limit: int, notes: _Notes) -> None:
        self.limit = text_limit
        self.notes = notes
        self.pieces: list[str] = []
        self.chars = 0
        self.cut = False
        self.attachments: list[Attachment] = []
        self.decorative: set[str] = set()
        self.calendar: CalendarInvite | None = None
        self.defects: list[str] = []
        self.parts = 0

    def body(self) -> str:
        text = "\n\n".join(piece for piece in self.pieces if piece)
        if self.cut:
            return text[: self.limit] + CUT_MARK
        return text

    def message(self, msg: Message, prefix: str, depth: int, show: bool) -> None:
        """A whole message: the top level, or the one inside a message/rfc822 part at ``prefix``."""
        if msg.is_multipart() and msg.get_content_maintype() == "multipart":
            self._visit_defects(msg)
            self.container(msg, prefix, depth, show)
        else:
            self.part(msg, _join(prefix, 1), depth, show, extra=False)

    def container(self, msg: Message, prefix: str, depth: int, show: bool) -> None:
        children = [child for child in msg.get_payload() if isinstance(child, Message)]
        subtype = msg.get_content_subtype()
        if subtype == "alternative":
            chosen = _pick_alternative(children)
            for number, child in enumerate(children, 1):
                self.part(child, _join(prefix, number), depth + 1, show and child is chosen, extra=False)
        elif subtype == "related":
            root = _related_root(msg, children)
            for number, child in enumerate(children, 1):
                is_root = number - 1 == root
                self.part(child, _join(prefix, number), depth + 1, show and is_root, extra=not is_root)
        else:
            for number, child in enumerate(children, 1):
                self.part(child, _join(prefix, number), depth + 1, show, extra=False)

    def part(self, part: Message, part_id: str, depth: int, show: bool, *, extra: bool) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            self.notes.add(f"more than {MAX_PARTS} MIME parts, the rest skipped")
            return
        if depth > MAX_DEPTH:
            self.notes.add("MIME parts nested too deep, the innermost skipped")
            return
        self._visit_defects(part)
        content_type = _content_type(part)
        maintype = content_type.partition("/")[0]
        if content_type in ("message/rfc822", "message/global"):
            self.forwarded(part, part_id, depth, show)
        elif part.is_multipart():
            if maintype == "multipart":
                self.container(part, part_id, depth, show)
            # message/delivery-status and the like: header blocks, neither body nor attachment
        elif maintype == "multipart":  # its boundary was never found: show what there is
            if show:
                self.add_part_text(part, "text/plain")
        else:
            self.leaf(part, part_id, content_type, show, extra=extra)

    def leaf(self, part: Message, part_id: str, content_type: str, show: bool, *, extra: bool) -> None:
        filename = _filename(part, self.notes)
        attached = bool(filename) or _disposition(part) == "attachment"
        if content_type in _CALENDAR_TYPES and self.calendar is None:
            self.calendar = _calendar(part, self.notes)
        if not attached and content_type in _BODY_TYPES:
            if show:
                self.add_part_text(part, content_type)
            return  # an alternative not chosen is not an attachment either
        if not attached and content_type in _CALENDAR_TYPES:
            return  # the invite itself: shown as what/when/where
        name = filename or _fallback_name(part_id, content_type)
        self.attachments.append(Attachment(part_id, name, content_type, _leaf_size(part)))
        if (extra and _maintype_is(content_type, "image")) or content_type in _SIGNATURE_TYPES:
            self.decorative.add(part_id)

    def forwarded(self, part: Message, part_id: str, depth: int, show: bool) -> None:
        payload = part.get_payload()
        first = payload[0] if isinstance(payload, list) and payload else None
        inner = _reparse_encoded(part, first) if isinstance(first, Message) else None
        subject = ""
        if inner is not None:
            subject = clean_line(_decode_words(_header_text(inner.get("subject", "")), self.notes))
        name = _filename(part, self.notes) or clean_line(f"{subject or 'forwarded message'}.eml", 255)
        self.attachments.append(
            Attachment(part_id, name.replace("/", "_"), "message/rfc822", _message_size(part))
        )
        if inner is None:
            return
        if show:
            self.add_text(_forward_header(inner, subject, self.notes))
        self.message(inner, part_id, depth + 1, show)

    def add_part_text(self, part: Message, content_type: str) -> None:
        if self.chars >= self.limit:
            self.cut = True
            return
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            data = b""
        charset = _safe_charset(part)
        if content_type == "text/html":
            html = _decode_text(data[: HTML_LIMIT * 4], charset, self.notes, "the text")
            if len(html) > HTML_LIMIT:
                html = html[:HTML_LIMIT]
                self.cut = True
            text = _html_to_text(html, self.notes)
        else:
            # Cut before decoding: a 40 MB text part must not cost 40 MB of decoding.
            budget = self.limit - self.chars + 1
            if len(data) > budget * 4:
                data = data[: budget * 4]
            text = _decode_text(data, charset, self.notes, "the text")
        self.add_text(text)

    def add_text(self, text: str) -> None:
        budget = self.limit - self.chars
        if budget <= 0:
            self.cut = self.cut or bool(text.strip())
            return
        if len(text) > budget * 2:
            text = text[: budget * 2]  # cleaning only shortens text, except tabs (4 spaces)
            self.cut = True
        text = clean_text(text).strip("\n")
        if not text.strip():
            return
        if len(text) > budget:
            text = text[:budget]
            self.cut = True
        self.pieces.append(text)
        self.chars += len(text) + 2

    def _visit_defects(self, part: Message) -> None:
        for defect in getattr(part, "defects", ()):
            note = _DEFECT_NOTES.get(type(defect).__name__)
            if note and note not in self.defects:
                self.defects.append(note)


def _maintype_is(content_type: str, maintype: str) -> bool:
    return content_type.partition("/")[0] == maintype


def _content_type(part: Message) -> str:
    try:
        value = part.get_content_type()
    except Exception:
        return "application/octet-stream"
    value = value.strip().lower()
    return value if _CONTENT_TYPE.fullmatch(value) else "application/octet-stream"


def _disposition(part: Message) -> str:
    return _header_text(part.get("content-disposition", "")).partition(";")[0].strip().lower()


def _safe_charset(part: Message) -> str | None:
    try:
        charset = part.get_param("charset")
    except Exception:
        return None
    if isinstance(charset, tuple):  # RFC 2231 form
        charset = charset[2]
    return str(charset) if charset else None


def _filename(part: Message, notes: _Notes) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        return ""
    name = _decode_words(_header_text(name), notes)  # Outlook: filename="=?utf-8?B?...?="
    name = re.split(r"[/\\]", clean_line(name, 255))[-1].strip()
    return name


def _fallback_name(part_id: str, content_type: str) -> str:
    if content_type == "application/ms-tnef":
        return _TNEF_NAME
    if content_type in _CALENDAR_TYPES:
        return "invite.ics"
    extension = {"text/plain": ".txt", "text/html": ".html", "application/pdf": ".pdf"}.get(content_type, "")
    if not extension and _maintype_is(content_type, "image"):
        extension = "." + content_type.partition("/")[2].split("+")[0]
    return f"part-{part_id}{extension}"


def _leaf_size(part: Message) -> int:
    payload = part.get_payload()
    if not isinstance(payload, str):
        return 0
    encoding = _header_text(part.get("content-transfer-encoding", "")).lower()
    if encoding == "base64":
        # Decoded size without decoding: a 30 MB attachment costs nothing to list.
        stripped = len(payload) - sum(payload.count(space) for space in "\r\n\t ")
        padding = payload.rstrip()[-2:].count("=")
        return max(0, stripped * 3 // 4 - padding)
    if encoding == "quoted-printable":
        decoded = part.get_payload(decode=True)
        return len(decoded) if isinstance(decoded, bytes) else 0
    return len(payload)


def _message_size(part: Message) -> int:
    """About the size of a message/rfc822 part's source, without regenerating it."""
    total = 0
    stack: list[Any] = [part]
    while stack and total < 1 << 40:
        current = stack.pop()
        if isinstance(current, Message):
            total += sum(len(name) + len(str(value)) + 4 for name, value in current.raw_items()) + 2
            stack.append(current.get_payload())
        elif isinstance(current, list):
            stack.extend(current)
        elif isinstance(current, str | bytes):
            total += len(current)
    return total


def _reparse_encoded(part: Message, inner: Message) -> Message:
    """A message/rfc822 part sent base64 or quoted-printable (it happens): decode, then parse it."""
    encoding = _header_text(part.get("content-transfer-encoding", "")).lower()
    if encoding not in ("base64", "quoted-printable") or inner.keys():
        return inner
    body = inner.get_payload()
    if not isinstance(body, str):
        return inner
    try:
        raw = body.encode("ascii", "surrogateescape")
        data = binascii.a2b_base64(raw) if encoding == "base64" else binascii.a2b_qp(raw)
        return BytesParser(policy=_Policy()).parsebytes(data)
    except Exception:
        return inner


def _pick_alternative(children: list[Message]) -> Message | None:
    """text/plain when it says something, else the richest (last) part we can show."""
    fallback = None
    for child in children:
        content_type = _content_type(child)
        if _disposition(child) == "attachment":
            continue
        if content_type == "text/plain":
            payload = child.get_payload()
            if isinstance(payload, str) and payload.strip():
                return child
        elif content_type == "text/html" or _maintype_is(content_type, "multipart"):
            fallback = child
    return fallback or (children[-1] if children else None)


def _related_root(msg: Message, children: list[Message]) -> int:
    start = _header_text(msg.get_param("start") or "") if children else ""
    if start:
        for index, child in enumerate(children):
            if _header_text(child.get("content-id", "")) == start:
                return index
    return 0


def _forward_header(inner: Message, subject: str, notes: _Notes) -> str:
    lines = [FORWARD_RULE]
    sender = _addresses(_header_text(inner.get("from", "")), notes)
    if sender:
        lines.append("From: " + addresses_text(sender))
    moment = _header_text(inner.get("date", ""))
    if moment:
        lines.append("Date: " + clean_line(moment, 100))
    if subject:
        lines.append("Subject: " + subject)
    recipients = _addresses(_header_text(inner.get("to", "")), notes)
    if recipients:
        lines.append("To: " + clean_line(addresses_text(recipients)))
    return "\n".join(lines)


def _raw_body(data: bytes, text_limit: int) -> bytes:
    """The bytes after the header section (all of them when no blank line ends it)."""
    ends = [found + len(mark) for mark in (b"\r\n\r\n", b"\n\n") if (found := data.find(mark)) >= 0]
    start = min(ends) if ends else 0
    return data[start : start + text_limit * 4 + 4]


# --- HTML ---------------------------------------------------------------------------------------

_BLANK_LINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)


def _html_to_text(html: str, notes: _Notes) -> str:
    if not html.strip():
        return ""
    try:
        # Imported here: lxml and inscriptis cost ~90 ms of start-up that only HTML mail needs.
        from inscriptis import get_text
        from inscriptis.model.config import ParserConfig

        text = get_text(html, ParserConfig(display_links=True))
    except Exception as error:  # lxml or a tree too deep for the renderer
        _log_failure("HTML rendering", error)
        notes.add("HTML could not be laid out, shown as plain text")
        text = _TagStripper.text_of(html)
    text = _TRAILING_SPACE.sub("", text)
    return _BLANK_LINES.sub("\n\n", text).strip("\n")


class _TagStripper(HTMLParser):
    """The last resort for HTML: its text, without scripts and styles."""

    _SKIP = frozenset({"script", "style", "head", "title"})
    _BREAK = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        elif tag in self._BREAK:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skipping = max(0, self.skipping - 1)

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.chunks.append(data)

    @classmethod
    def text_of(cls, html: str) -> str:
        stripper = cls()
        try:
            stripper.feed(html)
            stripper.close()
        except Exception as error:  # keep what was read before it
            _log_failure("tag stripping", error)
        return "".join(stripper.chunks)


# --- calendar invites ---------------------------------------------------------------------------

_ICAL_FOLD = re.compile(r"\r?\n[ \t]")
_ICAL_ESCAPE = re.compile(r"\\([\\;,nN])")
_ICAL_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_ICAL_DATETIME = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)", re.IGNORECASE)
_ICAL_DURATION = re.compile(r"([+-]?)P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
# Outlook names zones the Windows way; these are the ones Finnish mail brings.
_WINDOWS_ZONES = {
    "fle standard time": "Europe/Helsinki",
    "e. europe standard time": "Europe/Chisinau",
    "w. europe standard time": "Europe/Berlin",
    "central europe standard time": "Europe/Budapest",
    "romance standard time": "Europe/Paris",
    "gmt standard time": "Europe/London",
    "greenwich standard time": "Atlantic/Reykjavik",
    "russian standard time": "Europe/Moscow",
    "utc": "UTC",
}


def _calendar(part: Message, notes: _Notes) -> CalendarInvite | None:
    """What/when/where of the first VEVENT, read line by line (RFC 5545 content lines)."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return None
    text = _decode_text(data[:CALENDAR_LIMIT], _safe_charset(part) or "utf-8", notes, "the invite")
    method = ""
    event: dict[str, tuple[list[str], str]] = {}
    depth = 0  # 1 inside the VEVENT, more inside its VALARMs
    for line in _ICAL_FOLD.sub("", text).splitlines():
        prop = _split_property(line)
        if prop is None:
            continue
        name, params, value = prop
        if name == "BEGIN":
            if depth or value.strip().upper() == "VEVENT":
                depth += 1
        elif name == "END" and depth:
            depth -= 1
            if depth == 0:
                break
        elif depth == 1:
            event.setdefault(name, (params, value))
        elif depth == 0 and name == "METHOD":
            method = value.strip().upper()
    if not event:
        return None
    start = _ical_moment(*event.get("DTSTART", ([], "")), notes)
    end = _ical_moment(*event.get("DTEND", ([], "")), notes)
    if end is None and start is not None and "DURATION" in event:
        end = _ical_add_duration(start, event["DURATION"][1])
    if not method:
        method = str(part.get_param("method") or "").upper()
    return CalendarInvite(
        what=clean_line(_ical_unescape(event.get("SUMMARY", ([], ""))[1])),
        start=start,
        end=end,
        where=clean_line(_ical_unescape(event.get("LOCATION", ([], ""))[1])),
        method=clean_line(method, 20),
        recurring="RRULE" in event,
    )


def _split_property(line: str) -> tuple[str, list[str], str] | None:
    head, colon, value = line.partition(":")
    if '"' in head:  # a quoted parameter may hold a colon: TZID="(UTC+02:00) Helsinki"
        quoted = False
        for index, char in enumerate(line[:2000]):
            if char == '"':
                quoted = not quoted
            elif char == ":" and not quoted:
                head, colon, value = line[:index], ":", line[index + 1 :]
                break
    if not colon:
        return None
    name, *params = head.split(";")
    return name.strip().upper(), params, value


def _ical_unescape(value: str) -> str:
    return _ICAL_ESCAPE.sub(lambda match: " " if match.group(1) in "nN" else match.group(1), value)


def _ical_moment(params: list[str], value: str, notes: _Notes) -> datetime | date | None:
    value = value.strip()
    options = {}
    for param in params:
        key, _, setting = param.partition("=")
        options[key.strip().upper()] = setting.strip().strip('"')
    try:
        if options.get("VALUE", "").upper() == "DATE" or _ICAL_DATE.fullmatch(value):
            found = _ICAL_DATE.match(value)
            return date(*map(int, found.groups())) if found else None
        found = _ICAL_DATETIME.fullmatch(value)
        if found is None:
            return None
        year, month, day, hour, minute, second = map(int, found.groups()[:6])
        naive = datetime(year, month, day, hour, minute, second)
        utc = found.group(7)
        zone = UTC if utc else _zone(options.get("TZID", ""), notes)
        return naive.replace(tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _zone(tzid: str, notes: _Notes) -> tzinfo:
    if not tzid:
        return HELSINKI  # floating time: the reader's, and the county is in Finland
    zone = _known_zone(tzid[:100])
    if zone is None:
        notes.add(f"unknown time zone {clean_line(tzid, 40)} in the invite, read as Europe/Helsinki")
        return HELSINKI
    return zone


@functools.lru_cache(maxsize=64)
def _known_zone(tzid: str) -> tzinfo | None:
    if "helsinki" in tzid.lower():  # also "(UTC+02:00) Helsinki, Kyiv, ..." and Mozilla paths
        return HELSINKI
    candidates = [_WINDOWS_ZONES.get(tzid.lower(), ""), tzid, "/".join(tzid.split("/")[-2:])]
    for candidate in candidates:
        if not candidate:
            continue
        with contextlib.suppress(Exception):  # not a zone name (or not a valid key at all)
            return ZoneInfo(candidate)
    return None


def _ical_add_duration(start: datetime | date, value: str) -> datetime | date | None:
    found = _ICAL_DURATION.fullmatch(value.strip())
    if found is None:
        return None
    sign, weeks, days, hours, minutes, seconds = found.groups()
    span = timedelta(
        weeks=int(weeks or 0),
        days=int(days or 0),
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        seconds=int(seconds or 0),
    )
    try:
        return start - span if sign == "-" else start + span
    except OverflowError:
        return None


# --- helpers ------------------------------------------------------------------------------------


def _snippet(body: str) -> str:
    """The first words of the new text: quoted lines ("> ...") are skipped."""
    lines = [line for line in body[:2000].splitlines()[:60] if not line.lstrip().startswith(">")]
    return " ".join(" ".join(lines).split())[:SNIPPET_LENGTH]


_SCAN_HEADER = re.compile(rb"^(subject|from|date|message-id|in-reply-to|references):[ \t]*(.*)$", re.I)


def _scan_headers(data: bytes, note: str) -> ParsedMessage:
    """The last resort: a few headers read line by line from the raw bytes, no body."""
    notes = _Notes()
    notes.add(note)
    found: dict[str, str] = {}
    current = ""
    for line in data[: 256 * 1024].splitlines():
        if not line.strip():
            break
        if line[:1] in (b" ", b"\t") and current:
            found[current] = (found[current] + " " + _guess(line.strip())[0])[:HEADER_LIMIT]
            continue
        match = _SCAN_HEADER.match(line)
        current = match.group(1).decode("ascii").lower() if match else ""
        if match and current not in found:
            found[current] = _guess(match.group(2)[:HEADER_LIMIT])[0]
        elif match:
            current = ""
    senders = _addresses(found.get("from", ""), notes)
    first = senders[0] if senders else Address("", "")
    return ParsedMessage(
        message_id=_message_id(found.get("message-id", "")),
        in_reply_to=next(iter(_message_ids(found.get("in-reply-to", ""))), ""),
        references=_references(found.get("references", "")),
        subject=clean_line(_decode_words(found.get("subject", ""), notes)),
        from_name=first.name,
        from_addr=first.addr,
        date=_date(found.get("date", ""), notes),
        parse_note=notes.text(),
    )
