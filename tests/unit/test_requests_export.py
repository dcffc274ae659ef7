"""The request export: CSV for Excel set to Finnish, JSON, and nothing leaves with an identity code."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coordinator_tui.requests.export import (
    COLUMNS,
    ExportBlocked,
    export,
    parse_since,
    rendered,
)
from store.requests import ExportRow, export_rows

CREATED = datetime(2026, 3, 2, 7, 15, tzinfo=UTC)  # 2.3.2026 9.15 in Helsinki


def row(**overrides: object) -> ExportRow:
    values: dict[str, object] = {
        "reference": "OMA-2026-0042",
        "title": "Työjono ei näy; ”lainaus” ja rivin\nvaihto",
        "status": "ratkaistu",
        "priority": 2,
        "category": "vika tai häiriö",
        "requester": "Anu Oikarinen",
        "requester_email": "anu@example.fi",
        "unit": "Limingan terveysasema",
        "assignee": "Sanna Kivelä",
        "created": CREATED,
        "due": datetime(2026, 3, 3, 7, 15, tzinfo=UTC),
        "first_response": datetime(2026, 3, 2, 8, 45, tzinfo=UTC),  # 1.5 h later
        "resolved": datetime(2026, 6, 2, 7, 15, tzinfo=UTC),  # summer time: 10.15 in Helsinki
    }
    values.update(overrides)
    return ExportRow(**values)  # type: ignore[arg-type]


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the UTF-8 BOM to read ä and ö"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_csv_reads_back_as_excel_set_to_finnish_would(tmp_path: Path) -> None:
    out = tmp_path / "pyynnot.csv"
    summary = export([row(), row(reference="OMA-2026-0043", priority=None, resolved=None)], "csv", out)
    assert summary.rows == 2
    data = out.read_bytes()
    assert b"\r\n" in data
    header, first, second = read_csv(data)
    assert tuple(header) == COLUMNS
    record = dict(zip(header, first, strict=True))
    assert record == {
        "reference": "OMA-2026-0042",
        "title": "Työjono ei näy; ”lainaus” ja rivin vaihto",
        "status": "ratkaistu",
        "priority": "P2",
        "category": "vika tai häiriö",
        "requester": "Anu Oikarinen <anu@example.fi>",
        "unit": "Limingan terveysasema",
        "assignee": "Sanna Kivelä",
        "created": "2.3.2026 9:15",
        "due": "3.3.2026 9:15",
        "first_response": "2.3.2026 10:45",
        "resolved": "2.6.2026 10:15",
        "first_response_hours": "1,5",
        "resolution_hours": "2208,0",
    }
    other = dict(zip(header, second, strict=True))
    assert (other["priority"], other["resolved"], other["resolution_hours"]) == ("", "", "")


@pytest.mark.parametrize("title", ['=HYPERLINK("http://x")', "+1", "-1+1", "@SUM(A1)"])
def test_csv_never_carries_a_formula(title: str) -> None:
    _header, first = read_csv(rendered([row(title=title)], "csv").encode("utf-8"))
    assert first[1] == "'" + title


def test_control_characters_and_bidi_are_stripped() -> None:
    text = rendered([row(title="\x1b[31mpuna\u202eevil")], "json")
    assert "\x1b" not in text and "\u202e" not in text


def test_json_has_one_object_per_request() -> None:
    objects = json.loads(rendered([row(), row(reference="OMA-2026-0043", first_response=None)], "json"))
    assert [o["reference"] for o in objects] == ["OMA-2026-0042", "OMA-2026-0043"]
    first = objects[0]
    assert set(first) == set(COLUMNS)
    assert first["created"] == "2026-03-02T09:15:00+02:00"
    assert first["resolved"] == "2026-06-02T10:15:00+03:00"
    assert first["priority"] == "P2"
    assert first["first_response_hours"] == 1.5
    assert objects[1]["first_response"] is None and objects[1]["first_response_hours"] is None
    assert json.loads(rendered([], "json")) == []


def test_an_identity_code_blocks_the_whole_export(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / "pyynnot.csv"
    out.write_text("earlier export", encoding="utf-8")
    rows = [row(), row(reference="OMA-2026-0099", title="Asiakas 131052-308T soitti")]
    with pytest.raises(ExportBlocked) as caught:
        export(rows, "csv", out)
    assert "OMA-2026-0099" in str(caught.value)
    assert out.read_text(encoding="utf-8") == "earlier export"  # the old file is untouched
    assert sorted(p.name for p in folder.iterdir()) == ["pyynnot.csv"]  # no half file left


def test_since_accepts_both_date_forms() -> None:
    assert parse_since("2026-01-31") == parse_since("31.1.2026")
    with pytest.raises(ValueError, match="not a date"):
        parse_since("tammikuu")


def test_export_rows_from_the_demo_store(demo_store) -> None:  # type: ignore[no-untyped-def]
    rows = list(export_rows(demo_store, batch=50))  # several batches
    references = [r.reference for r in rows]
    assert len(references) == len(set(references)) > 300
    since = datetime(2026, 11, 1, tzinfo=UTC)
    recent = list(export_rows(demo_store, since=since))
    assert recent and all(r.created >= since for r in recent)
    assert len(recent) < len(rows)
