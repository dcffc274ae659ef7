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
from store.feedkeys import title_date_key as title_date_key  # re-exported
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
    rows = session.exec(select(FeedItem.feed_id, unread, func.count()).group_by(col(FeedItem.feed_id))).all()
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
        for write in writes:
            new = _store_items(session, write.feed_id, write.items, write.at) if write.items else 0
            url = _record_fetch(session, write)
            results.append(WriteResult(write.feed_id, url, new))
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
    values: dict[str, Any] = {"last_fetch_at": write.at}
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
    """Insert the items not stored yet; returns how many are new.

    An item is the same as a stored one when its GUID, its link or its title+date hash matches: a
    feed that re-issues GUIDs or rewrites its links does not come back as unread. Each mapping has
    dedup_key, guid, link, title, summary, content_text, published_at (None = first seen) and
    title_date_key.
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
                "published_at": item.get("published_at") or seen_at,
                "first_seen_at": seen_at,
                "read": False,
                "starred": False,
                "mail_message_id": None,
            }
        )
    if fresh:
        insert_rows(session, FeedItem, fresh)
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
            update(FeedItem)
            .where(col(FeedItem.feed_id) == feed_id, col(FeedItem.read).is_(False))
            .values(read=True)
        )
        session.commit()
