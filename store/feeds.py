"""The feed tables: feeds and their fetch state, items de-duplicated, unread counts, an items window.

The refresh (``coordinator_tui.feeds.refresh``) fetches and parses; this module only stores. Items
are plain dicts in and plain dataclasses out, so no screen ever holds a session.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import col, func, select

from store.bulk import insert_rows
from store.models import Feed, FeedItem, utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

    from store.engine import Store


@dataclass(frozen=True)
class FeedRow:
    """A feed as the refresh and the Feeds screen need it."""

    id: int
    name: str
    url: str
    title: str
    etag: str
    last_modified: str
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    last_error: str
    warning: str
    from_config: bool
    unread: int = 0
    items: int = 0


@dataclass(frozen=True)
class ItemRow:
    id: int
    feed_id: int
    feed_name: str
    title: str
    link: str
    summary: str
    published_at: datetime
    read: bool
    starred: bool


@dataclass(frozen=True)
class ConfigSyncResult:
    added: list[str]
    updated: list[str]
    left: list[str]  # no longer in the config: kept (with their items), marked as added in the app


def title_date_key(title: str, published: datetime | None) -> str:
    """The last resort of de-duplication: a hash of the title and the feed's own date ("" if none)."""
    import hashlib

    stamp = published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") if published else ""
    return "hash:" + hashlib.sha256(f"{title}\x00{stamp}".encode()).hexdigest()[:32]


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
    )


def list_feeds(store: Store) -> list[FeedRow]:
    """Every feed with its unread and item counts, by name."""
    with store.session() as session:
        counts = _counts(session)
        feeds = session.exec(select(Feed).order_by(func.lower(Feed.name), col(Feed.id))).all()
        return [_row(feed, *counts.get(feed.id or 0, (0, 0))) for feed in feeds]


def _counts(session: Session) -> dict[int, tuple[int, int]]:
    unread = func.sum(func.iif(col(FeedItem.read), 0, 1))
    rows = session.exec(
        select(FeedItem.feed_id, unread, func.count()).group_by(col(FeedItem.feed_id))
    ).all()
    return {feed_id: (int(unread_count or 0), int(total)) for feed_id, unread_count, total in rows}


