"""The small parsers and validators: OPML import, due times, office hours, dates, unit services, list
rules, onboarding checklists. Each returns or raises its documented error, nothing else (issue 9)."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator_tui.directory import validation
from coordinator_tui.directory.lists import rule_of
from coordinator_tui.directory.units import parse_services
from coordinator_tui.feeds.opml import OpmlError, parse_opml
from coordinator_tui.onboarding.templates import parse_template_text
from coordinator_tui.requests.duetime import parse_hours, parse_span
from store.directory import ListRow
from tests.property.displayable import assert_line
from tests.property.mutate import mutated
from tests.support.hostile import CATALOGUE, encodable

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OPML = (
    '<?xml version="1.0" encoding="UTF-8"?><opml version="2.0"><head><title>Syötteet</title></head><body>'
    '<outline text="Kansio"><outline type="rss" text="DigiFinland" xmlUrl="https://digifinland.example/feed"/>'
    '<outline type="rss" title="THL" xmlUrl="https://thl.example/rss.xml"/></outline>'
    '<outline text="Väärä" xmlUrl="ftp://x.example/"/></body></opml>'
).encode()
SHORT_TEXT = st.one_of(st.text(max_size=40), st.sampled_from([item.text[:60] for item in CATALOGUE]))


@SETTINGS
@given(st.one_of(mutated([OPML]), st.binary(max_size=300)))
def test_opml_import(data: bytes) -> None:
    try:
        feeds = parse_opml(data)
    except OpmlError as error:
        assert str(error)
        return
    for feed in feeds:
        assert_line(feed.name, "name")
        assert feed.url.startswith(("http://", "https://"))


def test_opml_addresses_are_stored_clean() -> None:
    hostile = encodable(CATALOGUE[0].text + "\x1b[31m\u202e").replace('"', "")
    data = (
        f'<opml version="2.0"><body><outline text="x" xmlUrl="https://e.example/{hostile}&#27;]0;t&#7;"/>'
        "</body></opml>"
    ).encode()
    try:
        feeds = parse_opml(data)
    except OpmlError as error:  # a control character reference is not XML at all: refused in words
        assert str(error)
        feeds = []
    for feed in feeds:
        assert_line(feed.url, "url")
    # XML can carry a bidi override as it is: such an address is skipped, the clean one beside it kept.
    data = (
        '<opml version="2.0"><body><outline text="x" xmlUrl="https://e.example/a\u202eb"/>'
        '<outline text="y" xmlUrl="https://e.example/ok"/></body></opml>'
    )
    assert [feed.url for feed in parse_opml(data.encode())] == ["https://e.example/ok"]


def test_opml_refuses_a_dtd_in_utf16_too() -> None:
    """The DTD check looks at the bytes: the same document in UTF-16 must be refused as well."""
    text = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body/></opml>'
    for data in (text.encode("utf-8"), text.encode("utf-16")):
        with pytest.raises(OpmlError):
            parse_opml(data)


@SETTINGS
@given(SHORT_TEXT)
def test_due_times_and_office_hours(text: str) -> None:
    for parse in (parse_span, parse_hours):
        try:
            parse(text)
        except ValueError as error:
            assert str(error)


@SETTINGS
@given(SHORT_TEXT)
def test_directory_fields(text: str) -> None:
    validation.parse_active(text)
    with contextlib.suppress(ValueError):
        validation.parse_day(text)
    address, problem = validation.check_email(text)
    assert address is None or problem is None
    validation.split_roles(text)
    validation.email_key(text)
    validation.fold(text)
    _services, bad = parse_services(text)
    assert all(isinstance(part, str) for part in bad)


@SETTINGS
@given(
    st.one_of(
        SHORT_TEXT,
        st.recursive(
            st.none() | st.integers() | st.text(max_size=5),
            lambda inner: st.lists(inner) | st.dictionaries(st.text(max_size=5), inner),
        ).map(json.dumps),
    )
)
def test_list_rules(text: str) -> None:
    rule = rule_of(ListRow(1, "Lista", "", text, False))
    assert rule is None or isinstance(rule, dict)


@SETTINGS
@given(
    st.lists(
        st.one_of(
            SHORT_TEXT,
            st.sampled_from(["0 | coordinator | Tunnukset", "-3 | x | y | https://e.fi", "a|b|c|d|e"]),
        ),
        max_size=5,
    ).map("\n".join)
)
def test_onboarding_checklists(text: str) -> None:
    items, problems = parse_template_text(text)
    assert items or problems
    assert all(isinstance(problem, str) and problem for problem in problems)
