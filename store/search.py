"""The one full-text search over mail, requests, feed items and notices; and the requests' own
index (``search_index_request``, revision 0007) that the Requests screen filters by."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session

KINDS = ("mail", "request", "feed_item", "notice")
_KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class SearchHit:
    kind: str  # one of KINDS
    ref_id: int  # the id of the row in its own table
    title: str
    snippet: str
    rank: float


def fts_query(text: str) -> str:
    """Turn what the user typed into a safe FTS5 query: every word must match, the last as a prefix.

    Words are quoted, so FTS5 operators and punctuation in the input are never interpreted.
    """
    words = _WORD.findall(text)
    if not words:
        return ""
    quoted = [f'"{word}"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


# The words of a filter over search_index_request, which keeps no positions (detail=none) and so
# answers no phrase: a word is split wherever its tokenizer splits it (the underscore too).
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def request_fts_query(text: str) -> str:
    """What the user typed as a query of ``search_index_request``: every word, the last a prefix."""
    words = _TOKEN.findall(text)
    if not words:
        return ""
    quoted = [f'"{word}"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def request_match_condition(*, drive: bool) -> str:
    """The condition on ``service_request r`` that keeps the requests matching ``:match``.

    With ``drive`` the matches lead the query (the view holds most requests: read the hits, then
    the rows); without it the view's own index leads and each row is looked up in the hits, read
    once into a list (the unary ``+`` keeps the planner from driving by the hits, which for a
    one-letter prefix are nearly every request ever made).
    """
    column = "r.id" if drive else "+r.id"
    return f"{column} IN (SELECT rowid FROM search_index_request WHERE search_index_request MATCH :match)"


def search(session: Session, text: str, kinds: tuple[str, ...] = KINDS, limit: int = 50) -> list[SearchHit]:
    """Best matches first; an empty or punctuation-only query returns nothing."""
    from sqlalchemy import text as sql

    query = fts_query(text)
    if not query:
        return []
    codes = sorted(_KIND_CODE[kind] for kind in kinds)
    code_list = ",".join(str(code) for code in codes)
    rows = session.connection().execute(
        sql(
            "SELECT rowid, title, snippet(search_index, 1, '', '', '…', 12), bm25(search_index) "
            "FROM search_index WHERE search_index MATCH :query "
            f"AND (rowid % 4) IN ({code_list}) ORDER BY bm25(search_index) LIMIT :limit"
        ),
        {"query": query, "limit": limit},
    )
    return [
        SearchHit(kind=KINDS[rowid % 4], ref_id=rowid // 4, title=title, snippet=snippet, rank=rank)
        for rowid, title, snippet, rank in rows
    ]