def unread_counts(store: Store) -> dict[int, int]:
    """Feed id → unread items (feeds with none are absent)."""
    with store.session() as session:
        return {feed_id: unread for feed_id, (unread, _total) in _counts(session).items() if unread}


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

    A config feed is found by its address, else by its name among config feeds: that is a feed whose
    permanent redirect was remembered (its stored address is the new one) and it keeps that address.
    """
    added: list[str] = []
    updated: list[str] = []
    left: list[str] = []
    with store.session() as session:
        feeds = list(session.exec(select(Feed)).all())
        by_url = {feed.url: feed for feed in feeds}
        by_name = {feed.name: feed for feed in feeds if feed.from_config}
        wanted: set[int] = set()
        for name, url in entries:
            feed = by_url.get(url) or by_name.get(name)
            if feed is None:
                feed = Feed(name=name, url=url, from_config=True)
                session.add(feed)
                session.flush()
                by_url[url] = feed
                added.append(name)
            elif feed.name != name or not feed.from_config:
                feed.name = name
                feed.from_config = True
                session.add(feed)
                updated.append(name)
            assert feed.id is not None
            wanted.add(feed.id)
        for feed in feeds:
            if feed.from_config and feed.id not in wanted:
                feed.from_config = False
                session.add(feed)
                left.append(feed.name)
        session.commit()
    return ConfigSyncResult(added, updated, left)


def record_fetch(
    store: Store,
    feed_id: int,
    *,
    at: datetime,
    ok: bool,
    error: str = "",
    warning: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    new_url: str = "",
    title: str = "",
) -> str:
    """Note one fetch's outcome; ``new_url`` remembers a permanent redirect. Returns the URL kept.

    On failure only the error and the fetch time change: the last success, validators and the warning
    stay as they were, so the feed row tells both what went wrong and when it last worked.
    """
    with store.session() as session:
        feed = session.get(Feed, feed_id)
        if feed is None:
            return ""
        feed.last_fetch_at = at
        if ok:
            feed.last_success_at = at
            feed.last_error = ""
            if warning is not None:
                feed.warning = warning
            if etag is not None:
                feed.etag = etag
            if last_modified is not None:
                feed.last_modified = last_modified
            if title:
                feed.title = title
        else:
            feed.last_error = error
        if new_url and new_url != feed.url:
            taken = session.exec(select(Feed.id).where(col(Feed.url) == new_url)).first()
            if taken is None:
                feed.url = new_url
        session.add(feed)
        session.commit()
        return feed.url


def store_items(
    store: Store, feed_id: int, items: Iterable[Mapping[str, Any]], *, seen_at: datetime | None = None
) -> int:
    """Insert the items not stored yet; returns how many are new.

    An item is the same as a stored one when its GUID, its link or its title+date hash matches: a
    feed that re-issues GUIDs or rewrites its links does not come back as unread. Each mapping has
    dedup_key, guid, link, title, summary, content_text, published_at (None = first seen) and
    title_date_key.
    """
    seen_at = seen_at or utcnow()
    with store.session() as session:
        known_keys: set[str] = set()
        known_guids: set[str] = set()
        known_links: set[str] = set()
        rows = session.exec(
            select(
                FeedItem.dedup_key,
                FeedItem.guid,
                FeedItem.link,
                FeedItem.title,
                FeedItem.published_at,
                FeedItem.first_seen_at,
            ).where(col(FeedItem.feed_id) == feed_id)
        ).all()
        for key, guid, link, title, published, first_seen in rows:
            known_keys.add(key)
            # A date equal to first-seen was not the feed's own: such an item hashes without one.
            own_date = None if _same_moment(published, first_seen) else published
            known_keys.add(title_date_key(title, own_date))
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
                    "published_at": item.get("published_at") or seen_at,
                    "first_seen_at": seen_at,
                    "read": False,
                    "starred": False,
                    "mail_message_id": None,
                }
            )
        if fresh:
            insert_rows(session, FeedItem, fresh)
            session.commit()
        return len(fresh)


def _same_moment(one: datetime, other: datetime) -> bool:
    if one.tzinfo is None:
        one = one.replace(tzinfo=UTC)
    if other.tzinfo is None:
        other = other.replace(tzinfo=UTC)
    return one == other


def items_window(
    store: Store,
    *,
    feed_id: int | None = None,
    unread_only: bool = False,
    before: tuple[datetime, int] | None = None,
    limit: int = 200,
) -> list[ItemRow]:
    """Items newest first, ``limit`` at a time; ``before`` = the last row's (published_at, id)."""
    with store.session() as session:
        query = select(FeedItem, Feed.name).join(Feed, col(Feed.id) == col(FeedItem.feed_id))
        if feed_id is not None:
            query = query.where(col(FeedItem.feed_id) == feed_id)
        if unread_only:
            query = query.where(col(FeedItem.read).is_(False))
        if before is not None:
            moment, item_id = before
            query = query.where(
                (col(FeedItem.published_at) < moment)
                | ((col(FeedItem.published_at) == moment) & (col(FeedItem.id) < item_id))
            )
        query = query.order_by(col(FeedItem.published_at).desc(), col(FeedItem.id).desc()).limit(limit)
        out = []
        for item, feed_name in session.exec(query).all():
            assert item.id is not None
            out.append(
                ItemRow(
                    id=item.id,
                    feed_id=item.feed_id,
                    feed_name=feed_name,
                    title=item.title,
                    link=item.link,
                    summary=item.summary,
                    published_at=item.published_at,
                    read=item.read,
                    starred=item.starred,
                )
            )
        return out


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
            update(FeedItem).where(col(FeedItem.feed_id) == feed_id, col(FeedItem.read).is_(False)).values(read=True)
        )
        session.commit()
