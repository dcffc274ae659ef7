"""Requests exported for the cooperation meetings: CSV that Excel set to Finnish opens as columns
(UTF-8 with a BOM, ``;`` between fields, Finnish dates and decimal commas) and JSON for programs.

One row or object per request: reference, title, status, priority, category, requester, unit,
assignee, created, due, first_response, resolved — and, for the figures, the hours to the first
response and to resolution. An export leaves the machine, so a valid Finnish personal identity
code in any text blocks it (the product keeps no patient data), and text that Excel would run as
a formula is written as text.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo

from coordinator_tui.hetu import contains_hetu
from coordinator_tui.i18n import _
from coordinator_tui.textclean import clean_line
from store.requests import ExportRow

Format = Literal["csv", "json"]
COLUMNS = (
    "reference",
    "title",
    "status",
    "priority",
    "category",
    "requester",
    "unit",
    "assignee",
    "created",
    "due",
    "first_response",
    "resolved",
    "first_response_hours",
    "resolution_hours",
)
HELSINKI = ZoneInfo("Europe/Helsinki")
# Excel runs a cell that starts with one of these as a formula, even from a CSV file.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportBlocked(Exception):
    """The export would carry a personal identity code; nothing was written."""

    def __init__(self, reference: str) -> None:
        self.reference = reference
        super().__init__(
            _(
                "Request {reference} contains a Finnish personal identity code; nothing was exported. "
                "Remove the code from the request and export again."
            ).format(reference=reference)
        )


@dataclass(frozen=True)
class ExportSummary:
    rows: int
    path: Path | None  # None: written to the stream given


def fi_datetime(moment: datetime | None) -> str:
    """``26.11.2026 9:30`` in Helsinki time: a date and time Excel set to Finnish reads as one."""
    if moment is None:
        return ""
    local = moment.astimezone(HELSINKI)
    return f"{local.day}.{local.month}.{local.year} {local.hour}:{local.minute:02d}"


def fi_decimal(value: float | None, digits: int = 1) -> str:
    """``12,5``: the decimal comma Excel set to Finnish expects."""
    return "" if value is None else f"{value:.{digits}f}".replace(".", ",")


def _hours(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else round((end - start).total_seconds() / 3600, 1)


def _safe_cell(text: str) -> str:
    text = clean_line(text)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _requester(row: ExportRow) -> str:
    if row.requester and row.requester_email:
        return f"{row.requester} <{row.requester_email}>"
    return row.requester or row.requester_email


def _check(row: ExportRow) -> None:
    for text in (row.title, row.requester, row.requester_email, row.unit, row.assignee, row.category):
        if contains_hetu(text):
            raise ExportBlocked(row.reference)


def csv_record(row: ExportRow) -> list[str]:
    return [
        row.reference,
        _safe_cell(row.title),
        row.status,
        f"P{row.priority}" if row.priority else "",
        _safe_cell(row.category),
        _safe_cell(_requester(row)),
        _safe_cell(row.unit),
        _safe_cell(row.assignee),
        fi_datetime(row.created),
        fi_datetime(row.due),
        fi_datetime(row.first_response),
        fi_datetime(row.resolved),
        fi_decimal(_hours(row.created, row.first_response)),
        fi_decimal(_hours(row.created, row.resolved)),
    ]


def json_object(row: ExportRow) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.astimezone(HELSINKI).isoformat(timespec="seconds")

    return {
        "reference": row.reference,
        "title": clean_line(row.title),
        "status": row.status,
        "priority": f"P{row.priority}" if row.priority else None,
        "category": row.category,
        "requester": clean_line(_requester(row)),
        "unit": clean_line(row.unit),
        "assignee": clean_line(row.assignee),
        "created": iso(row.created),
        "due": iso(row.due),
        "first_response": iso(row.first_response),
        "resolved": iso(row.resolved),
        "first_response_hours": _hours(row.created, row.first_response),
        "resolution_hours": _hours(row.created, row.resolved),
    }


def write_csv(rows: Iterable[ExportRow], stream: IO[str]) -> int:
    """CSV for Excel set to Finnish; the stream must be text (the BOM is written here)."""
    stream.write("\ufeff")
    writer = csv.writer(stream, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        _check(row)
        writer.writerow(csv_record(row))
        count += 1
    return count


def write_json(rows: Iterable[ExportRow], stream: IO[str]) -> int:
    """A JSON array, one object per request, written as it is read (no list of 50,000 in memory)."""
    stream.write("[")
    count = 0
    for row in rows:
        _check(row)
        stream.write(",\n " if count else "\n ")
        stream.write(json.dumps(json_object(row), ensure_ascii=False))
        count += 1
    stream.write("\n]\n" if count else "]\n")
    return count


def export(
    rows: Iterable[ExportRow], fmt: Format, out: Path | None, stdout: IO[bytes] | None = None
) -> ExportSummary:
    """Write the export to ``out`` (replaced whole only when complete) or to ``stdout``.

    It is written to a temporary file first: an export blocked half-way, or a full disk, leaves
    no half file behind and prints nothing.
    """
    write = write_csv if fmt == "csv" else write_json
    directory = out.parent if out is not None else None
    handle, temporary = tempfile.mkstemp(prefix=".export-", suffix=f".{fmt}", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            count = write(rows, stream)
        if out is None:
            # Bytes, not text: the BOM and the Finnish letters go out as UTF-8 whatever the locale.
            with open(temporary, "rb") as finished:
                target = stdout if stdout is not None else _stdout()
                for chunk in iter(lambda: finished.read(1 << 16), b""):
                    target.write(chunk)
                target.flush()
        else:
            os.replace(temporary, out)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return ExportSummary(count, out)


def _stdout() -> IO[bytes]:
    import sys

    return sys.stdout.buffer


def rendered(rows: Iterable[ExportRow], fmt: Format) -> str:
    """The export as one string (for the screen's preview and for tests)."""
    buffer = io.StringIO(newline="")
    (write_csv if fmt == "csv" else write_json)(rows, buffer)
    return buffer.getvalue()


def parse_since(text: str) -> date:
    """``2026-01-31`` or ``31.1.2026``; raises ValueError with the accepted forms."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", text):
            day, month, year = (int(part) for part in text.split("."))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date; write e.g. 2026-01-31 or 31.1.2026") from None
