"""UID sets as IMAP writes them: VANISHED (EARLIER) responses parsed, UID lists written compactly."""

from __future__ import annotations

import pytest

from coordinator_tui.mail.imap import parse_uid_set, parse_vanished, uid_set


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        ("1:5,7,9:12", [(1, 5), (7, 7), (9, 12)]),
        ("41", [(41, 41)]),
        ("12:9", [(9, 12)]),  # either order is a valid range
        ("", []),
        ("  3:4 ", [(3, 4)]),
        ("4294967295", [(4294967295, 4294967295)]),
    ],
)
def test_uid_sets_parse_into_ranges(text: str, ranges: list[tuple[int, int]]) -> None:
    assert parse_uid_set(text) == ranges


@pytest.mark.parametrize("text", ["1:*", "*", "1,,2", "a:3", "0", "3:0", "1:2:3", "-1", "1 2", "٣"])
def test_anything_else_is_refused_so_the_sync_compares_uid_sets_instead(text: str) -> None:
    with pytest.raises(ValueError):
        parse_uid_set(text)


def test_vanished_earlier_and_plain_vanished() -> None:
    assert parse_vanished(b"(EARLIER) 41,43:116,118") == [(41, 41), (43, 116), (118, 118)]
    assert parse_vanished(b"(earlier) 5") == [(5, 5)]
    assert parse_vanished("300:302") == [(300, 302)]  # a live expunge, without EARLIER
    with pytest.raises(ValueError):
        parse_vanished(b"(LATER) 5")


def test_uid_lists_are_written_as_ranges() -> None:
    assert uid_set([1, 2, 3, 7, 9, 10]) == "1:3,7,9:10"
    assert uid_set([5, 3, 4, 4]) == "3:5"
    assert uid_set([8]) == "8"
    assert uid_set([]) == ""
    assert parse_uid_set(uid_set([2, 4, 5, 6, 100])) == [(2, 2), (4, 6), (100, 100)]
