"""Which request an incoming message belongs to: the rules, without IO.

A message belongs to a request when
1. its In-Reply-To or References name the Message-ID of a message already linked to the
   request (reason ``header``), or else
2. its subject carries the request's reference, as a tag ``[OMA-2026-0042]`` or bare
   ``OMA-2026-0042`` (reason ``subject_tag``).

The sync reads the clues of each new message here (:func:`clues_of`) and the store matches them
against its links and references in one pass per batch (``store.requests.link_incoming_mail``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from store.requests import REFERENCE_PREFIX, IncomingMail

# The two reasons a message is linked by the sync (RequestMail.reason).
HEADER = "header"
SUBJECT_TAG = "subject_tag"

MAX_HEADER_IDS = 40  # Message-IDs looked at per message: In-Reply-To and the nearest References
MAX_SUBJECT = 2000  # characters of a subject searched for a reference

# OMA-2026-0042, as a tag in brackets or bare; not inside a longer word or number.
_REFERENCE = re.compile(
    rf"(?<![A-Za-z0-9-])(\[)?\s*({REFERENCE_PREFIX})-(\d{{4}})-(\d{{4,6}})(?![0-9])\s*(\])?",
    re.IGNORECASE,
)


def subject_references(subject: str) -> list[str]:
    """The request references in ``subject``, normalised (``OMA-2026-0042``), tags in brackets first."""
    tagged: list[str] = []
    bare: list[str] = []
    for match in _REFERENCE.finditer(subject[:MAX_SUBJECT]):
        reference = f"{REFERENCE_PREFIX}-{match.group(3)}-{match.group(4)}"
        (tagged if match.group(1) and match.group(5) else bare).append(reference)
    return list(dict.fromkeys([*tagged, *bare]))


def header_ids(in_reply_to: str, references: str) -> list[str]:
    """The Message-IDs a message answers, nearest first: In-Reply-To, then References backwards.

    ``references`` is the store's space-separated list; ids without their brackets get them.
    """
    found: list[str] = []
    for value in [in_reply_to, *reversed(references.split())]:
        value = value.strip()
        if not value:
            continue
        if not value.startswith("<"):
            value = f"<{value.strip('<>')}>"
        found.append(value)
    return list(dict.fromkeys(found))[:MAX_HEADER_IDS]


def clues_of(uid: int, row: Mapping[str, Any]) -> IncomingMail | None:
    """What may tie a stored message row (the sync's row dict) to a request; None if nothing can."""
    ids = header_ids(str(row.get("in_reply_to") or ""), str(row.get("references") or ""))
    tags = subject_references(str(row.get("subject") or ""))
    if not ids and not tags:
        return None
    return IncomingMail(
        uid=uid,
        message_id=str(row.get("message_id") or ""),
        sender=str(row.get("from_addr") or "").strip().lower(),
        header_ids=tuple(ids),
        references=tuple(tags),
    )
