"""Reading a feed once before it is followed (`a` on the Feeds screen): its title, or why not."""

from __future__ import annotations

from dataclasses import dataclass

from coordinator_tui.feeds.fetch import FetchLimits, fetch, make_client
from coordinator_tui.feeds.parse import NotAFeed, parse_feed
from coordinator_tui.i18n import _
from coordinator_tui.textclean import clean_line


@dataclass(frozen=True)
class Probe:
    url: str  # the address to follow: a permanent redirect's target when there was one
    title: str = ""
    items: int = 0
    warning: str = ""
    error: str = ""  # "" when the address gives a feed

    @property
    def ok(self) -> bool:
        return not self.error


PROBE_LIMITS = FetchLimits()


def probe_feed(url: str, *, limits: FetchLimits = PROBE_LIMITS) -> Probe:
    """Fetch and parse ``url`` (blocking: call from a worker); never raises for network trouble."""
    url = url.strip()
    if not url.startswith(("http://", "https://")):
        return Probe(url, error=_("The address must start with http:// or https://."))
    with make_client(limits) as client:
        fetched = fetch(client, url, limits=limits)
    if fetched.status != "ok":
        return Probe(url, error=fetched.error or _("The feed could not be read."))
    try:
        parsed = parse_feed(fetched.body, url=fetched.final_url or url, headers=fetched.headers)
    except NotAFeed as error:
        return Probe(url, error=str(error))
    return Probe(
        fetched.permanent_url or url,
        title=clean_line(parsed.title, limit=200),
        items=len(parsed.items),
        warning=parsed.warning,
    )
