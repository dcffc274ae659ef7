"""The parser's and the sync's bounds on mail bombs: deep nesting and thousands of parts.

The same bombs go through the real IMAP sync in tests/integration/test_mail_bomb.py; these pin
the rules: how deep is too deep, that siblings are not depth, and what the skeleton of a large
message (built from its BODYSTRUCTURE) keeps.
"""

from __future__ import annotations

from coordinator_tui.mail.parse import MAX_DEPTH, MAX_NESTING, MAX_PARTS, _multipart_nesting, parse_message
from coordinator_tui.mail.sync import _leaves, _skeleton
from tests.support.bombs import deep_nesting, many_attachments, normal_message


def sibling_alternatives(count: int) -> bytes:
    """``count`` multipart/alternative parts side by side in one multipart/mixed."""
    parts = [
        b"From: a@example.fi\r\nSubject: sisaruksia\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="top"\r\n\r\n'
    ]
    for number in range(count):
        parts.append(
            f'--top\r\nContent-Type: multipart/alternative; boundary="alt{number}"\r\n\r\n'
            f"--alt{number}\r\nContent-Type: text/plain\r\n\r\nteksti {number}\r\n"
            f"--alt{number}\r\nContent-Type: text/html\r\n\r\n<p>teksti {number}</p>\r\n"
            f"--alt{number}--\r\n".encode()
        )
    parts.append(b"--top--\r\n")
    return b"".join(parts)


def test_nesting_deeper_than_the_bound_is_shown_raw_with_a_note() -> None:
    parsed = parse_message(deep_nesting(1000))
    assert parsed.subject == "Pommi: 1000 sisäkkäistä osaa"
    assert "MIME parts nested too deep (1000 levels)" in parsed.parse_note
    assert "Pohjalla on teksti." in parsed.body_text


def test_nesting_within_the_bound_is_parsed_and_the_innermost_skipped() -> None:
    raw = deep_nesting(MAX_NESTING)
    assert _multipart_nesting(raw) == MAX_NESTING
    parsed = parse_message(raw)
    assert parsed.parse_note == "MIME parts nested too deep, the innermost skipped"
    assert parsed.body_text == ""


def test_siblings_are_not_depth() -> None:
    raw = sibling_alternatives(3 * MAX_NESTING)
    assert _multipart_nesting(raw) == 2
    parsed = parse_message(raw)
    assert "nested too deep" not in parsed.parse_note
    assert parsed.body_text.startswith("teksti 0")
    assert _multipart_nesting(normal_message(1)) == 0


def test_the_skeleton_of_a_large_message_stops_where_the_parser_stops() -> None:
    # Dovecot's BODYSTRUCTURE of the nested bomb: 100 levels (its cap), a text part at the bottom.
    structure: object = (b"text", b"plain", (b"charset", b"utf-8"), None, None, b"8bit", 10, 1)
    for _level in range(100):
        structure = ([structure], b"mixed", (b"boundary", b"b"), None, None, None)
    skeleton = _skeleton(b"Subject: syva\r\n", structure, {})
    assert MAX_DEPTH < _multipart_nesting(skeleton) <= MAX_DEPTH + 2
    assert parse_message(skeleton).parse_note == "MIME parts nested too deep, the innermost skipped"

    attached = (b"attachment", None)
    leaf = (b"text", b"plain", (b"name", b"liite.txt"), None, None, b"7bit", 10, 1, None, attached)
    wide = ([leaf] * 10_000, b"mixed", (b"boundary", b"b"), None, None, None)
    assert len(_leaves(wide)) == 10_000
    parsed = parse_message(_skeleton(b"Subject: levea\r\n", wide, {}))
    assert len(parsed.attachments) == MAX_PARTS
    assert parsed.parse_note == f"more than {MAX_PARTS} MIME parts, the rest skipped"


def test_ten_thousand_attachments_fetched_whole_are_listed_up_to_the_cap() -> None:
    parsed = parse_message(many_attachments())
    assert parsed.body_text == "Hei, liitteitä tulee."
    assert [item.filename for item in parsed.attachments] == [f"liite-{n}.txt" for n in range(1, MAX_PARTS)]
    assert f"more than {MAX_PARTS} MIME parts" in parsed.parse_note
