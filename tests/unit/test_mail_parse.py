"""Mail parsing: real-world-shaped mail (Outlook, newsletters, invites, broken, hostile) into records."""

from __future__ import annotations

import base64
import dataclasses
import random
import re
import time
from datetime import UTC, date, datetime
from email.utils import getaddresses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator_tui.mail import parse
from coordinator_tui.mail.parse import (
    Address,
    Attachment,
    CalendarInvite,
    ParsedMessage,
    addresses_text,
    parse_message,
    source_text,
    thread_key,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
FIXTURE_NAMES = sorted(path.name for path in FIXTURES.glob("*.eml"))
# What no displayed text may hold: C0 controls but newline and tab (ESC among them), DEL, C1
# controls, and the bidi/invisible characters textclean strips.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def texts_of(value: object) -> list[str]:
    """Every string inside a parsed record, however deep."""
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [text for item in dataclasses.fields(value) for text in texts_of(getattr(value, item.name))]
    if isinstance(value, tuple | list):
        return [text for item in value for text in texts_of(item)]
    return []


def assert_display_safe(parsed: ParsedMessage) -> None:
    assert isinstance(parsed, ParsedMessage)
    for text in texts_of(parsed):
        assert isinstance(text, str)
        assert not UNSAFE.search(text), repr(text)
    single_line = [parsed.subject, parsed.from_name, parsed.from_addr, parsed.snippet, parsed.parse_note]
    single_line += [text for item in parsed.to + parsed.cc + parsed.attachments for text in texts_of(item)]
    assert not any("\n" in text or "\t" in text for text in single_line)
    assert parsed.date is None or parsed.date.utcoffset() is not None


# --- everyday mail ------------------------------------------------------------------------------


def test_outlook_alternative_windows_1252_with_iso_8859_15_subject() -> None:
    parsed = parse_message(fixture("outlook_alternative_cp1252.eml"))

    assert parsed.subject == "Häiriö työjonossa"
    assert (parsed.from_name, parsed.from_addr) == ("Mäkelä Matti", "matti.makela@pshyvinvointialue.fi")
    assert parsed.to == (
        Address("Omaolo-koordinaattori", "omaolo.koordinaattori@pshyvinvointialue.fi"),
        Address("Virtanen, Liisa", "liisa.virtanen@pshyvinvointialue.fi"),
    )
    assert parsed.cc == (Address("Sairaanhoitaja Työjono", "tyojono@pshyvinvointialue.fi"),)
    assert parsed.date == datetime(2026, 11, 26, 7, 11, 58, tzinfo=UTC)
    assert parsed.message_id == "<HE1PR0701MB2345A1B2C3D4E5F6@HE1PR0701MB2345.eurprd07.prod.outlook.com>"
    assert parsed.in_reply_to == "<20261125.abc123@omaolo.fi>"
    # text/plain is preferred over the HTML alternative: no Outlook CSS, the windows-1252
    # characters (en dash, euro, curly quotes) right.
    assert parsed.body_text.startswith("Hei,\n\nOmaolon työjonossa on häiriö")
    assert "siirry terveysasemien työjonoihin – viimeisin" in parsed.body_text
    assert "€-merkki ja ”lainausmerkit”" in parsed.body_text
    assert "MsoNormal" not in parsed.body_text
    assert parsed.snippet.startswith("Hei, Omaolon työjonossa on häiriö: lähetetyt")
    assert len(parsed.snippet) <= 100
    assert parsed.attachments == ()
    assert not parsed.has_attachments
    assert parsed.parse_note == ""


def test_references_give_the_thread_key_their_first_id() -> None:
    parsed = parse_message(fixture("outlook_alternative_cp1252.eml"))

    assert parsed.references == (
        "<20261120.root0001@digifinland.fi>",
        "<20261124.def456@pshyvinvointialue.fi>",
        "<20261125.abc123@omaolo.fi>",
    )
    assert thread_key(parsed) == "<20261120.root0001@digifinland.fi>"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ("Message-ID: <own@x.fi>\nIn-Reply-To: <parent@x.fi>\n", "<parent@x.fi>"),
        ("Message-ID: <own@x.fi>\nIn-Reply-To: Matti's message <parent@x.fi> of today\n", "<parent@x.fi>"),
        ("Message-ID: <own@x.fi>\n", "<own@x.fi>"),
        ("Message-ID: own-without-brackets@x.fi\n", "<own-without-brackets@x.fi>"),
        ("Message-ID: <own@x.fi>\nReferences: <a@x.fi>\n\t<b@x.fi> <c@x.fi>\n", "<a@x.fi>"),
        ("Subject: no ids at all\n", ""),
    ],
)
def test_thread_key_falls_back_to_in_reply_to_then_own_id(headers: str, expected: str) -> None:
    assert thread_key(parse_message(crlf(headers + "\nbody\n"))) == expected


