"""The feed tables' writes: feeds and their fetch state, items de-duplicated, read and star marks,
forwards, newsletters gathered from the mail.

The refresh (``coordinator_tui.feeds.refresh``) fetches and parses; this module only stores. Items
are plain dicts in and plain dataclasses out, so no screen ever holds a session. The reads (feeds
with counts, item windows, search) live in ``store.feedview`` in plain SQL and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from store.bulk import insert_rows
from store.feedkeys import title_date_key as title_date_key  # re-exported
from store.feedview import (  # re-exported: the reads live in store.feedview (no ORM import)
    MAIL_FEED_SCHEME as MAIL_FEED_SCHEME,
)
from store.feedview import MAIL_FEED_URL as MAIL_FEED_URL
from store.feedview import FeedRow as FeedRow
from store.feedview import ForwardRow as ForwardRow
from store.feedview import ItemDetail as ItemDetail
from store.feedview import ItemFilter as ItemFilter
from store.feedview import ItemRow as ItemRow
from store.feedview import ScreenState as ScreenState
from store.feedview import count_items as count_items
from store.feedview import forwarded_items as forwarded_items
from store.feedview import item_detail as item_detail
from store.feedview import items_at as items_at
from store.feedview import items_by_ids as items_by_ids
from store.feedview import items_window as items_window
from store.feedview import last_forward_list as last_forward_list
from store.feedview import list_feeds as list_feeds
from store.feedview import next_unread_position as next_unread_position
from store.feedview import position_of_item as position_of_item
from store.feedview import screen_state as screen_state
from store.feedview import search_item_ids as search_item_ids
from store.feedview import unread_counts as unread_counts
from store.models import Feed, FeedForward, FeedItem, MailFolder, MailMessage, utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

    from store.engine import Store


@dataclass(frozen=True)
class ConfigSyncResult:
    added: list[str]
    updated: list[str]
    left: list[str]  # no longer in the config: kept (with their items), marked as added in the app


def _row(feed: Feed, unread: int = 0, items: int = 0) -> FeedRow:
    assert feed.id is not None
    return FeedRow(
        id=feed.id,
        name=feed.name,
        url=feed.url,
        title=feed.title,
        etag=feed.etag,
        last_modified=feed.last_modified,
        last_fetch_at=feed.last_fetch_at,
        last_success_at=feed.last_success_at,
        last_error=feed.last_error,
        warning=feed.warning,
        from_config=feed.from_config,
        unread=unread,
        items=items,
        config_url=feed.config_url,
        retry_after_at=feed.retry_after_at,
    )


def add_feed(store: Store, name: str, url: str, *, title: str = "", from_config: bool = False) -> FeedRow:
    """Add a feed (or return the one with this address)."""
    with store.session() as session:
        feed = session.exec(select(Feed).where(col(Feed.url) == url)).first()
        if feed is None:
            feed = Feed(name=name or title or url, url=url, title=title, from_config=from_config)
            session.add(feed)
            session.commit()
            session.refresh(feed)
        return _row(feed)


def delete_feed(store: Store, feed_id: int) -> None:
    with store.session() as session:
        feed = session.get(Feed, feed_id)
        if feed is not None:
            session.delete(feed)
            session.commit()


def sync_config_feeds(store: Store, entries: Sequence[tuple[str, str]]) -> ConfigSyncResult:
    """Make the feed table follow ``[[feeds]]`` (name, url pairs).

    A config feed is found by the address written in the config (``config_url``), which stays as
    it was when the feed's ``url`` follows a remembered permanent redirect; else by its ``url``
    (a feed added in the app, or one the config now names by its new address).
    """
    added: list[str] = []
    updated: list[str] = []
    left: list[str] = []
    with store.session() as session:
        feeds = list(session.exec(select(Feed)).all())
        by_config_url = {feed.config_url: feed for feed in feeds if feed.config_url}
        by_url = {feed.url: feed for feed in feeds}
        wanted: set[int] = set()
        for name, url in entries:
            feed = by_config_url.get(url) or by_url.get(url)
            if feed is None:
                feed = Feed(name=name, url=url, config_url=url, from_config=True)
                session.add(feed)
                session.flush()
                by_url[url] = by_config_url[url] = feed
                added.append(name)
            else:
                if feed.name != name or not feed.from_config:
                    updated.append(name)
                feed.name = name
                feed.from_config = True
                feed.config_url = url
                session.add(feed)
            assert feed.id is not None
            wanted.add(feed.id)
        for feed in feeds:
            if feed.from_config and feed.id not in wanted:
                feed.from_config = False
                session.add(feed)
                left.append(feed.name)
        session.commit()
    return ConfigSyncResult(added, updated, left)


@dataclass
class FetchWrite:
    """One feed's refresh to store: its outcome and, when it was fetched and parsed, its items."""

    feed_id: int
    at: datetime
    ok: bool
    error: str = ""
    warning: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    new_url: str = ""  # a permanent redirect to remember
    title: str = ""
    items: Sequence[Mapping[str, Any]] = ()
    retry_after: datetime | None = None  # a 429/503's Retry-After: no request before then


