"""OPML: import from other readers (nested folders, duplicates, non-http) and a round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator_tui.feeds.opml import OpmlError, OpmlFeed, build_opml, parse_opml

FIXTURES = Path(__file__).parents[1] / "fixtures" / "feeds"


def test_import_flattens_folders_and_drops_duplicates_and_non_http() -> None:
    feeds = parse_opml((FIXTURES / "feeds.opml").read_bytes())
    assert feeds == [
        OpmlFeed("THL tiedotteet", "https://thl.example/fi/feed.atom"),
        OpmlFeed("Kanta", "https://kanta.example/rss"),
        OpmlFeed("DigiFinland", "https://www.digifinland.example/feed/"),
    ]


def test_round_trip_keeps_names_and_addresses() -> None:
    feeds = [
        OpmlFeed("Hyvinvointialue & <uutiset>", "https://hva.example/feed?a=1&b=2"),
        OpmlFeed("Ö", "http://x.example/"),
    ]
    assert parse_opml(build_opml(feeds)) == feeds


@pytest.mark.parametrize(
    "data",
    [
        b"not xml",
        b"<rss/>",
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body/></opml>',
    ],
)
def test_bad_files_are_refused_in_words(data: bytes) -> None:
    with pytest.raises(OpmlError):
        parse_opml(data)
