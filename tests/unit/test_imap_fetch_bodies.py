"""fetch_bodies reads each literal and its UID from imaplib's split-up FETCH responses."""

from __future__ import annotations

from typing import Any

from coordinator_tui.mail.imap import fetch_bodies


class FakeImap:
    def __init__(self, data: list[Any]) -> None:
        self.data = data
        self.sent: tuple[Any, ...] = ()

    def _command(self, *args: Any) -> str:
        self.sent = args
        return "A1"

    def _command_complete(self, name: str, tag: str) -> tuple[str, list[bytes]]:
        return "OK", [b"FETCH completed"]

    def _untagged_response(self, typ: str, data: Any, name: str) -> tuple[str, list[Any]]:
        return typ, self.data


class FakeClient:
    def __init__(self, data: list[Any]) -> None:
        self._imap = FakeImap(data)

    def _checkok(self, *args: Any) -> None:
        pass


def test_uid_before_or_after_the_literal_and_unsolicited_flag_updates() -> None:
    client = FakeClient(
        [
            (b"1 (UID 5 BODY[] {3}", b"abc"),
            b")",
            (b"2 (BODY[] {3}", b"def"),  # the UID after the literal
            b" UID 9)",
            b"3 (UID 12 FLAGS (\\Seen))",  # no literal: not a body
            (b"4 (uid 14 BODY[] {0}", b""),
            b")",
        ]
    )
    assert fetch_bodies(client, [5, 6, 7, 9, 14]) == {5: b"abc", 9: b"def", 14: b""}  # type: ignore[arg-type]
    assert client._imap.sent[:3] == ("UID", "FETCH", "5:7,9,14")
