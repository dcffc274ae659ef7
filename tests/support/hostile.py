"""A catalogue of hostile strings: whatever an attacker (or a broken sender) can put in a field we show.

Each entry has a name (for test ids), the raw string, and the marker: a harmless word that must be
visible on screen after the hostile parts are cleaned away or shown literally. ``LITERAL`` entries are
markup-like text that must appear exactly as written (a Textual/Rich parser would have eaten it).
"""

from __future__ import annotations

from typing import NamedTuple


class Hostile(NamedTuple):
    name: str
    text: str
    visible: str  # what the user must read on screen (a plain substring of the cleaned text)


ESC = "\x1b"
BEL = "\x07"
ST = ESC + "\\"

# Markup of every form: Rich/Textual tags, upper case, `$` variables, actions, links, closing tags.
MARKUP = (
    Hostile("click-quit", "[@click=app.quit]Klik[/]", "[@click=app.quit]Klik[/]"),
    Hostile("click-upper", "[@CLICK=APP.QUIT]Iso[/]", "[@CLICK=APP.QUIT]Iso[/]"),
    Hostile("bold", "[b]Lihava[/b]", "[b]Lihava[/b]"),
    Hostile("bold-upper", "[B]LIHAVA[/B] [BOLD RED]x[/]", "[B]LIHAVA[/B] [BOLD RED]x[/]"),
    Hostile("var", "[$accent]Muuttuja[/]", "[$accent]Muuttuja[/]"),
    Hostile("var-bg", "[on $error]Tausta[/]", "[on $error]Tausta[/]"),
    Hostile("link", "[link=https://evil.example]Linkki[/link]", "[link=https://evil.example]Linkki[/link]"),
    Hostile("close", "Sulje[/] [/b] [/link]", "Sulje[/] [/b] [/link]"),
    Hostile("escape", "Kenoviiva \\[b] \\", "Kenoviiva \\[b] \\"),
    Hostile("patch", "Re: [PATCH] fix", "Re: [PATCH] fix"),
    Hostile("emoji-code", ":smile: :warning: Hymy", ":smile: :warning: Hymy"),
)

# Terminal escapes: colours, cursor moves, title, OSC 52 clipboard write, OSC 8 link, DCS, C1 CSI.
ESCAPES = (
    Hostile("csi-red", ESC + "[31mPunainen" + ESC + "[0m", "Punainen"),
    Hostile("csi-clear", ESC + "[2J" + ESC + "[HTyhjä", "Tyhjä"),
    Hostile("osc-title", ESC + "]0;pwned" + BEL + "Otsikko", "Otsikko"),
    Hostile("osc52", ESC + "]52;c;" + "cm0gLXJmIH4=" + BEL + "Leikepöytä", "Leikepöytä"),
    Hostile("osc52-st", ESC + "]52;p;ZWNobyBoaQ==" + ST + "Leike2", "Leike2"),
    Hostile("osc8", ESC + "]8;;https://evil.example" + ST + "Linkki8" + ESC + "]8;;" + ST, "Linkki8"),
    Hostile("dcs", ESC + "P1$qm" + ST + "Dcs", "Dcs"),
    Hostile("c1-csi", "\x9b31mC1csi", "C1csi"),
    Hostile("c1-osc", "\x9d0;title\x9cC1osc", "C1osc"),
    Hostile("esc-lone", "Yksin" + ESC, "Yksin"),
)

# Controls and invisible characters.
CONTROLS = (
    Hostile("c0", "Ohjaus\x01\x02\x03\x07\x08\x0b\x0c\x0e\x1fmerkit", "Ohjaus"),
    Hostile("c1", "Cee\x80\x85\x8d\x9fyksi", "Cee"),
    Hostile("nul", "Nolla\x00tavu", "Nolla"),
    Hostile("del-cr", "Rivi\x7f\rpalautus", "Rivi"),
    Hostile("bidi-rlo", "\u202eSuunta" + "\u202c", "Suunta"),
    Hostile("bidi-isolates", "\u2066\u2067\u2068Eristys\u2069", "Eristys"),
    Hostile("bidi-marks", "\u200f\u200e\u061cMerkit", "Merkit"),
    Hostile("zwj", "Lii\u200dtos\u200c\u200bpiilo\u2060", "piilo"),
    Hostile("bom-tags", "\ufeffTagi\U000e0041\U000e0042", "Tagi"),
    Hostile("surrogate", "Pari\ud800\udfffrikki", "Pari"),
)

LONG = (Hostile("long-line", "Pitkä " + "x" * 10_000, "Pitkä"),)

CATALOGUE: tuple[Hostile, ...] = MARKUP + ESCAPES + CONTROLS + LONG
BY_NAME = {item.name: item for item in CATALOGUE}

# Characters that must never reach the terminal (nor an SVG screenshot of it).
RAW_FORBIDDEN = (
    [chr(code) for code in range(0x00, 0x09)]
    + [chr(code) for code in range(0x0B, 0x20)]
    + [chr(code) for code in range(0x7F, 0xA0)]
    + ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
)


def raw_forbidden_in(text: str) -> list[str]:
    """The forbidden characters found in ``text`` (as repr), for an assertion message."""
    return sorted({repr(char) for char in text if char in RAW_FORBIDDEN})


def encodable(text: str) -> str:
    """``text`` with lone surrogates replaced: what can be written to a file or a socket at all."""
    return text.encode("utf-8", "replace").decode("utf-8")
