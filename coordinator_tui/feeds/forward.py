"""Passing feed items on to the network: the text of a forward and of a digest, and who it goes to.

No Textual here. The compose screen edits what this builds; the directory's lists are resolved by
``coordinator_tui.notices.recipients`` (the same resolution as a disruption notice), every member
in Bcc.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from coordinator_tui.i18n import _
from coordinator_tui.textclean import clean_line, clean_text
from coordinator_tui.timefmt import fi_date, local

if TYPE_CHECKING:
    from store.engine import Store
    from store.feedview import ItemDetail

SUMMARY_CHARS = 600  # a forward carries a short summary; the link leads to the whole item
DIGEST_SUMMARY_CHARS = 300


def day(moment: datetime) -> str:
    return fi_date(local(moment).date())


def default_intro() -> str:
    return _("Hello,\n\nfor your information, from the newsletters:")


def short_summary(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The first paragraphs of ``text`` up to about ``limit`` characters, cut at a word."""
    text = clean_text(text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + " …"


def _summary_of(detail: ItemDetail, limit: int) -> str:
    row = detail.row
    summary = row.summary.strip() or detail.content_text
    if clean_line(summary) == clean_line(row.title):
        summary = detail.content_text if detail.content_text.strip() != summary.strip() else ""
    return short_summary(summary, limit)


def _intro(intro: str) -> str:
    return (clean_text(intro).strip() or default_intro()).rstrip()


def forward_subject(detail: ItemDetail) -> str:
    return clean_line(detail.row.title, limit=900) or _("From the newsletters")


def forward_body(detail: ItemDetail, intro: str) -> str:
    """The coordinator's intro, then the item's title, a short summary and the link."""
    row = detail.row
    lines = [_intro(intro), "", clean_line(row.title, limit=500)]
    lines.append(f"{clean_line(row.feed_name, limit=120)} · {day(row.published_at)}")
    summary = _summary_of(detail, SUMMARY_CHARS)
    if summary:
        lines += ["", summary]
    if row.link:
        lines += ["", row.link]
    return "\n".join(lines) + "\n"


def digest_subject(now: datetime) -> str:
    return _("Newsletter digest {date}").format(date=day(now))


def digest_body(details: Sequence[ItemDetail], intro: str) -> str:
    """One email of several items: grouped by feed (feeds in the order first met), items in order."""
    groups: dict[int, list[ItemDetail]] = {}
    for detail in details:
        groups.setdefault(detail.row.feed_id, []).append(detail)
    lines = [_intro(intro)]
    for members in groups.values():
        feed_name = clean_line(members[0].row.feed_name, limit=120)
        lines += ["", feed_name, "=" * min(60, max(3, len(feed_name)))]
        for detail in members:
            row = detail.row
            lines += ["", "* " + clean_line(row.title, limit=500) + f" ({day(row.published_at)})"]
            summary = _summary_of(detail, DIGEST_SUMMARY_CHARS)
            if summary:
                lines += ["  " + line if line else "" for line in summary.splitlines()]
            if row.link:
                lines.append("  " + row.link)
    return "\n".join(lines) + "\n"


@dataclass
class ListChoice:
    """A directory list resolved into addresses (for Bcc), or why it cannot be used."""

    list_id: int | None
    name: str
    addresses: list[str] = field(default_factory=list)
    problem: str = ""  # "" when there is someone to send to


def list_names(store: Store) -> list[tuple[int, str]]:
    """The directory's lists, by name."""
    from store.notices import mailing_lists

    return [(info.id, info.name) for info in mailing_lists(store)]


def resolve_list(store: Store, name: str) -> ListChoice:
    """The list called ``name`` (case-insensitive) with its members' addresses."""
    from coordinator_tui.notices.recipients import Choice, resolve

    wanted = name.strip()
    lists = {list_name.casefold(): (list_id, list_name) for list_id, list_name in list_names(store)}
    found = lists.get(wanted.casefold())
    if not wanted:
        return ListChoice(None, "", problem=_("Name a list of the directory (Bcc)."))
    if found is None:
        known = ", ".join(list_name for _id, list_name in list(lists.values())[:8])
        return ListChoice(
            None,
            wanted,
            problem=_("There is no list {name!r} in the directory. Lists: {known}").format(
                name=clean_line(wanted, limit=80), known=known or "—"
            ),
        )
    list_id, list_name = found
    resolution = resolve(store, Choice(lists=[list_id]))
    if not resolution.addresses:
        return ListChoice(
            list_id,
            list_name,
            problem=_("The list {name} has no one with an address.").format(name=list_name),
        )
    return ListChoice(list_id, list_name, list(resolution.addresses))


def default_list_name(store: Store, configured: str) -> str:
    """``[newsletters] forward_list`` when set, else the list last passed on to, else the directory's
    first list ("" when there is none)."""
    from store.feedview import last_forward_list

    if configured.strip():
        return configured.strip()
    names = list_names(store)
    last = last_forward_list(store)
    if last is not None and any(list_id == last for list_id, _name in names):
        return next(name for list_id, name in names if list_id == last)
    return names[0][1] if names else ""
