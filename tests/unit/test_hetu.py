"""The henkilötunnus finder: valid codes are found wherever they stand alone, nothing else is."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordinator_tui.hetu import contains_hetu, find_hetus

ALPHABET = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def check(nine_digits: str) -> str:
    """Written again here from the rule, so the test does not trust the code under test."""
    return ALPHABET[int(nine_digits) % 31]


def code(ddmmyy: str, sign: str, zzz: str) -> str:
    return f"{ddmmyy}{sign}{zzz}{check(ddmmyy + zzz)}"


@pytest.mark.parametrize(
    "valid",
    [
        "131052-308T",  # DVV's classic example
        "010594Y9032",  # the 2023 century signs, DVV's examples
        "020594X903P",
        "020594X902N",
        "010516B903X",
        code("311299", "-", "999"),
        code("010101", "+", "002"),
        code("290200", "A", "123"),  # 2000 was a leap year
        code("290204", "C", "002"),
        *(code("150385", sign, "456") for sign in "-YXWVU"),
        *(code("150315", sign, "456") for sign in "ABCDEF"),
        code("010190", "-", "900"),  # temporary codes (900-999) identify a person too
    ],
)
def test_valid_codes_are_found(valid: str) -> None:
    matches = find_hetus(valid)
    assert len(matches) == 1
    assert (matches[0].start, matches[0].end) == (0, 11)
    assert matches[0].masked == f"{valid[:7]}***{valid[10]}"


@pytest.mark.parametrize(
    "invalid",
    [
        "131052-308U",  # wrong check character
        "131052-308S",
        "010594Y9033",
        code("290200", "-", "123"),  # 1900 was not a leap year
        code("290200", "+", "123"),  # nor was 1800
        code("290201", "A", "123"),  # nor 2001
        code("310490", "-", "123"),  # 31 April
        code("001090", "-", "123"),  # day 0
        code("011390", "-", "123"),  # month 13
        code("010190", "G", "123"),  # not a century sign
        code("010190", "Z", "123"),
        "010190-123",  # no check character
        "01019-0123A",
    ],
)
def test_invalid_codes_are_not_found(invalid: str) -> None:
    assert find_hetus(invalid) == []


def test_every_wrong_check_character_is_refused() -> None:
    right = check("131052308")
    for wrong in ALPHABET:
        text = f"131052-308{wrong}"
        assert contains_hetu(text) == (wrong == right), text


def test_found_inside_ordinary_text_with_positions() -> None:
    first, second = code("010190", "-", "123"), code("020202", "A", "002")
    text = f"Asiakkaan tunnus on {first}, soittakaa hänelle. Toinen: {second}."
    matches = find_hetus(text)
    assert [text[m.start : m.end] for m in matches] == [
        code("010190", "-", "123"),
        code("020202", "A", "002"),
    ]
    assert matches[0].masked == "010190-***" + code("010190", "-", "123")[-1]


@pytest.mark.parametrize(
    "around",
    ["({})", "hetu:{}", "{}.", "'{}'", "<{}>", "\n{}\n", "tunnus={};", "„{}”"],
)
def test_punctuation_around_a_code_does_not_hide_it(around: str) -> None:
    assert contains_hetu(around.format(code("010190", "-", "123")))


@pytest.mark.parametrize("around", ["x{}", "{}x", "1{}", "{}5", "ä{}", "{}ö", "_{}"])
def test_a_code_inside_a_longer_word_or_number_is_not_one(around: str) -> None:
    assert not contains_hetu(around.format(code("010190", "-", "123")))


def test_lower_case_is_found_and_masked_in_upper_case() -> None:
    valid = code("150315", "B", "456")
    matches = find_hetus(valid.lower())
    assert len(matches) == 1
    assert matches[0].masked == f"150315B***{valid[-1]}"
    assert contains_hetu(code("010594", "Y", "903").lower())


def test_the_match_never_carries_the_code() -> None:
    valid = code("010190", "-", "123")
    match = find_hetus(f"tunnus {valid}")[0]
    assert valid not in repr(match)
    assert valid not in str(match)
    assert "123" not in match.masked


def test_phone_numbers_dates_and_references_are_not_codes() -> None:
    text = (
        "Soita 040-1234567 tai 116117. Katko 26.11.2026 klo 10.15–11.00. Pyyntö OMA-2026-0042, "
        "DigiFinlandin tiketti DF-123456. Tilinumero FI21 1234 5600 0007 85. Y-tunnus 1234567-8."
    )
    assert find_hetus(text) == []


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_any_text_is_scanned_without_error(text: str) -> None:
    for match in find_hetus(text):
        assert 0 <= match.start < match.end <= len(text)


@given(
    st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31)),
    st.integers(min_value=0, max_value=999),
)
def test_every_real_date_makes_a_valid_code(day: date, number: int) -> None:
    signs = {18: "+", 19: "-Y", 20: "AF"}[day.year // 100]
    for sign in signs:
        valid = code(day.strftime("%d%m%y"), sign, f"{number:03d}")
        assert contains_hetu(f"tunnus {valid} tässä"), valid