@dataclass(frozen=True)
class WriteResult:
    feed_id: int
    url: str  # the address kept (the new one when a permanent redirect was remembered)
    new_items: int


def write_refresh(store: Store, writes: Sequence[FetchWrite]) -> list[WriteResult]:
    """Store several feeds' refreshes in one transaction (one commit, one full-text index flush)."""
    if not writes:
        return []
    with store.session() as session:
        results = []
        fresh: list[dict[str, Any]] = []
        for write in writes:
            rows = _fresh_items(session, write.feed_id, write.items, write.at) if write.items else []
            fresh.extend(rows)
            url = _record_fetch(session, write)
            results.append(WriteResult(write.feed_id, url, len(rows)))
        if fresh:
            # One statement for every feed's new items: FTS5 flushes its terms once per statement.
            insert_rows(session, FeedItem, fresh)
        session.commit()
        return results


def record_fetch(store: Store, feed_id: int, *, at: datetime, ok: bool, **fields: Any) -> str:
    """Note one fetch's outcome (see :class:`FetchWrite`); returns the URL kept."""
    return write_refresh(store, [FetchWrite(feed_id, at, ok, **fields)])[0].url


def store_items(
    store: Store, feed_id: int, items: Iterable[Mapping[str, Any]], *, seen_at: datetime | None = None
) -> int:
    """Insert the items not stored yet (see :func:`_store_items`); returns how many are new."""
    with store.session() as session:
        new = _store_items(session, feed_id, list(items), seen_at or utcnow())
        session.commit()
        return new


def _record_fetch(session: Session, write: FetchWrite) -> str:
    """On failure only the error and the fetch time change: the last success, validators and the
    warning stay as they were, so the feed row tells both what went wrong and when it last worked."""
    from sqlalchemy import select, update

    table = Feed.__table__  # type: ignore[attr-defined]
    current = session.execute(select(table.c.url).where(table.c.id == write.feed_id)).scalar()
    if current is None:
        return ""
    values: dict[str, Any] = {"last_fetch_at": write.at, "retry_after_at": write.retry_after}
    if write.ok:
        values.update(last_success_at=write.at, last_error="")
        if write.warning is not None:
            values["warning"] = write.warning
        if write.etag is not None:
            values["etag"] = write.etag
        if write.last_modified is not None:
            values["last_modified"] = write.last_modified
        if write.title:
            values["title"] = write.title
    else:
        values["last_error"] = write.error
    url = str(current)
    if write.new_url and write.new_url != url:
        taken = session.execute(select(table.c.id).where(table.c.url == write.new_url)).first()
        if taken is None:
            values["url"] = url = write.new_url
    session.execute(update(table).where(table.c.id == write.feed_id).values(**values))
    return url


