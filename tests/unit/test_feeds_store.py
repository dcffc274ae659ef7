"""The feed store: [[feeds]] kept in step, de-duplication, unread counts, the items window."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store.engine import Store, open_store
from store.feeds import (
    add_feed,
    items_window,
    list_feeds,
    mark_feed_read,
    record_fetch,
    set_read,
    store_items,
    sync_config_feeds,
    title_date_key,
    unread_counts,
)

NOW = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    yield opened
    opened.dispose()


def item(
    n: int,
    *,
    guid: str | None = None,
    link: str | None = None,
    title: str | None = None,
    published: datetime | None = NOW,
) -> dict[str, object]:
    guid = f"g{n}" if guid is None else guid
    link = f"https://e.example/{n}" if link is None else link
    title = title or f"Otsikko {n}"
    key = f"guid:{guid}" if guid else (f"link:{link}" if link else title_date_key(title, published))
    return {
        "dedup_key": key,
        "guid": guid,
        "link": link,
        "title": title,
        "summary": "",
        "content_text": "",
        "published_at": published,
        "title_date_key": title_date_key(title, published),
    }


def test_config_feeds_are_added_renamed_and_let_go(store: Store) -> None:
    result = sync_config_feeds(
        store, [("DigiFinland", "https://d.example/feed"), ("THL", "https://t.example/")]
    )
    assert result.added == ["DigiFinland", "THL"]
    feed = next(f for f in list_feeds(store) if f.name == "DigiFinland")
    record_fetch(store, feed.id, at=NOW, ok=True, new_url="https://d.example/new-feed")  # a 301 remembered

    again = sync_config_feeds(
        store, [("DigiFinland", "https://d.example/feed"), ("THL", "https://t.example/")]
    )

    assert again.added == [] and again.left == []
    assert [f.url for f in list_feeds(store) if f.name == "DigiFinland"] == ["https://d.example/new-feed"]
    renamed = sync_config_feeds(store, [("Digi", "https://d.example/new-feed")])
    assert renamed.updated == ["Digi"] and renamed.left == ["THL"]
    assert {f.name: f.from_config for f in list_feeds(store)} == {"Digi": True, "THL": False}


def test_items_are_deduplicated_by_guid_then_link_then_title_and_date(store: Store) -> None:
    feed = add_feed(store, "F", "https://f.example/")
    assert (
        store_items(
            store, feed.id, [item(1), item(2), item(3, guid="", link="", published=None)], seen_at=NOW
        )
        == 3
    )
    later = NOW + timedelta(hours=1)
    again = [
        item(1),  # the same GUID
        item(2, guid="reissued-2"),  # a new GUID, the same link
        item(5, guid="new-5", link="https://e.example/moved", title="Otsikko 1"),  # title and date of item 1
        item(3, guid="", link="", published=None),  # no GUID, no link, no date: the title hash
        item(4),  # really new
    ]
    assert store_items(store, feed.id, again, seen_at=later) == 1
    assert unread_counts(store) == {feed.id: 4}
    undated = [row for row in items_window(store, feed_id=feed.id) if row.title == "Otsikko 3"]
    assert undated[0].published_at.replace(tzinfo=UTC) == NOW  # first seen


def test_unread_counts_and_marking_read(store: Store) -> None:
    one = add_feed(store, "Yksi", "https://1.example/")
    two = add_feed(store, "Kaksi", "https://2.example/")
    store_items(store, one.id, [item(n) for n in range(5)], seen_at=NOW)
    store_items(store, two.id, [item(n) for n in range(2)], seen_at=NOW)
    first = items_window(store, feed_id=one.id, limit=1)[0]
    set_read(store, [first.id])
    assert unread_counts(store) == {one.id: 4, two.id: 2}
    mark_feed_read(store, two.id)
    assert unread_counts(store) == {one.id: 4}
    assert {f.name: (f.unread, f.items) for f in list_feeds(store)} == {"Kaksi": (0, 2), "Yksi": (4, 5)}


def test_items_window_pages_newest_first_without_gaps(store: Store) -> None:
    feed = add_feed(store, "Sivutus", "https://s.example/")
    rows = [item(n, published=NOW - timedelta(minutes=n // 2)) for n in range(25)]  # pairs share a time
    store_items(store, feed.id, rows, seen_at=NOW)
    seen: list[int] = []
    before = None
    while page := items_window(store, before=before, limit=7):
        seen.extend(row.id for row in page)
        before = (page[-1].published_at, page[-1].id)
    assert len(seen) == len(set(seen)) == 25
    titles = [row.title for row in items_window(store, limit=3)]
    assert titles == ["Otsikko 1", "Otsikko 0", "Otsikko 3"]


def test_a_failed_fetch_keeps_the_validators_and_the_last_success(store: Store) -> None:
    feed = add_feed(store, "F", "https://f.example/")
    record_fetch(store, feed.id, at=NOW, ok=True, etag='"1"', last_modified="x", title="Otsikko")
    record_fetch(store, feed.id, at=NOW + timedelta(hours=1), ok=False, error="Palvelin ei vastannut.")
    row = list_feeds(store)[0]
    assert (row.etag, row.last_modified, row.title, row.last_error) == (
        '"1"',
        "x",
        "Otsikko",
        "Palvelin ei vastannut.",
    )
    assert row.last_success_at.replace(tzinfo=UTC) == NOW
    assert row.last_fetch_at.replace(tzinfo=UTC) == NOW + timedelta(hours=1)
