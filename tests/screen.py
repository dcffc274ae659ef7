"""Reading what a Pilot-driven app shows, as plain text lines (what a user would read)."""

from __future__ import annotations

import html
import re
from collections import defaultdict

_TEXT = re.compile(r'<text [^>]*clip-path="url\(#[\w-]+-line-(\d+)\)"[^>]*>(.*?)</text>', re.DOTALL)


def screen_text(app) -> str:  # type: ignore[no-untyped-def]
    """The screen as lines of plain text, decoded from Textual's SVG screenshot."""
    lines: dict[int, list[str]] = defaultdict(list)
    for number, content in _TEXT.findall(app.export_screenshot()):
        lines[int(number)].append(html.unescape(content).replace("\xa0", " "))
    return "\n".join("".join(lines[number]) for number in sorted(lines))
