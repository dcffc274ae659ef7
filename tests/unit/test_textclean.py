"""Untrusted text loses escapes, controls and hiding tricks, and keeps every visible character."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordinator_tui.textclean import clean_line, clean_text

FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b\ufeff\U000e0000-\U000e007f]"
)


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("\x1b[31mred\x1b[0m", "red"),
        ("a\x1b]0;evil title\x07b", "ab"),  # OSC window title
        ("a\x1b]52;c;ZXZpbA==\x1b\\b", "ab"),  # OSC 52 clipboard
        ("a\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\b", "alinkb"),  # OSC 8 hyperlink
        ("\u202eevil", "evil"),
        ("x\u200by", "xy"),
        ("tag\U000e0041s", "tags"),
        ("Hei \x9d ja tämä jää\nrivi", "Hei  ja tämä jää\nrivi"),  # unterminated: the text stays
        ("[@click=app.quit]x[/]", "[@click=app.quit]x[/]"),  # markup is not this module's job
        ("👩\u200d💻 Häiriö", "👩\u200d💻 Häiriö"),  # the joiner of an emoji stays
        ("rivi 1\r\nrivi 2\u2028rivi 3", "rivi 1\nrivi 2\nrivi 3"),
        ("nul\x00byte", "nulbyte"),
        ("\ud800lone", "\ufffdlone"),
    ],
)
def test_clean_text(dirty: str, clean: str) -> None:
    assert clean_text(dirty) == clean


def test_clean_line_is_one_line_and_capped() -> None:
    assert clean_line("a\nb\tc\u2029d") == "a b c d"
    long = clean_line("x" * 10_000, limit=50)
    assert len(long) == 50 and long.endswith("…")


@given(st.text())
def test_nothing_hidden_or_escaping_survives(text: str) -> None:
    for result in (clean_text(text), clean_line(text)):
        assert not FORBIDDEN.search(result.replace("\n", "").replace("\t", ""))
        assert "\x1b" not in result


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))))
def test_plain_visible_text_is_kept_whole(text: str) -> None:
    assert clean_text(text) == text.replace("\t", "    ")
