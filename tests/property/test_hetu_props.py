"""The henkilötunnus guard: every code the algorithm makes is caught, near misses are not (issue 9).

The oracle below is written from DVV's rule again, independently of coordinator_tui.hetu.
"""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from coordinator_tui.hetu import contains_hetu, find_hetus

SETTINGS = settings(max_examples=200, deadline=None)
ALPHABET = "0123456789ABCDEFHJKLMNPRSTUVWXY"
SIGNS = {1800: "+", 1900: "-YXWVU", 2000: "ABCDEF"}
ALL_SIGNS = "+-YXWVUABCDEF"
# Characters around a code that end a word: it stands alone between them.
SEPARATORS = st.sampled_from(
    [" ", "\n", "\t", ",", ".", ":", "(", ")", "'", '"', "<", ">", "/", "-", "", "\u00a0"]
)
FILLER = st.text(alphabet=st.sampled_from("abc xyz ÄÖ.,:;\n-"), max_size=30)


def oracle(candidate: str) -> bool:
    """Is this exact 11-character string a valid code (upper or lower case)?"""
    if len(candidate) != 11:
        return False
    code = candidate.upper()
    day, month, year, sign, number, check = code[0:2], code[2:4], code[4:6], code[6], code[7:10], code[10]
    if not (day + month + year + number).isascii() or not (day + month + year + number).isdigit():
        return False
    century = next((c for c, signs in SIGNS.items() if sign in signs), None)
    if century is None:
        return False
    try:
        date(century + int(year), int(month), int(day))
    except ValueError:
        return False
    return ALPHABET[int(day + month + year + number) % 31] == check


def make(day: date, sign: str, number: int) -> str:
    digits = day.strftime("%d%m") + f"{day.year % 100:02d}" + f"{number:03d}"
    return digits[:6] + sign + digits[6:] + ALPHABET[int(digits) % 31]


@st.composite
def valid_codes(draw: st.DrawFn) -> str:
    day = draw(st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31)))
    sign = draw(st.sampled_from(SIGNS[day.year // 100 * 100]))
    code = make(day, sign, draw(st.integers(min_value=0, max_value=999)))
    return code.lower() if draw(st.booleans()) else code


@SETTINGS
@given(valid_codes(), FILLER, FILLER, SEPARATORS, SEPARATORS)
def test_every_valid_code_is_caught_wherever_it_stands(
    code: str, before: str, after: str, left: str, right: str
) -> None:
    assert oracle(code)
    if not left and before and before[-1].isalnum():
        left = " "
    if not right and after and after[0].isalnum():
        right = " "
    text = before + left + code + right + after
    matches = find_hetus(text)
    assert any(text[match.start : match.end].upper() == code.upper() for match in matches), text
    for match in matches:
        assert code not in match.masked and "***" in match.masked


@SETTINGS
@given(
    valid_codes(),
    st.integers(min_value=0, max_value=10),
    st.sampled_from("0123456789" + ALPHABET + ALL_SIGNS + "GZIOQ"),
)
def test_a_near_miss_is_caught_only_if_it_is_itself_valid(code: str, position: int, replacement: str) -> None:
    """One character changed: caught exactly when the result is a valid code by the oracle."""
    mutated = code[:position] + replacement + code[position + 1 :]
    assert contains_hetu(f"tunnus {mutated} tässä") == oracle(mutated), mutated


@SETTINGS
@given(valid_codes(), st.sampled_from(["swap", "drop", "extra-digit", "extra-letter", "glued"]))
def test_other_near_misses_are_not_caught(code: str, how: str) -> None:
    if how == "swap":  # two neighbouring characters swapped
        for index in range(10):
            changed = code[:index] + code[index + 1] + code[index] + code[index + 2 :]
            assert contains_hetu(changed) == oracle(changed), changed
        return
    if how == "drop":
        changed = code[:-1]
    elif how == "extra-digit":
        changed = "1" + code
    elif how == "extra-letter":
        changed = code + "x"
    else:
        changed = "tunnus" + code
    assert not contains_hetu(changed), changed


@SETTINGS
@given(
    st.text(
        alphabet=st.sampled_from("0123456789" + ALL_SIGNS + ALPHABET.lower() + "GZ "),
        min_size=11,
        max_size=11,
    )
)
def test_random_candidates_agree_with_the_oracle(candidate: str) -> None:
    assert contains_hetu(candidate) == oracle(candidate), candidate
