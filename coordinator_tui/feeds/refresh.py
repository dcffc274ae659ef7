"""Refresh every feed at once: fetch and parse in a thread pool, store each result as it comes.

Blocking (HTTP, feedparser); the app calls :func:`refresh_all` from a thread worker, the CLI directly.
One feed's failure is recorded on that feed and never stops the others.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from coordinator_tui.feeds.fetch import FetchLimits, FetchResult, fetch, make_client
from coordinator_tui.feeds.parse import NotAFeed, ParsedFeed, parse_feed
from coordinator_tui.i18n import _
from store.feeds import FeedRow, list_feeds, record_fetch, store_items

if TYPE_CHECKING:
    import ssl

    import httpx

    from store.engine import Store

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 8


@dataclass
class FeedOutcome:
    """One feed's refresh, as the CLI's --json and the Feeds screen report it."""

    feed_id: int
    name: str
    url: str  # the address used from now on (a remembered permanent redirect)
    status: str  # ok, not_modified, skipped (Retry-After not yet passed), error
    new_items: int = 0
    items: int = 0  # items in the document
    error: str = ""
    kind: str = ""  # dns, refused, tls, timeout, http, too_large, retry_later, not_a_feed, encoding, ...
    warning: str = ""
    http_status: int | None = None
    redirected_to: str = ""
    retry_at: datetime | None = None
    seconds: float = 0.0

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data["retry_at"] = self.retry_at.isoformat() if self.retry_at else None
        data["seconds"] = round(self.seconds, 3)
        return data


@dataclass
class RefreshReport:
    feeds: list[FeedOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no feed failed (a feed waiting out its Retry-After is not a failure)."""
        return all(outcome.status != "error" for outcome in self.feeds)

    @property
    def new_items(self) -> int:
        return sum(outcome.new_items for outcome in self.feeds)


class RetryBook:
    """When each address may be fetched again after a 429/503 with Retry-After (thread-safe).

    The app keeps one for its whole run, so the periodic refresh honours the wait.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, datetime] = {}

    def wait_until(self, url: str, now: datetime) -> datetime | None:
        with self._lock:
            until = self._until.get(url)
            if until is not None and until <= now:
                del self._until[url]
                return None
            return until

    def hold(self, url: str, until: datetime) -> None:
        with self._lock:
            self._until[url] = until


_PROCESS_RETRY_BOOK = RetryBook()


def refresh_all(
    store: Store,
    *,
    limits: FetchLimits = FetchLimits(),
    workers: int = DEFAULT_WORKERS,
    retry_book: RetryBook | None = None,
    verify: ssl.SSLContext | bool = True,
    now: datetime | None = None,
) -> RefreshReport:
    """Fetch every feed in the store concurrently and store what is new; returns a report per feed."""
    started = time.perf_counter()
    book = retry_book or _PROCESS_RETRY_BOOK
    now = now or datetime.now(UTC)
    feeds = list_feeds(store)
    report = RefreshReport()
    client = make_client(limits, verify=verify)
    try:
        due: list[FeedRow] = []
        for feed in feeds:
            until = book.wait_until(feed.url, now)
            if until is not None:
                report.feeds.append(
                    FeedOutcome(
                        feed.id,
                        feed.name,
                        feed.url,
                        "skipped",
                        kind="retry_later",
                        retry_at=until,
                        error=_("Waiting until the time the server asked for."),
                    )
                )
            else:
                due.append(feed)
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(due) or 1))) as pool:
            futures = {pool.submit(_fetch_and_parse, client, feed, limits): feed for feed in due}
            # Stored here, one feed at a time, so SQLite sees one writer.
            for future in as_completed(futures):
                feed = futures[future]
                try:
                    fetched, parsed, parse_error, seconds = future.result()
                    outcome = _store(store, feed, fetched, parsed, parse_error, book)
                    outcome.seconds = seconds
                except Exception as error:  # a bug in one feed's path must not stop the others
                    log.exception("refreshing feed %d failed", feed.id)
                    outcome = FeedOutcome(
                        feed.id,
                        feed.name,
                        feed.url,
                        "error",
                        kind="internal",
                        error=_("The feed could not be refreshed ({reason}); see the log.").format(
                            reason=type(error).__name__
                        ),
                    )
                    record_fetch(store, feed.id, at=datetime.now(UTC), ok=False, error=outcome.error)
                report.feeds.append(outcome)
    finally:
        client.close()
    order = {feed.id: index for index, feed in enumerate(feeds)}
    report.feeds.sort(key=lambda outcome: order.get(outcome.feed_id, 0))
    report.seconds = time.perf_counter() - started
    log.info(
        "feeds refreshed: %d feeds, %d new items, %d failed, %.2f s",
        len(report.feeds),
        report.new_items,
        sum(1 for outcome in report.feeds if outcome.status == "error"),
        report.seconds,
    )
    return report


def _fetch_and_parse(
    client: httpx.Client, feed: FeedRow, limits: FetchLimits
) -> tuple[FetchResult, ParsedFeed | None, NotAFeed | None, float]:
    started = time.perf_counter()
    fetched = fetch(
        client,
        feed.url,
        etag=feed.etag,
        last_modified=feed.last_modified,
        limits=limits,
    )
    parsed = None
    problem = None
    if fetched.status == "ok":  # a 304 costs no parsing
        try:
            parsed = parse_feed(fetched.body, url=fetched.final_url or feed.url, headers=fetched.headers)
        except NotAFeed as error:
            problem = error
    return fetched, parsed, problem, time.perf_counter() - started


def _store(
    store: Store,
    feed: FeedRow,
    fetched: FetchResult,
    parsed: ParsedFeed | None,
    problem: NotAFeed | None,
    book: RetryBook,
) -> FeedOutcome:
    at = datetime.now(UTC)
    outcome = FeedOutcome(
        feed.id,
        feed.name,
        feed.url,
        fetched.status,
        http_status=fetched.http_status,
        redirected_to=fetched.permanent_url,
    )
    if fetched.status == "error" or problem is not None:
        outcome.status = "error"
        outcome.kind = problem.kind if problem is not None else fetched.kind
        outcome.error = str(problem) if problem is not None else fetched.error
        outcome.retry_at = fetched.retry_at
        if fetched.retry_at is not None:
            book.hold(feed.url, fetched.retry_at)
        # A permanent redirect to something that is not a feed is not remembered.
        outcome.url = record_fetch(store, feed.id, at=at, ok=False, error=outcome.error)
        log.info("feed %d: %s (HTTP %s)", feed.id, outcome.kind, fetched.http_status)
        return outcome
    if fetched.status == "not_modified":
        outcome.url = record_fetch(
            store,
            feed.id,
            at=at,
            ok=True,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            new_url=fetched.permanent_url,
        )
        return outcome
    assert parsed is not None
    outcome.items = len(parsed.items)
    outcome.warning = parsed.warning
    outcome.new_items = store_items(store, feed.id, [asdict(item) for item in parsed.items], seen_at=at)
    outcome.url = record_fetch(
        store,
        feed.id,
        at=at,
        ok=True,
        warning=parsed.warning,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        new_url=fetched.permanent_url,
        title=parsed.title,
    )
    return outcome
