"""SVG snapshots of the notice screens at a fixed size on the demo data: compose with its live preview,
and one notice with its versions.

After a deliberate visual change: pytest tests/snapshots -k notice --snapshot-update, and look at the diff.
"""

from __future__ import annotations

import pytest

from tests.snapshots.test_screens import wait_loaded

SIZE = (140, 50)


@pytest.fixture
def fixed_message_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "coordinator_tui.notices.compose.new_message_id",
        lambda _address, demo=False: "<notice.1234@demo.coordinator-tui.invalid>",
    )


async def wait_for(pilot, name: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(200):
        await pilot.pause(0.02)
        screen = pilot.app.screen
        if type(screen).__name__ == name and getattr(screen, "loaded_at", None) is not None:
            await pilot.pause(0.2)
            return
    raise AssertionError(f"{name} never showed its data")


def test_notice_compose_with_preview(demo_store, make_app, snap_compare, fixed_message_id) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await wait_loaded(pilot)
        await pilot.press("4")
        await wait_loaded(pilot, "notices")
        await pilot.press("n")
        await wait_for(pilot, "NoticeComposeScreen")
        await pilot.press("down", "down", "space", "tab")
        await pilot.press(*"Oirearviot", "space", *"viivästyvät.", "tab", *"Soita", "space", *"116117.")
        await pilot.press("ctrl+g")
        await pilot.pause(0.3)
        await pilot.press("down", "space", "enter")  # the first list of the demo directory
        await pilot.pause(0.8)
        pilot.app.screen.query_one("#nc-services").focus()  # no blinking text cursor in the picture
        await pilot.pause(0.2)

    app = make_app(demo_store)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_notice_with_versions(demo_store, make_app, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await wait_loaded(pilot)
        await pilot.press("4")
        await wait_loaded(pilot, "notices")
        await pilot.press("down", "enter")
        await wait_for(pilot, "NoticeScreen")

    app = make_app(demo_store)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
