"""Newsletters that arrive as mail: messages from the configured senders become feed items.

Gathered from the store's inbox (what the mail sync brought) at each feed refresh; each item is
linked to its message (``FeedItem.mail_message_id``) and carries the message's text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from coordinator_tui.i18n import N_, _

if TYPE_CHECKING:
    from store.engine import Store

MAIL_FEED_NAME = N_("Mail newsletters")


def gather_newsletters(store: Store, senders: Sequence[str], *, now: datetime) -> int:
    """New inbox mail from ``senders`` as items of the "mail newsletters" feed; returns how many.

    Nothing is made when no sender is configured (not even the feed).
    """
    from store.feeds import gather_mail_newsletters, mail_feed_id

    if not any(sender.strip() for sender in senders):
        return 0
    feed_id = mail_feed_id(store, _(MAIL_FEED_NAME))
    return gather_mail_newsletters(store, feed_id, senders, seen_at=now)