def test_html_only_newsletter_becomes_readable_text() -> None:
    parsed = parse_message(fixture("digifinland_newsletter_html_only.eml"))

    body = parsed.body_text
    assert parsed.subject == "Omaolo-uutiskirje 11/2026: oirearvio ja työjonolähetys"
    assert body.startswith("Omaolo-uutiskirje 11/2026\n\nHei Omaolon koordinaattori!")
    assert "<" not in body.replace("<https", "")  # no tags left
    assert "tracking" not in body and "font-family" not in body  # script and style dropped
    # The table stays a table: each row on its own line, the cells in columns.
    rows = [
        line.split() for line in body.splitlines() if line.startswith(("Palvelu", "Oirearviot", "Työjono"))
    ]
    assert rows == [
        ["Palvelu", "Päivä", "Katko"],
        ["Oirearviot", "2.12.2026", "klo", "6–7"],
        ["Työjonolähetys", "3.12.2026", "ei", "katkoa"],
    ]
    assert "[julkaisutiedotteesta](https://www.digifinland.fi/omaolo/julkaisutiedote-11-2026)" in body
    assert "https://www.digifinland.fi/uutiskirje?u=abc&id=123" in body  # &amp; decoded
    assert "  * Koulutus vastuukäyttäjille 9.12." in body
    assert parsed.parse_note == ""


def test_html_alternative_is_used_when_the_plain_part_is_empty() -> None:
    raw = crlf(
        "Content-Type: multipart/alternative; boundary=X\n\n--X\nContent-Type: text/plain\n\n \n"
        "--X\nContent-Type: text/html; charset=utf-8\n\n<p>Vain <b>HTML</b>:ssä</p>\n--X--\n"
    )
    assert parse_message(raw).body_text == "Vain HTML:ssä"


def test_rfc_2231_and_outlook_style_file_names() -> None:
    parsed = parse_message(fixture("rfc2231_attachments.eml"))

    assert parsed.subject == "Käyttöoikeuspyyntö / työjonolähetys"
    assert parsed.body_text == "Hei,\n\nliitteenä käyttöoikeuspyyntö uudelle sairaanhoitajalle.\n\nLiisa"
    assert parsed.attachments == (
        Attachment("2", "Käyttöoikeuspyyntö.pdf", "application/pdf", 2064),
        Attachment(
            "3",
            "Henkilökunta - liite 2.docx",  # filename*0*= / filename*1*= continuations
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            204,
        ),
    )
    assert parsed.has_attachments
    assert parsed.parse_note == ""


def test_encoded_word_file_name_and_path_in_a_file_name() -> None:
    raw = crlf(
        "Content-Type: multipart/mixed; boundary=X\n\n--X\nContent-Type: text/plain\n\nliite\n"
        '--X\nContent-Type: application/pdf; name="=?utf-8?B?S8OkeXR0w7ZvaWtldXMucGRm?="\n\n%PDF\n'
        "--X\nContent-Type: text/plain\n"
        'Content-Disposition: attachment; filename="C:\\Temp\\..\\loki.txt"\n\nloki\n--X--\n'
    )
    parsed = parse_message(raw)
    assert [(item.part, item.filename) for item in parsed.attachments] == [
        ("2", "Käyttöoikeus.pdf"),
        ("3", "loki.txt"),
    ]
    assert parsed.body_text == "liite"


def test_unknown_charset_is_decoded_with_a_note() -> None:
    parsed = parse_message(fixture("unknown_charset.eml"))

    assert parsed.subject == "Raportti häiriöistä"
    assert parsed.from_name == "Vanha Järjestelmä"  # raw 8-bit header bytes
    assert parsed.body_text == "Yöajon raportti: 3 häiriötä, 0 keskeytystä."
    assert "unknown charset x-unknown" in parsed.parse_note
    assert "with replacement" in parsed.parse_note


