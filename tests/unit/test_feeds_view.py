"""What the Feeds screen reads and writes: windows, filters, positions, search, forwards, newsletters
from mail, the address kept from the config and a Retry-After kept across processes; and the text of
a forward and a digest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from coordinator_tui.feeds.forward import (
    default_list_name,
    digest_body,
    forward_body,
    resolve_list,
    short_summary,
)
from store.engine import Store, open_store
from store.feedkeys import title_date_key
from store.feeds import (
    ItemFilter,
    ScreenState,
    add_feed,
    count_items,
    forwarded_items,
    gather_mail_newsletters,
    item_detail,
    items_at,
    list_feeds,
    mail_feed_id,
    next_unread_position,
    position_of_item,
    record_fetch,
    record_forwards,
    screen_state,
    search_item_ids,
    store_items,
    sync_config_feeds,
    toggle_read,
    toggle_starred,
)
from store.models import MailFolder, MailMessage
from tests.support.notice_directory import build_directory

NOW = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    yield opened
    opened.dispose()


def item(n: int, title: str = "", hours: int = 0) -> dict[str, object]:
    published = NOW - timedelta(hours=n + hours)
    title = title or f"Tiedote {n}"
    return {
        "dedup_key": f"guid:{n}",
        "guid": str(n),
        "link": f"https://e.example/{n}",
        "title": title,
        "summary": f"Tiivistelmä {n}: Omaolon oirearvio päivittyy.",
        "content_text": f"Koko teksti {n}. " * 5,
        "published_at": published,
        "title_date_key": title_date_key(title, published),
    }


def test_windows_filters_positions_and_next_unread(store: Store) -> None:
    a = add_feed(store, "A", "https://a.example/")
    b = add_feed(store, "B", "https://b.example/")
    store_items(store, a.id, [item(n) for n in range(0, 10, 2)], seen_at=NOW)  # 0 2 4 6 8
    store_items(store, b.id, [item(n) for n in range(1, 10, 2)], seen_at=NOW)  # 1 3 5 7 9
    everything = ItemFilter()
    assert count_items(store, everything) == 10
    rows = items_at(store, everything, 0, 4)
    assert [row.title for row in rows] == ["Tiedote 0", "Tiedote 1", "Tiedote 2", "Tiedote 3"]
    assert [row.feed_name for row in rows] == ["A", "B", "A", "B"]
    assert [row.title for row in items_at(store, ItemFilter(feed_id=b.id), 2, 10)] == [
        "Tiedote 5",
        "Tiedote 7",
        "Tiedote 9",
    ]
    third = rows[2]
    assert position_of_item(store, everything, third.id) == 2
    assert position_of_item(store, ItemFilter(feed_id=a.id), third.id) == 1
    assert position_of_item(store, ItemFilter(feed_id=b.id), third.id) is None
    # What the screen reads on open, in one connection: the same answers.
    state = screen_state(store, ItemFilter(feed_id=a.id), third.id)
    assert ([feed.name for feed in state.feeds], state.count, state.position) == (["A", "B"], 5, 1)
    assert [feed.unread for feed in state.feeds] == [5, 5]
    assert screen_state(store, ItemFilter(feed_id=b.id), third.id).position is None
    assert screen_state(store, everything, third.id, list_too=False) == ScreenState(state.feeds, 0, None)

    assert toggle_read(store, [rows[1].id, rows[2].id]) is True  # read
    assert count_items(store, ItemFilter(unread_only=True)) == 8
    assert next_unread_position(store, everything, 0) == 3  # rows 1 and 2 are read
    assert toggle_read(store, [rows[1].id]) is False  # unread again
    assert toggle_starred(store, [rows[0].id]) is True
    assert [r.id for r in items_at(store, ItemFilter(starred_only=True), 0, 10)] == [rows[0].id]
    assert list_feeds(store)[0].unread == 4 and list_feeds(store)[0].items == 5
    assert search_item_ids(store, "tiedote 7", everything) == [items_at(store, everything, 7, 1)[0].id]
    assert search_item_ids(store, "oirearvi", ItemFilter(feed_id=a.id)) == [
        row.id for row in items_at(store, ItemFilter(feed_id=a.id), 0, 10)
    ]


def test_forwards_are_recorded_shown_and_filtered(store: Store) -> None:
    directory = build_directory(store)
    feed = add_feed(store, "A", "https://a.example/")
    store_items(store, feed.id, [item(1), item(2)], seen_at=NOW)
    first, second = items_at(store, ItemFilter(), 0, 2)
    assert forwarded_items(store, [first.id, second.id]) == {}
    record_forwards(store, [first.id], list_id=directory.steering, outbox_id=None, sent_at=NOW)
    assert [row.id for row in items_at(store, ItemFilter(forwarded_only=True), 0, 10)] == [first.id]
    assert items_at(store, ItemFilter(), 0, 1)[0].forwarded
    detail = item_detail(store, first.id)
    assert detail is not None and [f.list_name for f in detail.forwards] == ["Ohjausryhmä"]
    assert default_list_name(store, "") == "Ohjausryhmä"  # the list last passed on to
    assert default_list_name(store, "Muu") == "Muu"  # the config wins


def test_forward_and_digest_text(store: Store) -> None:
    a = add_feed(store, "DigiFinland", "https://a.example/")
    b = add_feed(store, "THL", "https://b.example/")
    store_items(store, a.id, [item(1), item(3)], seen_at=NOW)
    store_items(store, b.id, [item(2)], seen_at=NOW)
    details = [item_detail(store, row.id) for row in items_at(store, ItemFilter(), 0, 3)]
    one = details[0]
    assert one is not None
    body = forward_body(one, "Hei kaikki,")
    assert body.splitlines()[:3] == ["Hei kaikki,", "", "Tiedote 1"]
    assert "DigiFinland · 26.11.2026" in body and "https://e.example/1" in body and "Tiivistelmä 1" in body
    digest = digest_body([d for d in details if d is not None], "")
    lines = digest.splitlines()
    assert lines.index("DigiFinland") < lines.index("THL")
    assert digest.index("Tiedote 1") < digest.index("Tiedote 3") < digest.index("Tiedote 2")  # grouped
    assert short_summary("sana " * 400, 100).endswith(" …") and len(short_summary("sana " * 400, 100)) <= 102


def test_list_resolution_for_bcc(store: Store) -> None:
    build_directory(store)
    steering = resolve_list(store, "ohjausryhmä")
    assert steering.problem == "" and steering.addresses == ["anu@liminka.example.fi"]
    assert resolve_list(store, "Ei ole").problem and resolve_list(store, "").problem


def test_config_url_is_kept_and_retry_after_is_stored(store: Store) -> None:
    sync_config_feeds(store, [("Digi", "https://d.example/feed")])
    feed = list_feeds(store)[0]
    assert feed.config_url == "https://d.example/feed"
    record_fetch(store, feed.id, at=NOW, ok=True, new_url="https://d.example/moved")
    again = sync_config_feeds(store, [("Digi", "https://d.example/feed")])
    assert again.added == [] and [(f.url, f.config_url) for f in list_feeds(store)] == [
        ("https://d.example/moved", "https://d.example/feed")
    ]
    until = NOW + timedelta(minutes=5)
    record_fetch(store, feed.id, at=NOW, ok=False, error="429", retry_after=until)
    assert list_feeds(store)[0].retry_after_at.replace(tzinfo=UTC) == until  # type: ignore[union-attr]
    record_fetch(store, feed.id, at=NOW, ok=True)
    assert list_feeds(store)[0].retry_after_at is None


def test_newsletters_from_mail_are_gathered_once(store: Store) -> None:
    with store.session() as session:
        inbox, sent = MailFolder(name="INBOX", role="inbox"), MailFolder(name="Sent", role="sent")
        session.add_all([inbox, sent])
        session.flush()
        for uid, (folder, sender) in enumerate(
            [(inbox, "News@Digi.example"), (inbox, "someone@else.example"), (sent, "news@digi.example")]
        ):
            session.add(
                MailMessage(
                    folder_id=folder.id or 0,
                    uid=uid + 1,
                    message_id=f"<m{uid}@x>",
                    subject=f"Uutiskirje {uid}",
                    from_addr=sender,
                    body_text="Teksti",
                    date=NOW,
                )
            )
        session.commit()
    feed_id = mail_feed_id(store, "Postin uutiskirjeet")
    assert gather_mail_newsletters(store, feed_id, ["news@digi.example"], seen_at=NOW) == 1
    assert gather_mail_newsletters(store, feed_id, ["news@digi.example"], seen_at=NOW) == 0
    (row,) = items_at(store, ItemFilter(feed_id=feed_id), 0, 10)
    assert row.title == "Uutiskirje 0" and row.mail_message_id is not None
    assert [f.name for f in list_feeds(store)] == []  # never fetched, never exported
    assert [f.is_mail for f in list_feeds(store, include_mail=True)] == [True]
