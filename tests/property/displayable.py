"""What "displayable" means for text the app stores or shows: textclean would leave it as it is."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

from coordinator_tui.textclean import clean_line, clean_text

# Controls (but newline), DEL, C1, bidi embeddings/overrides/isolates and marks, lone surrogates.
FORBIDDEN = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
FORBIDDEN_IN_LINE = re.compile(
    "[\n\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def assert_block(text: str, where: str = "") -> None:
    """Multi-line text: cleaning changes nothing, and no control or bidi character is in it."""
    assert isinstance(text, str), where
    assert clean_text(text) == text, f"{where}: {text[:200]!r}"
    assert not FORBIDDEN.search(text), f"{where}: {text[:200]!r}"


def assert_line(text: str, where: str = "") -> None:
    """One line (a subject, a name, a title): no newline either."""
    assert isinstance(text, str), where
    assert clean_line(text, limit=10**9) == text, f"{where}: {text[:200]!r}"
    assert not FORBIDDEN_IN_LINE.search(text), f"{where}: {text[:200]!r}"


def strings_in(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every str inside a dataclass / tuple / list / dict, with where it was."""
    if isinstance(value, str):
        yield path, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from strings_in(getattr(value, field.name), f"{path}.{field.name}")
    elif isinstance(value, tuple) and hasattr(value, "_fields"):
        for name in value._fields:
            yield from strings_in(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from strings_in(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(item, f"{path}[{key!r}]")
