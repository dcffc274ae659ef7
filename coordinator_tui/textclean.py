"""Make untrusted text (mail, feeds, names) safe to show: no escapes, no controls, no bidi tricks.

This only cleans characters; screens must still hand the result to widgets as plain text
(``Content(s)`` or ``Text(s)``), never as markup.
"""

from __future__ import annotations

import re

# ESC-introduced sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), DCS/SOS/PM/APC
# (ESC P/X/^/_ ... ST), and two-character escapes. Their C1 forms (0x9b CSI, 0x9d OSC, ...) too.
_ESCAPE_SEQUENCE = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]            # CSI
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])   # OSC, DCS, SOS, PM, APC ...
      [^\x07\x1b\x9c]{0,4096}(?:\x07|\x1b\\|\x9c)  #   ... up to BEL or ST. Unterminated: only the
                                                #   introducer goes (below), the text stays
    | \x1b[ -/]*[0-~]                           # other two-character escapes
    """,
    re.VERBOSE | re.DOTALL,
)

# C0 and C1 controls (except tab and newline, handled per use), DEL, and the invisible
# formatting characters that reorder or hide text: bidi embeddings, overrides and isolates,
# the Arabic letter mark, zero-width space, word joiner and invisible operators, deprecated
# format characters, the BOM/zero-width no-break space, and tag characters. Zero-width joiner
# and non-joiner stay: emoji and some scripts need them.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2069\u206a-\u206f\ufeff"
    "\U000e0000-\U000e007f]"  # tag characters, used to hide text
)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_WHITESPACE_RUN = re.compile("[\t\n\r\v\f\u2028\u2029]+")

SINGLE_LINE_LIMIT = 500


def clean_text(value: object, *, keep_newlines: bool = True) -> str:
    """Remove terminal escapes, control and bidi-override characters; keep the visible text."""
    text = "" if value is None else str(value)
    if not text:
        return ""
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = _LONE_SURROGATE.sub("\ufffd", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    if keep_newlines:
        text = text.replace("\t", "    ")
        return _INVISIBLE.sub("", text)
    text = _WHITESPACE_RUN.sub(" ", text)
    return _INVISIBLE.sub("", text)


def clean_line(value: object, limit: int = SINGLE_LINE_LIMIT) -> str:
    """One line of cleaned text for a list cell or a title, cut at ``limit`` characters."""
    text = clean_text(value, keep_newlines=False)
    if len(text) > limit:
        return text[: limit - 1] + "…"
    return text
