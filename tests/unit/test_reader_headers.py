"""The reader's full-header view: encoded words decoded, folded headers joined, nothing unsafe shown."""

from __future__ import annotations

from coordinator_tui.widgets.mailreader import decoded_headers
from coordinator_tui.widgets.safe import plain_block


def test_encoded_words_are_decoded_and_folded_lines_joined() -> None:
    block = (
        "Subject: =?utf-8?q?H=C3=A4iri=C3=B6?=\n =?utf-8?q?_ty=C3=B6jonossa?=\n"
        "From: =?iso-8859-1?q?P=E4ivi?= <paivi@kunta.example.fi>\n"
        "To: koordinaattori@example.fi"
    )
    assert decoded_headers(block).splitlines() == [
        "Subject: Häiriö työjonossa",
        "From: Päivi <paivi@kunta.example.fi>",
        "To: koordinaattori@example.fi",
    ]


def test_a_broken_encoded_word_stays_as_sent() -> None:
    assert decoded_headers("X-Odd: =?no-such-charset?q?x?=") == "X-Odd: =?no-such-charset?q?x?="
    assert decoded_headers("X-Bad: =?utf-8?b?###?=") == "X-Bad: =?utf-8?b?###?="


def test_an_escape_hidden_in_an_encoded_word_is_not_shown() -> None:
    decoded = decoded_headers("Subject: =?utf-8?q?=1B]52;c;aGk=3D=07click?=")
    assert "\x1b" in decoded  # decoding reveals it ...
    shown = plain_block(decoded).plain
    assert "\x1b" not in shown and "\x07" not in shown  # ... and the display strips it
