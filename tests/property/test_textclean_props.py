"""textclean itself: any text in, displayable text out, and cleaning twice changes nothing (issue 9)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from coordinator_tui.textclean import clean_line, clean_text
from coordinator_tui.widgets.safe import plain, plain_block, plain_cell
from tests.property.displayable import FORBIDDEN, FORBIDDEN_IN_LINE
from tests.support.hostile import CATALOGUE

SETTINGS = settings(max_examples=200, deadline=None)
TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.one_of(st.sampled_from([item.text[:300] for item in CATALOGUE]), st.text(max_size=10)), max_size=6
    ).map("".join),
)


@SETTINGS
@given(TEXT)
def test_clean_text_leaves_nothing_hostile_and_is_stable(text: str) -> None:
    cleaned = clean_text(text)
    assert not FORBIDDEN.search(cleaned), repr(cleaned)
    assert "\x1b" not in cleaned
    assert clean_text(cleaned) == cleaned


@SETTINGS
@given(TEXT, st.integers(min_value=2, max_value=600))
def test_clean_line_is_one_short_line(text: str, limit: int) -> None:
    cleaned = clean_line(text, limit)
    assert not FORBIDDEN_IN_LINE.search(cleaned), repr(cleaned)
    assert len(cleaned) <= limit
    assert clean_line(cleaned, limit) == cleaned


@SETTINGS
@given(TEXT)
def test_safe_widgets_content_is_plain(text: str) -> None:
    for content in (plain(text), plain_block(text)):
        assert not FORBIDDEN.search(content.plain), repr(content.plain)
        assert not content.spans  # never markup: no styles or actions came from the text
    cell = plain_cell(text)
    assert not FORBIDDEN_IN_LINE.search(cell.plain) and not cell.spans
