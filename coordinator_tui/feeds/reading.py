"""One feed item as the reader, a forward and a new request see it: its HTML rendered to text.

Items are stored with their HTML and only the words for search (coordinator_tui.feeds.parse); the
layout into readable text happens here, for the one item opened. Blocking: call from a worker.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from coordinator_tui.feeds.parse import readable_html

if TYPE_CHECKING:
    from store.engine import Store
    from store.feedview import ItemDetail


def load_item(store: Store, item_id: int) -> ItemDetail | None:
    """The item with ``content_text`` readable; None when it is gone."""
    from store.feedview import item_detail

    detail = item_detail(store, item_id)
    if detail is None or not detail.content_html:
        return detail
    return replace(detail, content_text=readable_html(detail.content_html) or detail.content_text)
