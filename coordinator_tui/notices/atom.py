"""The status feed: every sent version of every notice as an Atom entry in one file.

The file is rewritten whole from the store after each send (newest first, at most ``MAX_ENTRIES``),
written to a temporary file beside it and renamed, so a feed reader never sees half a file. An
entry's id comes from the version's Message-ID, so a reader shows each version once.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from coordinator_tui.i18n import _
from store import notices as notice_store

if TYPE_CHECKING:
    from store.engine import Store

MAX_ENTRIES = 50
FEED_ID = "urn:coordinator-tui:notices"
FEED_TITLE = "Omaolo – häiriö- ja huoltotiedotteet"


def _time(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_id(message_id: str) -> str:
    return "urn:coordinator-tui:notice:" + message_id.strip().strip("<>")


def feed_xml(store: Store, *, title: str = FEED_TITLE, now: datetime | None = None) -> str:
    pairs = notice_store.sent_versions(store, MAX_ENTRIES)
    updated = max((version.sent_at for _notice, version in pairs if version.sent_at), default=None)
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="fi">',
        f"  <id>{FEED_ID}</id>",
        f"  <title>{escape(title)}</title>",
        f"  <updated>{_time(updated or now or datetime.now(UTC))}</updated>",
        "  <author><name>Omaolo-koordinaattori</name></author>",
        "  <generator>coordinator-tui</generator>",
    ]
    for notice, version in pairs:
        assert version.sent_at is not None
        text = version.body_fi + (f"\n\n{version.body_sv}" if version.body_sv else "")
        lines += [
            "  <entry>",
            f"    <id>{escape(entry_id(version.message_id))}</id>",
            f"    <title>{escape(version.subject)}</title>",
            f"    <updated>{_time(version.sent_at)}</updated>",
            f"    <published>{_time(version.sent_at)}</published>",
            f'    <category term="{escape(notice.kind, {chr(34): "&quot;"})}"/>',
            f'    <category term="{escape(version.status, {chr(34): "&quot;"})}"/>',
            f'    <content type="text">{escape(text)}</content>',
            "  </entry>",
        ]
    lines.append("</feed>")
    return "\n".join(lines) + "\n"


def write_feed(store: Store, path: Path, *, title: str = FEED_TITLE) -> str:
    """Rewrite the feed at ``path``; returns "" or the reason it could not be written (never raises)."""
    try:
        data = feed_xml(store, title=title).encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".notices-", suffix=".xml", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.chmod(temporary, 0o644)  # a shared web folder serves it to others
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        return _("The status feed {path} was not written: {reason}").format(
            path=path, reason=error.strerror or error
        )
    return ""
