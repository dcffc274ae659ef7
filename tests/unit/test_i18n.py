"""The Finnish catalog covers every UI string, and the compiled catalog matches its source."""

from __future__ import annotations

import gettext
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from coordinator_tui import i18n
from coordinator_tui.timefmt import duration, fi_datetime

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "coordinator_tui/locale/fi/LC_MESSAGES/coordinator_tui.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"_": None, "N_": None, "count_text": (1, 2), "ngettext": (1, 2), "label": None}


def source_messages() -> set[str]:
    found: set[str] = set()
    for directory in ("coordinator_tui", "store"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / directory, keywords=KEYWORDS, method_map=[("**.py", "python")]
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_ui_string_has_a_finnish_translation() -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    translated = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        translated[key] = all(strings)
    in_source = source_messages()
    assert len(in_source) > 50
    missing = sorted(message for message in in_source if not translated.get(message))
    assert missing == [], f"untranslated (run `make i18n` and fill in the .po): {missing}"


def test_compiled_catalog_matches_its_source() -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for message in catalog:
        if not message.id or isinstance(message.id, tuple):
            continue
        assert compiled.gettext(message.id) == message.string, f"stale .mo for {message.id!r}: run make i18n"


def test_times_are_written_the_finnish_way() -> None:
    from datetime import UTC, datetime, timedelta

    moment = datetime(2026, 11, 23, 8, 15, tzinfo=UTC)  # 10.15 in Helsinki (UTC+2 in winter)
    assert fi_datetime(moment) == "23.11.2026 klo 10.15"
    assert duration(timedelta(hours=2, minutes=15)) == "2 h 15 min"
    assert duration(timedelta(days=3, hours=4)) == "3 vrk 4 h"
    i18n.set_language("en")
    assert fi_datetime(moment) == "23.11.2026 at 10:15"
    assert duration(timedelta(days=3, hours=4)) == "3 d 4 h"