def test_wrong_charset_latin1_declared_utf8_is_decoded_with_a_note() -> None:
    parsed = parse_message(fixture("wrong_charset_latin1_as_utf8.eml"))

    assert parsed.body_text == "Hei, tiketti 4711 on ratkaistu: käyttäjän työjono näkyy nyt oikein."
    assert "declared utf-8 is not utf-8" in parsed.parse_note


def test_mostly_utf8_with_a_bad_byte_keeps_utf8_and_replaces_the_byte() -> None:
    raw = b"Content-Type: text/plain; charset=utf-8\r\n\r\nH\xc3\xa4iri\xc3\xb6 ty\xc3\xb6jonossa \xff loppu"
    parsed = parse_message(raw)
    assert parsed.body_text == "Häiriö työjonossa \ufffd loppu"
    assert "invalid utf-8 in the text, decoded with replacement" in parsed.parse_note


@pytest.mark.parametrize(
    ("charset", "body", "expected"),
    [
        ("", "Häiriö".encode("cp1252"), "Häiriö"),  # undeclared 8-bit: windows-1252
        ("us-ascii", "Häiriö".encode(), "Häiriö"),  # "us-ascii" but utf-8
        ("iso-8859-1", "“Häiriö” – 5 €".encode("cp1252"), "“Häiriö” – 5 €"),  # latin-1 means cp1252
        ("iso-8859-15", "Häiriö 5 €".encode("iso-8859-15"), "Häiriö 5 €"),
        ("zlib", "Häiriö".encode("cp1252"), "Häiriö"),  # a codec, but not a charset
        ("utf-7", b"H+AOQ-iri+APY-", "Häiriö"),
        # C1 bytes under an iso-8859 label are windows-1252 punctuation, and never hide the rest.
        ("iso-8859-15", b"T\xe4rke\xe4 \x96 \x9eiva \x9d loppu \xa4", "Tärkeä – živa \ufffd loppu €"),
        ("utf-8", "x\u009d loppu \u009bA".encode(), "x\ufffd loppu ›A"),
    ],
)
def test_charsets_of_everyday_and_odd_mail(charset: str, body: bytes, expected: str) -> None:
    header = f"Content-Type: text/plain; charset={charset}\r\n" if charset else ""
    assert parse_message(header.encode() + b"Subject: x\r\n\r\n" + body).body_text == expected


def test_encoded_words_split_inside_a_character_and_between_text() -> None:
    raw = crlf(
        "Subject: Re: =?utf-8?b?SMOk?= =?utf-8?b?aXJpw7Y=?=\n"
        "  =?iso-8859-1?q?_ty=F6jonossa?= (tiketti =?utf-8?q?4711?=)\n"
        # Outlook splits a character between two words: "ö" as \xc3 + \xb6.
        "Thread-Topic: =?utf-8?b?dHnDtmpvbm8gww==?= =?utf-8?b?tg==?=\n\nb\n"
    )
    parsed = parse_message(raw)
    assert parsed.subject == "Re: Häiriö työjonossa (tiketti 4711)"
    notes = parse._Notes()
    assert parse._decode_words("=?utf-8?b?dHnDtmpvbm8gww==?= =?utf-8?b?tg==?=", notes) == "työjono ö"
    assert notes.text() == ""


def test_broken_multipart_boundary_keeps_the_parts_found() -> None:
    parsed = parse_message(fixture("broken_boundary.eml"))

    assert parsed.body_text == "Ensimmäinen osa, joka näkyy."
    assert [(item.part, item.filename) for item in parsed.attachments] == [("2", "loki.txt")]
    assert parsed.parse_note == "multipart closing boundary missing"


def test_boundary_never_found_shows_the_raw_body() -> None:
    raw = crlf(
        "Subject: rajat\nContent-Type: multipart/mixed; boundary=X\n\n--Y\nContent-Type: text/plain\n\n"
        "teksti joka silti näkyy\n--Y--\n"
    )
    parsed = parse_message(raw)
    assert "teksti joka silti näkyy" in parsed.body_text
    assert "boundary not found" in parsed.parse_note


