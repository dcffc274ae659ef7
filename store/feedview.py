"""What the Feeds screen reads: feeds with their counts and health, a filtered window of items, positions,
search, one item with what was passed on. Plain SQL through ``store.queries.reader``.

No SQLModel here (as store/mailview.py): the screen's first open must not wait for SQLAlchemy's ORM
to import. Newest first; ties on the date go by id, so the order is total and stable between windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from store.queries import Reader, parse_sql_time, reader
from store.search import fts_query

if TYPE_CHECKING:
    from store.engine import Store

MAIL_FEED_SCHEME = "mail:"
MAIL_FEED_URL = "mail:newsletters"  # a feed row of its own; never fetched, never exported

_ORDER = "ORDER BY i.published_at DESC, i.id DESC"


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
    config_url: str = ""  # the address as written in [[feeds]] ("" for a feed added in the app)
    retry_after_at: datetime | None = None  # a 429/503 asked us not to come back before this

    @property
    def is_mail(self) -> bool:
        """The "mail newsletters" feed: its items are messages from newsletter senders, not fetched."""
        return self.url.startswith(MAIL_FEED_SCHEME)


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
    forwarded: bool = False
    mail_message_id: int | None = None


@dataclass(frozen=True)
class ItemFilter:
    """Which items the list shows; newest first always."""

    feed_id: int | None = None
    unread_only: bool = False
    starred_only: bool = False
    forwarded_only: bool = False


@dataclass(frozen=True)
class ForwardRow:
    sent_at: datetime
    list_name: str  # "" when the list was deleted or the forward went to addresses typed by hand
    subject: str  # the email it went in (a digest carries several items)
    state: str  # the outbox row's state: queued, sent, failed, unknown, demo


@dataclass(frozen=True)
class ItemDetail:
    row: ItemRow
    content_text: str  # plain words; coordinator_tui.feeds.reading renders content_html into it
    content_html: str
    feed_title: str
    first_seen_at: datetime
    forwards: list[ForwardRow]


def _time(value: Any) -> datetime:
    moment = parse_sql_time(value)
    assert moment is not None
    return moment


# --- feeds ----------------------------------------------------------------------------------------


def list_feeds(store: Store, *, include_mail: bool = False) -> list[FeedRow]:
    """Every feed with its unread and item counts, by name; ``include_mail``: with the "mail
    newsletters" feed, which the refresh, the CLI and OPML leave out."""
    with reader(store) as read:
        return _list_feeds(read, include_mail=include_mail)


@dataclass(frozen=True)
class ScreenState:
    """What the Feeds screen reads on every open: the feeds, the list's length, the cursor's row."""

    feeds: list[FeedRow]
    count: int
    position: int | None  # of the item to keep under the cursor; None: not in the list (or none asked)


def screen_state(store: Store, flt: ItemFilter, keep_id: int | None, *, list_too: bool = True) -> ScreenState:
    """One connection for the whole read: a worker gives the GIL up at each SQLite call, and
    opening a connection (the file, the WAL index, the schema) is many of them."""
    with reader(store) as read:
        feeds = _list_feeds(read, include_mail=True)
        if not list_too:
            return ScreenState(feeds, 0, None)
        count = _count_items(read, flt)
        position = None if keep_id is None else _position(read, flt, keep_id)
    return ScreenState(feeds, count, position)


def _list_feeds(read: Reader, *, include_mail: bool) -> list[FeedRow]:
    where = "" if include_mail else "WHERE url NOT LIKE 'mail:%'"
    # Two index-only counts rather than one pass over the rows (their text makes the table
    # large): every item by the feed_id index, the unread ones by the read index.
    totals = dict(read.rows("SELECT feed_id, count(*) FROM feed_item GROUP BY feed_id"))
    unread = dict(read.rows("SELECT feed_id, count(*) FROM feed_item WHERE read = 0 GROUP BY feed_id"))
    rows = read.rows(
        "SELECT id, name, url, title, etag, last_modified, last_fetch_at, last_success_at, last_error, "
        f"warning, from_config, config_url, retry_after_at FROM feed {where} ORDER BY lower(name), id"
    )
    return [
        FeedRow(
            id=int(row[0]),
            name=str(row[1] or ""),
            url=str(row[2] or ""),
            title=str(row[3] or ""),
            etag=str(row[4] or ""),
            last_modified=str(row[5] or ""),
            last_fetch_at=parse_sql_time(row[6]),
            last_success_at=parse_sql_time(row[7]),
            last_error=str(row[8] or ""),
            warning=str(row[9] or ""),
            from_config=bool(row[10]),
            unread=int(unread.get(row[0], 0)),
            items=int(totals.get(row[0], 0)),
            config_url=str(row[11] or ""),
            retry_after_at=parse_sql_time(row[12]),
        )
        for row in rows
    ]


