"""The Meetings section shows what the unit's next meeting looks at: its requests by category and the
median resolution time since the last meeting, and the HaiPro count recorded at it."""

from __future__ import annotations

from coordinator_tui.directory.service import DirectoryService
from coordinator_tui.requests.rules import category_label
from coordinator_tui.timefmt import fi_date
from store.meetings import held_meetings
from tests.conftest import FIXED_NOW
from tests.functional.test_network_screen import fields_text, open_network, until

SIZE = (130, 40)


async def test_the_meeting_figures_of_the_unit_under_the_cursor(demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_network(pilot)
        await pilot.press("left")  # People → Meetings (the last section)
        assert screen.section == "meetings"
        # Down to a unit with a meeting held (the demo's yearly ones come last).
        held = held_meetings(demo_store)
        for _step in range(40):
            row = screen.directory_list.current_row()
            if row is not None and any(m.unit_id == row.key for m in held):
                break
            await pilot.press("down")
        row = screen.directory_list.current_row()
        assert row is not None and any(m.unit_id == row.key for m in held)
        expected = DirectoryService(demo_store, clock=lambda: FIXED_NOW).meeting_figures(row.key, held)
        assert expected.since_meeting and expected.total > 0 and expected.haipro
        await until(pilot, lambda: row.key in screen._figures, "the figures read")
        text = fields_text(screen)
        assert f"{fi_date(expected.since)}–{fi_date(expected.until)}" in text
        top_category, top_count = expected.per_category[0]
        assert f"{category_label(top_category)} {top_count}" in text
        assert f"{expected.haipro[0][1]} " in text and fi_date(expected.haipro[0][0]) in text
