"""Finding Finnish personal identity codes (henkilötunnus) in text that is about to leave the machine.

A code is ``DDMMYY`` + a century sign + ``ZZZ`` (the individual number) + a check character: the
nine digits ``DDMMYYZZZ`` as a number, mod 31, indexed into ``0123456789ABCDEFHJKLMNPRSTUVWXY``.
Century signs: ``+`` 1800s; ``-`` and, since 2023, ``Y X W V U`` the 1900s; ``A`` and, since 2023,
``B C D E F`` the 2000s. Only real dates count (29.2. only in leap years), and a code must stand
alone: not inside a longer run of letters or digits. Lower case is accepted too, since a person
may type a code that way and it still identifies someone.

The matches carry positions and a masked form only, never the code itself, so that a match
passed to a log or an error message cannot leak it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURIES = {
    "+": 1800,
    "-": 1900,
    "Y": 1900,
    "X": 1900,
    "W": 1900,
    "V": 1900,
    "U": 1900,
    "A": 2000,
    "B": 2000,
    "C": 2000,
    "D": 2000,
    "E": 2000,
    "F": 2000,
}

# \w on both sides: "x010190-123T" or "010190-123T5" is not a code standing alone.
_CANDIDATE = re.compile(
    r"(?<!\w)(\d{2})(\d{2})(\d{2})([-+YXWVUABCDEF])(\d{3})([0-9A-Y])(?!\w)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class HetuMatch:
    """Where a valid code is (``text[start:end]``) and how to show it: ``010190-***T``."""

    start: int
    end: int
    masked: str

    def __repr__(self) -> str:  # the default would be fine, but say plainly that no code is inside
        return f"HetuMatch(start={self.start}, end={self.end}, masked={self.masked!r})"


def check_character(digits: str) -> str:
    """The check character for the nine digits ``DDMMYYZZZ``."""
    return CHECK_CHARACTERS[int(digits) % 31]


def _valid(day: str, month: str, year: str, sign: str, number: str, check: str) -> bool:
    century = CENTURIES.get(sign.upper())
    if century is None:
        return False
    try:
        date(century + int(year), int(month), int(day))
    except ValueError:
        return False
    return check_character(day + month + year + number) == check.upper()


def find_hetus(text: str) -> list[HetuMatch]:
    """Every valid henkilötunnus in ``text``, in order."""
    matches: list[HetuMatch] = []
    for found in _CANDIDATE.finditer(text):
        day, month, year, sign, number, check = found.groups()
        if _valid(day, month, year, sign, number, check):
            masked = f"{day}{month}{year}{sign.upper()}***{check.upper()}"
            matches.append(HetuMatch(found.start(), found.end(), masked))
    return matches


def contains_hetu(text: str) -> bool:
    return bool(find_hetus(text))