def unread_counts(store: Store) -> dict[int, int]:
    """Feed id → unread items (feeds with none are absent)."""
    with reader(store) as read:
        return {
            int(feed_id): int(count)
            for feed_id, count in read.rows(
                "SELECT feed_id, count(*) FROM feed_item WHERE read = 0 GROUP BY feed_id"
            )
        }


# --- items ----------------------------------------------------------------------------------------

_ITEM_COLUMNS = (
    "i.id, i.feed_id, f.name, i.title, i.link, i.summary, i.published_at, i.read, i.starred, "
    "EXISTS (SELECT 1 FROM feed_forward ff WHERE ff.feed_item_id = i.id), i.mail_message_id"
)


def _where(flt: ItemFilter) -> tuple[list[str], dict[str, Any]]:
    conditions: list[str] = []
    params: dict[str, Any] = {}
    if flt.feed_id is not None:
        conditions.append("i.feed_id = :feed_id")
        params["feed_id"] = flt.feed_id
    if flt.unread_only:
        conditions.append("i.read = 0")
    if flt.starred_only:
        conditions.append("i.starred = 1")
    if flt.forwarded_only:
        conditions.append("EXISTS (SELECT 1 FROM feed_forward ff WHERE ff.feed_item_id = i.id)")
    return conditions, params


def _clause(conditions: Sequence[str]) -> str:
    return ("WHERE " + " AND ".join(conditions)) if conditions else ""


def _item_row(row: Sequence[Any]) -> ItemRow:
    return ItemRow(
        id=int(row[0]),
        feed_id=int(row[1]),
        feed_name=str(row[2] or ""),
        title=str(row[3] or ""),
        link=str(row[4] or ""),
        summary=str(row[5] or ""),
        published_at=_time(row[6]),
        read=bool(row[7]),
        starred=bool(row[8]),
        forwarded=bool(row[9]),
        mail_message_id=None if row[10] is None else int(row[10]),
    )


def count_items(store: Store, flt: ItemFilter) -> int:
    with reader(store) as read:
        return _count_items(read, flt)


def _count_items(read: Reader, flt: ItemFilter) -> int:
    conditions, params = _where(flt)
    return int(read.rows(f"SELECT count(*) FROM feed_item i {_clause(conditions)}", params)[0][0])


def items_at(store: Store, flt: ItemFilter, offset: int, limit: int) -> list[ItemRow]:
    """Rows ``offset`` .. ``offset + limit`` of the filtered list, newest first."""
    conditions, params = _where(flt)
    params.update(offset=max(0, offset), limit=limit)
    with reader(store) as read:
        rows = read.rows(
            f"SELECT {_ITEM_COLUMNS} FROM feed_item i JOIN feed f ON f.id = i.feed_id "
            f"{_clause(conditions)} {_ORDER} LIMIT :limit OFFSET :offset",
            params,
        )
    return [_item_row(row) for row in rows]


def _rows_by_ids(read: Reader, ids: Sequence[int]) -> dict[int, ItemRow]:
    found: dict[int, ItemRow] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ", ".join(f":i{n}" for n in range(len(chunk)))
        params = {f"i{n}": value for n, value in enumerate(chunk)}
        for row in read.rows(
            f"SELECT {_ITEM_COLUMNS} FROM feed_item i JOIN feed f ON f.id = i.feed_id "
            f"WHERE i.id IN ({marks})",
            params,
        ):
            found[int(row[0])] = _item_row(row)
    return found


def items_by_ids(store: Store, ids: Sequence[int]) -> list[ItemRow]:
    """The rows of ``ids`` in that order (ids no longer stored are left out)."""
    if not ids:
        return []
    with reader(store) as read:
        found = _rows_by_ids(read, ids)
    return [found[item_id] for item_id in ids if item_id in found]


def items_window(
    store: Store,
    *,
    feed_id: int | None = None,
    unread_only: bool = False,
    before: tuple[datetime, int] | None = None,
    limit: int = 200,
) -> list[ItemRow]:
    """Items newest first, ``limit`` at a time; ``before`` = the last row's (published_at, id)."""
    from store.queries import sql_time

    conditions, params = _where(ItemFilter(feed_id=feed_id, unread_only=unread_only))
    if before is not None:
        conditions.append("(i.published_at < :moment OR (i.published_at = :moment AND i.id < :before_id))")
        params.update(moment=sql_time(before[0]), before_id=before[1])
    params["limit"] = limit
    with reader(store) as read:
        rows = read.rows(
            f"SELECT {_ITEM_COLUMNS} FROM feed_item i JOIN feed f ON f.id = i.feed_id "
            f"{_clause(conditions)} {_ORDER} LIMIT :limit",
            params,
        )
    return [_item_row(row) for row in rows]


