"""The requests' own full-text index (revision 0007): the Requests screen's filter finds what the shared
index finds, letter by letter, kept in step by triggers, filled for requests made before the upgrade;
and the figures' indexes answer as the sorting did."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store import requests as db
from store.engine import Store, open_store
from store.migrate import ensure_current, upgrade
from store.search import request_fts_query

NOW = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)
ME = "Sanna"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    yield opened
    opened.dispose()


def create(store: Store, title: str, **values: object) -> db.RequestRow:
    return db.create_request(store, year=2026, title=title, actor=ME, now=NOW, values=values)


def found(store: Store, text: str, view: db.ViewName = "all") -> list[str]:
    window = db.view_window(store, view, me=ME, now=NOW, match=text, limit=50)
    count = db.view_count(store, view, me=ME, now=NOW, match=text)
    assert count == len(window.rows)
    return sorted(row.reference for row in window.rows)


def integrity(store: Store) -> None:
    assert store.path is not None
    connection = sqlite3.connect(store.path)
    try:
        connection.execute(
            "INSERT INTO search_index_request(search_index_request) VALUES ('integrity-check')"
        )
        indexed = {r[0] for r in connection.execute("SELECT rowid FROM search_index_request")}
        rows = {r[0] for r in connection.execute("SELECT id FROM service_request")}
    finally:
        connection.close()
    assert indexed == rows


def test_every_letter_typed_narrows_the_list(store: Store) -> None:
    access = create(store, "Käyttöoikeus Omaoloon", description="Oulun terveysasema pyytää tunnuksia")
    queue = create(store, "Työjonolähetys ei toimi", requester_email="laura@oulu.example.fi")
    create(store, "Palaute oirearviosta", tags='["palaute"]')
    assert found(store, "k") == [access.reference]  # one letter is a prefix of its own
    assert len(found(store, "o")) == 3  # every reference starts with OMA
    assert found(store, "oulu") == sorted([access.reference, queue.reference])
    assert found(store, "kayttooik") == [access.reference]  # diacritics folded, as in the shared index
    assert found(store, "toimi työjono") == [queue.reference]  # every word, the last a prefix
    assert found(store, "työjono toimi") == []  # a word before the last is a whole word
    assert found(store, "OMA-2026-0002") == [queue.reference]  # the reference, split at its dashes
    assert found(store, "ei-ole") == []
    assert found(store, '"*:^()') == []  # punctuation only: nothing, never an FTS5 syntax error
    assert found(store, "ei_toimi") == [queue.reference]  # split where the tokenizer splits
    assert request_fts_query('a "b" c*') == '"a" "b" "c"*'
    integrity(store)


def test_the_filter_follows_changes_and_removals(store: Store) -> None:
    row = create(store, "Tulostin jumissa")
    assert found(store, "tulostin") == [row.reference]
    changed = db.change_request(
        store, row.id, {"title": "Skanneri jumissa"}, expected_version=row.version, actor=ME, now=NOW
    )
    assert found(store, "tulostin") == []
    assert found(store, "skan") == [row.reference]
    db.change_request(
        store,
        row.id,
        {"digifinland_ticket": "DF-4242", "status": "odottaa DigiFinlandia"},
        expected_version=changed.version,
        actor=ME,
        now=NOW,
    )
    assert found(store, "df 4242") == [row.reference]
    assert found(store, "df 4242", view="waiting_vendor") == [row.reference]
    assert found(store, "df 4242", view="untriaged") == []
    other = create(store, "Skanneri ei skannaa")
    assert found(store, "skanneri") == sorted([row.reference, other.reference])
    db.undo_last(store, actor=ME, now=NOW + timedelta(minutes=1))  # removes the request just made
    assert found(store, "skanneri") == [row.reference]
    integrity(store)


def test_requests_made_before_the_upgrade_are_indexed(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = open_store(f"sqlite:///{path}", migrate=False)
    upgrade(old, "0006")
    connection = sqlite3.connect(path)
    connection.execute(
        "INSERT INTO service_request (reference, year, seq, title, description, requester_email, category, "
        "status, assignee, digifinland_ticket, tags, created_at, updated_at, version) VALUES "
        "('OMA-2025-0099', 2025, 99, 'Vanha hälytys', '', '', '', 'uusi', '', '', '[]', "
        "'2025-05-01 08:00:00.000000', '2025-05-01 08:00:00.000000', 1)"
    )
    connection.commit()
    connection.close()
    ensure_current(old)
    try:
        assert found(old, "vanha hal") == ["OMA-2025-0099"]
        integrity(old)
    finally:
        old.dispose()


def test_figures_medians_from_the_duration_indexes_equal_a_sort(store: Store) -> None:
    durations = [timedelta(hours=h) for h in (5, 1, 9, 3, 7, 2)]
    for i, span in enumerate(durations):
        created = NOW - timedelta(days=10, minutes=i)
        row = db.create_request(store, year=2026, title=f"Pyyntö {i}", actor=ME, now=created)
        db.change_request(
            store,
            row.id,
            {"first_response_at": created + span, "resolved_at": created + 2 * span, "status": "ratkaistu"},
            expected_version=row.version,
            actor=ME,
            now=created + span,
        )
    figures = db.request_figures(store, since=NOW - timedelta(days=30), until=NOW, now=NOW)
    assert figures.total == 6
    assert figures.median_first_response == timedelta(hours=4)  # (3 + 5) / 2
    assert figures.median_resolution == timedelta(hours=8)