def test_undisclosed_recipients_group_is_no_recipient() -> None:
    parsed = parse_message(fixture("undisclosed_recipients.eml"))

    assert parsed.to == ()
    assert parsed.from_name == "Hyvinvointialueen viestintä"
    assert parsed.body_text == "Terveysasemat ovat suljettuina 24.–26.12."
    assert parsed.parse_note == ""


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('Team: a@b.fi, "C, D" <c@d.fi>;', [("", "a@b.fi"), ("C, D", "c@d.fi")]),
        ("a (Matti) <a@b.fi>", [("a (Matti)", "a@b.fi")]),
        ('"=?utf-8?q?Virtanen=2C_Liisa?=" <l@v.fi>', [("Virtanen, Liisa", "l@v.fi")]),
        ("=?utf-8?q?Virtanen=2C_Liisa?= <l@v.fi>, x@y.fi", [("Virtanen, Liisa", "l@v.fi"), ("", "x@y.fi")]),
        ("Matti <matti@ex.fi", [("Matti", "matti@ex.fi")]),
        ("<>", [("<>", "")]),  # nothing to read: kept as text, with a note
    ],
)
def test_addresses_groups_comments_and_broken_ones(header: str, expected: list[tuple[str, str]]) -> None:
    parsed = parse_message(crlf(f"To: {header}\n\nb\n"))
    assert [tuple(address) for address in parsed.to] == expected
    assert addresses_text(parsed.to) == ", ".join(
        f"{name} <{addr}>" if name and addr else name or addr for name, addr in expected
    )


_ATOM = st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöABC0123456789.-_", min_size=1, max_size=12)