def _position(read: Reader, flt: ItemFilter, item_id: int) -> int | None:
    conditions, params = _where(flt)
    params["item_id"] = item_id
    found = read.rows(
        f"SELECT i.published_at FROM feed_item i {_clause([*conditions, 'i.id = :item_id'])}", params
    )
    if not found:
        return None
    params["moment"] = found[0][0]
    newer = "(i.published_at > :moment OR (i.published_at = :moment AND i.id > :item_id))"
    return int(read.rows(f"SELECT count(*) FROM feed_item i {_clause([*conditions, newer])}", params)[0][0])


def position_of_item(store: Store, flt: ItemFilter, item_id: int) -> int | None:
    """Where ``item_id`` is in the filtered list (None when it is not in it)."""
    with reader(store) as read:
        return _position(read, flt, item_id)


def next_unread_position(store: Store, flt: ItemFilter, after: int) -> int | None:
    """The position of the first unread item below row ``after`` of the filtered list (None: none)."""
    conditions, params = _where(flt)
    with reader(store) as read:
        current = read.rows(
            f"SELECT i.published_at, i.id FROM feed_item i {_clause(conditions)} {_ORDER} "
            "LIMIT 1 OFFSET :after",
            {**params, "after": max(0, after)},
        )
        below = [*conditions, "i.read = 0"]
        if current:
            below.append("(i.published_at < :moment OR (i.published_at = :moment AND i.id < :current_id))")
            params.update(moment=current[0][0], current_id=current[0][1])
        found = read.rows(f"SELECT i.id FROM feed_item i {_clause(below)} {_ORDER} LIMIT 1", params)
        return None if not found else _position(read, flt, int(found[0][0]))


def search_item_ids(store: Store, text: str, flt: ItemFilter, limit: int = 1000) -> list[int]:
    """Items matching ``text`` (full-text: title, summary and text), newest first, within ``flt``."""
    query = fts_query(text)
    if not query:
        return []
    conditions, params = _where(flt)
    conditions.append(
        "i.id IN (SELECT rowid / 4 FROM search_index WHERE search_index MATCH :q AND rowid % 4 = 2)"
    )
    params.update(q=query, limit=limit)
    with reader(store) as read:
        rows = read.rows(f"SELECT i.id FROM feed_item i {_clause(conditions)} {_ORDER} LIMIT :limit", params)
    return [int(row[0]) for row in rows]


def _forwards(read: Reader, item_id: int) -> list[ForwardRow]:
    rows = read.rows(
        "SELECT ff.sent_at, l.name, o.subject, o.state FROM feed_forward ff "
        "LEFT JOIN mailing_list l ON l.id = ff.list_id LEFT JOIN outbox o ON o.id = ff.outbox_id "
        "WHERE ff.feed_item_id = :item_id ORDER BY ff.sent_at DESC, ff.id DESC",
        {"item_id": item_id},
    )
    return [
        ForwardRow(_time(row[0]), str(row[1] or ""), str(row[2] or ""), str(row[3] or "")) for row in rows
    ]


def item_detail(store: Store, item_id: int) -> ItemDetail | None:
    with reader(store) as read:
        found = _rows_by_ids(read, [item_id])
        if item_id not in found:
            return None
        extra = read.rows(
            "SELECT i.content_text, i.first_seen_at, f.title, i.content_html FROM feed_item i "
            "JOIN feed f ON f.id = i.feed_id WHERE i.id = :item_id",
            {"item_id": item_id},
        )[0]
        forwards = _forwards(read, item_id)
    return ItemDetail(
        row=found[item_id],
        content_text=str(extra[0] or ""),
        content_html=str(extra[3] or ""),
        first_seen_at=_time(extra[1]),
        feed_title=str(extra[2] or ""),
        forwards=forwards,
    )


def forwarded_items(store: Store, item_ids: Sequence[int]) -> dict[int, list[ForwardRow]]:
    """The items of ``item_ids`` that were passed on already, with when and where."""
    result: dict[int, list[ForwardRow]] = {}
    with reader(store) as read:
        for item_id in dict.fromkeys(item_ids):
            forwards = _forwards(read, item_id)
            if forwards:
                result[item_id] = forwards
    return result


def last_forward_list(store: Store) -> int | None:
    """The list the newest forward went to (None when nothing was passed on to a list)."""
    with reader(store) as read:
        rows = read.rows(
            "SELECT list_id FROM feed_forward WHERE list_id IS NOT NULL "
            "ORDER BY sent_at DESC, id DESC LIMIT 1"
        )
    return None if not rows else int(rows[0][0])
