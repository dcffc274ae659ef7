"""The title+date hash that de-duplicates feed items, without SQL imports (parser processes use it)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime


def title_date_key(title: str, published: datetime | None) -> str:
    """The last resort of de-duplication: a hash of the title and the feed's own date ("" if none)."""
    if published is not None and published.tzinfo is None:
        published = published.replace(tzinfo=UTC)  # as SQLite gives it back: UTC without an offset
    stamp = published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") if published else ""
    return "hash:" + hashlib.sha256(f"{title}\x00{stamp}".encode()).hexdigest()[:32]
