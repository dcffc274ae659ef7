"""Refresh every feed at once: fetch and parse in a thread pool, store each result as it comes.

Blocking (HTTP, feedparser); the app calls :func:`refresh_all` from a thread worker, the CLI directly.
One feed's failure is recorded on that feed and never stops the others.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from coordinator_tui.feeds.fetch import FetchLimits, FetchResult, fetch, make_client
from coordinator_tui.feeds.parse import NotAFeed, ParsedFeed, parse_elsewhere, parse_feed, warm_parser
from coordinator_tui.i18n import _, current_language
from store.feeds import FeedRow, FetchWrite, list_feeds, write_refresh

if TYPE_CHECKING:
    import ssl

    import httpx

    from store.engine import Store

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 8
DEFAULT_LIMITS = FetchLimits()
# Parsing is pure Python (feedparser, inscriptis): about 1 ms an item. From this many bodies on, it
# goes to processes, one a core, so a cold refresh of many feeds is not held to one core by the GIL.
PROCESS_PARSE_FROM = 6


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

    The store keeps the same time on the feed (``retry_after_at``), so the wait holds across
    processes; this book also covers a store write that failed.
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
    limits: FetchLimits = DEFAULT_LIMITS,
    workers: int = DEFAULT_WORKERS,
    retry_book: RetryBook | None = None,
    verify: ssl.SSLContext | bool = True,
    now: datetime | None = None,
    parse_in_processes: bool = True,
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
            stored = feed.retry_after_at
            if stored is not None:
                # Kept in the store, so a cron run and the app honour each other's Retry-After.
                stored = stored if stored.tzinfo else stored.replace(tzinfo=UTC)
                if stored > now and (until is None or stored > until):
                    until = stored
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
            use_processes = parse_in_processes and len(due) >= PROCESS_PARSE_FROM
            if use_processes:
                PARSERS.get()  # the processes start while the first answers come in
            elif due:
                warm_parser(current_language())  # imported here once, not by threads racing to it
            pending = {
                pool.submit(_fetch_and_parse, client, feed, limits, use_processes): feed for feed in due
            }
            # Stored here, on one thread, so SQLite sees one writer; whatever has finished by the
            # time the last batch is written goes in the next one (one transaction per batch).
            while pending:
                done, _running = wait(pending, return_when=FIRST_COMPLETED)
                batch = [(pending.pop(future), future) for future in done]
                report.feeds.extend(_store_batch(store, batch, book))
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


class _Parsers:
    """A process pool for parsing, made on first need and kept for the process's later refreshes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False

    def get(self) -> ProcessPoolExecutor | None:
        with self._lock:
            if self._pool is None and not self._broken:
                try:
                    self._pool = ProcessPoolExecutor(
                        max_workers=max(1, min(os.cpu_count() or 1, 4)),
                        mp_context=multiprocessing.get_context("spawn"),  # never fork a threaded process
                        initializer=warm_parser,
                        initargs=(current_language(),),
                    )
                    atexit.register(self.shutdown)
                except (OSError, ValueError, NotImplementedError) as error:
                    log.warning("no parser processes (%s); parsing in threads", type(error).__name__)
                    self._broken = True
            return self._pool

    def parse(self, body: bytes, url: str, headers: dict[str, str]) -> ParsedFeed:
        pool = self.get()
        if pool is not None:
            try:
                return pool.submit(parse_elsewhere, body, url, headers, current_language()).result()
            except (BrokenProcessPool, RuntimeError, OSError) as error:
                # RuntimeError: the main module starts work on import (no __main__ guard), so
                # spawned processes cannot start; parsing still works, on threads.
                log.warning(
                    "parser processes failed (%s); parsing in threads from now on", type(error).__name__
                )
                with self._lock:
                    self._broken = True
                    self._pool = None
        return parse_feed(body, url=url, headers=headers)

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


PARSERS = _Parsers()


def _fetch_and_parse(
    client: httpx.Client, feed: FeedRow, limits: FetchLimits, use_processes: bool = False
) -> Fetched:
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
            url = fetched.final_url or feed.url
            if use_processes:
                parsed = PARSERS.parse(fetched.body, url, fetched.headers)
            else:
                parsed = parse_feed(fetched.body, url=url, headers=fetched.headers)
        except NotAFeed as error:
            problem = error
    return fetched, parsed, problem, time.perf_counter() - started


Fetched = tuple[FetchResult, ParsedFeed | None, NotAFeed | None, float]


def _store_batch(
    store: Store, batch: list[tuple[FeedRow, Future[Fetched]]], book: RetryBook
) -> list[FeedOutcome]:
    at = datetime.now(UTC)
    outcomes: list[FeedOutcome] = []
    writes: list[FetchWrite] = []
    for feed, future in batch:
        try:
            fetched, parsed, problem, seconds = future.result()
            outcome, write = _outcome(feed, fetched, parsed, problem, book, at)
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
            write = FetchWrite(feed.id, at, ok=False, error=outcome.error)
        outcomes.append(outcome)
        writes.append(write)
    for outcome, result in zip(outcomes, write_refresh(store, writes), strict=True):
        outcome.url = result.url or outcome.url
        outcome.new_items = result.new_items
    return outcomes


def _outcome(
    feed: FeedRow,
    fetched: FetchResult,
    parsed: ParsedFeed | None,
    problem: NotAFeed | None,
    book: RetryBook,
    at: datetime,
) -> tuple[FeedOutcome, FetchWrite]:
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
        log.info("feed %d: %s (HTTP %s)", feed.id, outcome.kind, fetched.http_status)
        # A permanent redirect to something that is not a feed is not remembered.
        return outcome, FetchWrite(feed.id, at, ok=False, error=outcome.error, retry_after=fetched.retry_at)
    if fetched.status == "not_modified":
        write = FetchWrite(
            feed.id,
            at,
            ok=True,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            new_url=fetched.permanent_url,
        )
        return outcome, write
    assert parsed is not None
    outcome.items = len(parsed.items)
    outcome.warning = parsed.warning
    write = FetchWrite(
        feed.id,
        at,
        ok=True,
        warning=parsed.warning,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        new_url=fetched.permanent_url,
        title=parsed.title,
        items=[dict(vars(item)) for item in parsed.items],  # shallow: asdict deep-copies every str
    )
    return outcome, write