def _store_items(
    session: Session, feed_id: int, items: Iterable[Mapping[str, Any]], seen_at: datetime
) -> int:
    """Insert the items not stored yet; returns how many are new."""
    fresh = _fresh_items(session, feed_id, items, seen_at)
    if fresh:
        insert_rows(session, FeedItem, fresh)
    return len(fresh)


def _fresh_items(
    session: Session, feed_id: int, items: Iterable[Mapping[str, Any]], seen_at: datetime
) -> list[dict[str, Any]]:
    """The rows of the items not stored yet.

    An item is the same as a stored one when its GUID, its link or its title+date hash matches: a
    feed that re-issues GUIDs or rewrites its links does not come back as unread. Each mapping has
    dedup_key, guid, link, title, summary, content_text, content_html (optional), published_at
    (None = first seen) and title_date_key.
    """
    from sqlalchemy import select

    table = FeedItem.__table__  # type: ignore[attr-defined]
    known_keys: set[str] = set()
    known_guids: set[str] = set()
    known_links: set[str] = set()
    rows = session.execute(
        select(
            table.c.dedup_key,
            table.c.guid,
            table.c.link,
            table.c.title,
            table.c.published_at,
            table.c.first_seen_at,
        ).where(table.c.feed_id == feed_id)
    ).all()
    for key, guid, link, title, published, first_seen in rows:
        known_keys.add(key)
        known_keys.add(title_date_key(title, published))
        if _same_moment(published, first_seen):
            # Most likely a date-less item, whose date is when it was first seen: hashed without one.
            known_keys.add(title_date_key(title, None))
        if guid:
            known_guids.add(guid)
        if link:
            known_links.add(link)
    fresh: list[dict[str, Any]] = []
    for item in items:
        key = str(item["dedup_key"])
        guid = str(item.get("guid", ""))
        link = str(item.get("link", ""))
        hash_key = str(item.get("title_date_key", ""))
        if (
            key in known_keys
            or (guid and guid in known_guids)
            or (link and link in known_links)
            or (hash_key and hash_key in known_keys)
        ):
            continue
        known_keys.add(key)
        if hash_key:
            known_keys.add(hash_key)
        if guid:
            known_guids.add(guid)
        if link:
            known_links.add(link)
        fresh.append(
            {
                "feed_id": feed_id,
                "dedup_key": key,
                "guid": guid,
                "link": link,
                "title": str(item.get("title", "")),
                "summary": str(item.get("summary", "")),
                "content_text": str(item.get("content_text", "")),
                "content_html": str(item.get("content_html", "")),
                "published_at": item.get("published_at") or seen_at,
                "first_seen_at": seen_at,
                "read": False,
                "starred": False,
                "mail_message_id": None,
            }
        )
    return fresh


def _same_moment(one: datetime, other: datetime) -> bool:
    if one.tzinfo is None:
        one = one.replace(tzinfo=UTC)
    if other.tzinfo is None:
        other = other.replace(tzinfo=UTC)
    return one == other


def record_forwards(
    store: Store, item_ids: Sequence[int], *, list_id: int | None, outbox_id: int | None, sent_at: datetime
) -> None:
    """Note that ``item_ids`` went out in the outbox row ``outbox_id`` (to the list ``list_id``)."""
    with store.session() as session:
        for item_id in dict.fromkeys(item_ids):
            session.add(
                FeedForward(feed_item_id=item_id, list_id=list_id, outbox_id=outbox_id, sent_at=sent_at)
            )
        session.commit()


def toggle_read(store: Store, item_ids: Sequence[int]) -> bool:
    """All read → all unread; else all read. Returns the new state."""
    with store.session() as session:
        rows = session.exec(select(FeedItem).where(col(FeedItem.id).in_(list(item_ids)))).all()
        state = not all(item.read for item in rows)
        for item in rows:
            item.read = state
            session.add(item)
        session.commit()
        return state


