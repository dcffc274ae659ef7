"""Turning untrusted text into widget content that is never parsed as markup."""

from __future__ import annotations

from rich.text import Text
from textual.content import Content

from coordinator_tui.textclean import SINGLE_LINE_LIMIT, clean_line, clean_text


def plain(value: object, limit: int = SINGLE_LINE_LIMIT) -> Content:
    """One line of untrusted text as literal content: no markup, no escapes, no controls."""
    return Content(clean_line(value, limit=limit))


def plain_block(value: object) -> Content:
    """Multi-line untrusted text as literal content."""
    return Content(clean_text(value))


def plain_cell(value: object) -> Text:
    """One line of untrusted text for a DataTable cell (which takes rich Text, and parses a str)."""
    return Text(clean_line(value), no_wrap=True, overflow="ellipsis")