@given(
    st.lists(
        st.tuples(
            st.one_of(st.just(""), _ATOM, st.builds(lambda a, b: f'"{a}, {b}"', _ATOM, _ATOM)),
            st.builds(lambda user, domain: f"{user}@{domain}.fi", _ATOM, _ATOM),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_fast_address_path_agrees_with_the_standard_library(mailboxes: list[tuple[str, str]]) -> None:
    header = ", ".join(f"{name} <{addr}>" if name else addr for name, addr in mailboxes)
    fast = parse._simple_addresses(header)
    if fast is not None:
        assert [(" ".join(name.split()), addr) for name, addr in fast] == [
            (" ".join(name.split()), addr) for name, addr in getaddresses([header])
        ]


def test_a_one_megabyte_header_line_is_cut_quickly() -> None:
    raw = (
        b"Subject: " + b"=?utf-8?q?H=C3=A4iri=C3=B6?= " * 40_000 + b"\r\n"
        b"To: " + b'"Virtanen, Liisa" <l@v.fi>, ' * 40_000 + b"\r\n"
        b"Content-Type: text/plain; charset=utf-8;" + b" x=1;" * 200_000 + b"\r\n\r\nrunko\r\n"
    )
    assert len(raw) > 3_000_000
    started = time.perf_counter()
    parsed = parse_message(raw)
    # Generous: the stdlib's own header parsing takes minutes on this (quadratic).
    assert time.perf_counter() - started < 5
    assert parsed.subject.startswith("HäiriöHäiriö")
    assert len(parsed.subject) <= 500
    assert parsed.to[0] == Address("Virtanen, Liisa", "l@v.fi")
    assert parsed.body_text == "runko"
    assert "header Subject" in parsed.parse_note and "cut" in parsed.parse_note


def test_forwarded_message_attachments_are_listed_with_imap_part_numbers() -> None:
    parsed = parse_message(fixture("forwarded_rfc822.eml"))

    assert parsed.subject == "VL: Päivystyslista joulukuu"
    assert parsed.attachments == (
        Attachment("2", "Päivystyslista joulukuu.eml", "message/rfc822", parsed.attachments[0].size),
        Attachment("2.2", "paivystys_12_2026.xls", "application/vnd.ms-excel", 304),
    )
    assert parsed.attachments[0].size > 1000
    assert parsed.body_text.startswith("Tiedoksi, alla Sannan viesti.\n\n---------- Forwarded message")
    assert "From: Sanna Keränen <sanna.keranen@example.fi>" in parsed.body_text
    assert parsed.body_text.endswith("Hei Matti, liitteenä joulukuun päivystyslista.")
    assert parsed.has_attachments


def test_imap_part_numbers_of_nested_multiparts_and_a_single_part_forward() -> None:
    inner = "Subject: sisempi\n\nsisempi teksti\n"
    raw = crlf(
        "Content-Type: multipart/mixed; boundary=A\n\n"
        "--A\nContent-Type: multipart/alternative; boundary=B\n\n"
        "--B\nContent-Type: text/plain\n\nteksti\n--B\nContent-Type: text/html\n\n<p>teksti</p>\n--B--\n"
        "--A\nContent-Type: image/png; name=kuva.png\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"
        f"--A\nContent-Type: message/rfc822\n\n{inner}"
        "--A--\n"
    )
    parsed = parse_message(raw)
    assert [(item.part, item.filename, item.size) for item in parsed.attachments] == [
        ("2", "kuva.png", 8),
        ("3", "sisempi.eml", parsed.attachments[1].size),
    ]
    assert parsed.body_text.startswith("teksti\n\n---------- Forwarded message ----------\nSubject: sisempi")
    assert parsed.body_text.endswith("sisempi teksti")


def test_message_rfc822_sent_base64_is_decoded() -> None:
    inner = crlf("From: a@b.fi\nSubject: sisempi\n\nsisempi teksti\n")
    raw = b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(
        inner
    )
    parsed = parse_message(raw)
    assert parsed.attachments[0][:3] == ("1", "sisempi.eml", "message/rfc822")
    assert parsed.body_text.endswith("sisempi teksti")


def test_tnef_winmail_dat_is_listed_as_an_attachment() -> None:
    parsed = parse_message(fixture("tnef_winmail.eml"))

    assert parsed.body_text == "Ohje on liitteena."
    assert parsed.attachments == (Attachment("2", "winmail.dat", "application/ms-tnef", 1004),)
    assert parsed.has_attachments


def test_nameless_tnef_part_gets_its_usual_name() -> None:
    raw = crlf(
        "Content-Type: multipart/mixed; boundary=X\n\n--X\nContent-Type: text/plain\n\nohje\n"
        "--X\nContent-Type: application/ms-tnef\nContent-Transfer-Encoding: base64\n\neJ8+IgAA\n--X--\n"
    )
    assert parse_message(raw).attachments == (Attachment("2", "winmail.dat", "application/ms-tnef", 6),)


def test_calendar_invite_what_when_where() -> None:
    parsed = parse_message(fixture("calendar_invite.eml"))

    assert parsed.calendar == CalendarInvite(
        what="Työjonohäiriön jälkipuinti, osa 1",
        start=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),  # 10.00 in Helsinki ("FLE Standard Time")
        end=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        where="Neuvotteluhuone Kallavesi (B-talo, 3. krs)",
        method="REQUEST",
    )
    assert not parsed.calendar.all_day
    assert parsed.body_text == "Käydään läpi työjonon häiriö ja jatkotoimet.\n\nLiity Teamsiin."
    assert parsed.attachments == ()  # the invite is shown as the invite, not as a file
    assert parsed.parse_note == ""


@pytest.mark.parametrize(
    ("lines", "start", "end"),
    [
        (
            ["DTSTART:20261201T080000Z", "DTEND:20261201T090000Z"],
            datetime(2026, 12, 1, 8, tzinfo=UTC),
            datetime(2026, 12, 1, 9, tzinfo=UTC),
        ),
        (
            ["DTSTART;VALUE=DATE:20261224", "DTEND;VALUE=DATE:20261225"],
            date(2026, 12, 24),
            date(2026, 12, 25),
        ),
        (
            ['DTSTART;TZID="(UTC+02:00) Helsinki, Kyiv, Riga":20260615T120000', "DURATION:PT1H30M"],
            datetime(2026, 6, 15, 9, tzinfo=UTC),  # summer time: UTC+3
            datetime(2026, 6, 15, 10, 30, tzinfo=UTC),
        ),
        (["DTSTART;TZID=Europe/Stockholm:20261201T100000"], datetime(2026, 12, 1, 9, tzinfo=UTC), None),
        (["DTSTART:20261201T100000"], datetime(2026, 12, 1, 8, tzinfo=UTC), None),  # floating: Helsinki
        (["DTSTART:tomorrow"], None, None),
    ],
)
def test_calendar_times(lines: list[str], start: object, end: object) -> None:
    ics = "\n".join(
        ["BEGIN:VCALENDAR", "BEGIN:VEVENT", "SUMMARY:Palaveri", *lines, "END:VEVENT", "END:VCALENDAR"]
    )
    raw = crlf(f"Content-Type: text/calendar; method=PUBLISH\n\n{ics}\n")
    invite = parse_message(raw).calendar
    assert invite is not None
    assert (invite.what, invite.start, invite.method) == ("Palaveri", start, "PUBLISH")
    assert invite.end == end
    assert invite.all_day == (isinstance(start, date) and not isinstance(start, datetime))


def test_hostile_subject_sender_and_body_lose_escapes_and_keep_markup_literal() -> None:
    parsed = parse_message(fixture("hostile_subject.eml"))

    assert_display_safe(parsed)
    # The OSC 8 link, the screen clear and the right-to-left override are gone; Textual markup
    # is left as literal text (the screens show it as plain text).
    assert parsed.subject == "Kirjaudu [@click=app.quit] fdp.exe [b]TOIMI HETI[/b]"
    assert parsed.from_name == "IT-tuki akitsuk"
    assert parsed.body_text == (
        "Hei! Salasanasi vanhenee. [@click=app.quit]Kirjaudu[/] tästä.\nRivi jossa NUL ja RLM ja isolaatti."
    )
    assert "\x1b" not in parsed.snippet


@pytest.mark.parametrize("raw", [b"", b"\r\n \r\n", b"\x00" * 10])
def test_empty_input_gives_a_record_with_a_note(raw: bytes) -> None:
    parsed = parse_message(raw)
    assert parsed.parse_note
    assert parsed.body_text == parsed.subject == ""


def test_random_bytes_give_a_record_with_a_note() -> None:
    generator = random.Random(20261126)
    for _ in range(20):
        parsed = parse_message(generator.randbytes(generator.randrange(1, 20_000)))
        assert_display_safe(parsed)
        assert parsed.parse_note


@pytest.mark.parametrize(
    ("header", "expected", "noted"),
    [
        ("", None, False),
        ("Date: 32.13.2026 klo 25\n", None, True),
        ("Date: Thu, 26 Nov 2026 09:11:58 +9999\n", None, True),
        ("Date: Thu, 31 Feb 2026 09:11:58 +0200\n", None, True),
        ("Date: 26 Nov 2026 09:11:58 -0000\n", datetime(2026, 11, 26, 9, 11, 58, tzinfo=UTC), False),
        ("Date: Thu, 26 Nov 26 09:11 EET\n", datetime(2026, 11, 26, 9, 11, tzinfo=UTC), False),
        (
            "Date: Thu, 26 Nov 2026 09:11:58 +0200 (EET)\n",
            datetime(2026, 11, 26, 7, 11, 58, tzinfo=UTC),
            False,
        ),
    ],
)
def test_date_missing_or_garbage_is_none(header: str, expected: datetime | None, noted: bool) -> None:
    parsed = parse_message(crlf(f"Subject: x\n{header}\nb\n"))
    assert parsed.date == expected
    assert ("Date" in parsed.parse_note) == noted


def test_body_is_cut_at_the_text_limit_with_a_mark() -> None:
    raw = b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + "häiriö ".encode() * 100_000
    parsed = parse_message(raw, text_limit=1000)
    assert parsed.body_cut
    assert parsed.body_text.endswith("\n…")
    assert len(parsed.body_text) == 1000 + len("\n…")
    whole = parse_message(raw).body_text
    assert len(whole) == 256 * 1024 + len("\n…")
    assert whole.count("häiriö") == 256 * 1024 // len("häiriö ")


def test_deeply_nested_multiparts_do_not_recurse_without_end() -> None:
    depth = 60
    raw = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(depth)
    )
    raw += b"Content-Type: text/plain\r\n\r\nsyvalla\r\n"
    raw += b"".join(b"--b%d--\r\n" % i for i in reversed(range(depth)))
    parsed = parse_message(raw)
    assert "nested too deep" in parsed.parse_note


def test_a_failing_body_walk_still_stores_headers_and_raw_text(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(parse._Walker, "message", broken)
    parsed = parse_message(fixture("undisclosed_recipients.eml"))
    assert parsed.subject == "Tiedote: joulun aukioloajat"
    assert "Terveysasemat ovat suljettuina 24.=E2=80=9326.12." in parsed.body_text  # raw, not decoded
    assert "the body could not be read (RuntimeError)" in parsed.parse_note


def test_a_failing_parse_falls_back_to_a_header_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(parse, "_parse", broken)
    parsed = parse_message(fixture("outlook_alternative_cp1252.eml"))
    assert parsed.subject == "Häiriö työjonossa"
    assert (parsed.from_name, parsed.from_addr) == ("Mäkelä Matti", "matti.makela@pshyvinvointialue.fi")
    assert parsed.message_id.startswith("<HE1PR0701MB2345A1B2C3D4E5F6@")
    assert thread_key(parsed) == "<20261120.root0001@digifinland.fi>"
    assert parsed.date == datetime(2026, 11, 26, 7, 11, 58, tzinfo=UTC)
    assert parsed.body_text == ""
    assert parsed.parse_note.startswith("the message could not be parsed")


def test_inline_images_of_an_html_body_are_listed_without_a_paperclip() -> None:
    raw = crlf(
        "Content-Type: multipart/alternative; boundary=A\n\n--A\nContent-Type: text/plain\n\nteksti\n"
        '--A\nContent-Type: multipart/related; boundary=B; type="text/html"\n\n'
        '--B\nContent-Type: text/html\n\n<p>teksti <img src="cid:image001"></p>\n'
        "--B\nContent-Type: image/png; name=image001.png\nContent-ID: <image001>\n"
        "Content-Disposition: inline; filename=image001.png\n"
        "Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"
        "--B--\n--A--\n"
    )
    parsed = parse_message(raw)
    assert parsed.body_text == "teksti"
    assert parsed.attachments == (Attachment("2.2", "image001.png", "image/png", 8),)
    assert not parsed.has_attachments


def test_signatures_are_listed_without_a_paperclip() -> None:
    raw = crlf(
        'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary=S\n\n'
        "--S\nContent-Type: text/plain\n\nallekirjoitettu\n"
        "--S\nContent-Type: application/pkcs7-signature; name=smime.p7s\n"
        "Content-Transfer-Encoding: base64\n\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\n--S--\n"
    )
    parsed = parse_message(raw)
    assert parsed.body_text == "allekirjoitettu"
    assert parsed.attachments == (Attachment("2", "smime.p7s", "application/pkcs7-signature", 21),)
    assert not parsed.has_attachments


def test_address_display() -> None:
    assert Address("Virtanen, Liisa", "l@v.fi").display == "Virtanen, Liisa <l@v.fi>"
    assert Address("", "l@v.fi").display == "l@v.fi"
    assert Address("undisclosed", "").display == "undisclosed"


def test_source_text_is_display_safe() -> None:
    text = source_text(fixture("hostile_subject.eml"))
    assert "Subject: =?utf-8?q?" in text
    assert not UNSAFE.search(text)
    assert source_text(b"x" * 100, limit=10) == "x" * 10 + "\n…"


# --- never raise, always display-safe -----------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_fixture_is_display_safe(name: str) -> None:
    assert_display_safe(parse_message(fixture(name)))


PROPERTY_SETTINGS = settings(
    max_examples=150,
    # A bound that catches quadratic blow-ups without being flaky on a busy machine.
    deadline=3000,
    suppress_health_check=[HealthCheck.too_slow],
)


@PROPERTY_SETTINGS
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    assert_display_safe(parse_message(raw))


@st.composite
def mutated_fixtures(draw: st.DrawFn) -> bytes:
    data = bytearray(fixture(draw(st.sampled_from(FIXTURE_NAMES))))
    for _ in range(draw(st.integers(1, 12))):
        position = draw(st.integers(0, max(0, len(data) - 1)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "cut", "duplicate"]))
        if action == "flip" and data:
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif action == "insert":
            data[position:position] = draw(
                st.one_of(
                    st.binary(min_size=1, max_size=8),
                    st.sampled_from(
                        [b"\r\n", b"\r\n\r\n", b"--", b"=?", b"?=", b";", b'"', b"<", b"\x1b[", b":"]
                    ),
                )
            )
        elif action == "delete" and data:
            del data[position : position + draw(st.integers(1, 16))]
        elif action == "cut":
            del data[position:]
        elif action == "duplicate":
            data[position:position] = data[position : position + draw(st.integers(1, 200))]
    return bytes(data)


@PROPERTY_SETTINGS
@given(mutated_fixtures())
def test_mutated_fixtures_never_raise(raw: bytes) -> None:
    assert_display_safe(parse_message(raw))


@PROPERTY_SETTINGS
@given(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"])
        | st.sampled_from('\x1b\x9b\u202e\r\n:;<>"=?'),
        max_size=300,
    )
)
def test_arbitrary_header_and_body_text_is_cleaned(text: str) -> None:
    raw = f"Subject: {text}\nFrom: {text} <a@b.fi>\nTo: {text}\nContent-Type: text/plain; charset=utf-8\n\n"
    raw += text
    assert_display_safe(parse_message(raw.encode("utf-8")))