def toggle_starred(store: Store, item_ids: Sequence[int]) -> bool:
    """All starred → none; else all starred. Returns the new state."""
    with store.session() as session:
        rows = session.exec(select(FeedItem).where(col(FeedItem.id).in_(list(item_ids)))).all()
        state = not all(item.starred for item in rows)
        for item in rows:
            item.starred = state
            session.add(item)
        session.commit()
        return state


# --- newsletters that arrive as mail -------------------------------------------------------------


def mail_feed_id(store: Store, name: str) -> int:
    """The "mail newsletters" feed's id, made on first use."""
    with store.session() as session:
        feed = session.exec(select(Feed).where(col(Feed.url) == MAIL_FEED_URL)).first()
        if feed is None:
            feed = Feed(name=name, url=MAIL_FEED_URL, title=name)
            session.add(feed)
            session.commit()
            session.refresh(feed)
        assert feed.id is not None
        return feed.id


def gather_mail_newsletters(store: Store, feed_id: int, senders: Sequence[str], *, seen_at: datetime) -> int:
    """Inbox messages from ``senders`` not yet items become items of the feed ``feed_id``, each
    linked to its message; returns how many are new. The message's Message-ID is the item's
    de-duplication key, so a message copied or moved back into the inbox is not added twice."""
    from sqlalchemy import func as sql_func
    from sqlalchemy import select

    wanted = sorted({sender.strip().casefold() for sender in senders if sender.strip()})
    if not wanted:
        return 0
    messages = MailMessage.__table__  # type: ignore[attr-defined]
    folders = MailFolder.__table__  # type: ignore[attr-defined]
    items = FeedItem.__table__  # type: ignore[attr-defined]
    with store.session() as session:
        known = {
            str(key)
            for (key,) in session.execute(select(items.c.dedup_key).where(items.c.feed_id == feed_id)).all()
        }
        rows = session.execute(
            select(
                messages.c.id,
                messages.c.message_id,
                messages.c.subject,
                messages.c.from_name,
                messages.c.body_text,
                messages.c.snippet,
                messages.c.date,
                messages.c.seen,
            )
            .join(folders, folders.c.id == messages.c.folder_id)
            .where(folders.c.role == "inbox", sql_func.lower(messages.c.from_addr).in_(wanted))
            .order_by(messages.c.date, messages.c.id)
        ).all()
        fresh: list[dict[str, Any]] = []
        for message_id, header_id, subject, from_name, body, snippet, date, seen in rows:
            key = "mail:" + (header_id or f"#{message_id}")
            if key in known:
                continue
            known.add(key)
            text = str(body or "")
            fresh.append(
                {
                    "feed_id": feed_id,
                    "dedup_key": key,
                    "guid": str(header_id or ""),
                    "link": "",
                    "title": str(subject or from_name or ""),
                    "summary": str(snippet or text[:300]),
                    "content_text": text,
                    "content_html": "",
                    "published_at": date,
                    "first_seen_at": seen_at,
                    "read": bool(seen),
                    "starred": False,
                    "mail_message_id": message_id,
                }
            )
        if fresh:
            insert_rows(session, FeedItem, fresh)
            session.commit()
        return len(fresh)


def set_read(store: Store, item_ids: Sequence[int], read: bool = True) -> None:
    with store.session() as session:
        for item in session.exec(select(FeedItem).where(col(FeedItem.id).in_(list(item_ids)))).all():
            item.read = read
            session.add(item)
        session.commit()


def mark_feed_read(store: Store, feed_id: int) -> None:
    from sqlalchemy import update

    with store.session() as session:
        session.execute(
            update(FeedItem)
            .where(col(FeedItem.feed_id) == feed_id, col(FeedItem.read).is_(False))
            .values(read=True)
        )
        session.commit()
