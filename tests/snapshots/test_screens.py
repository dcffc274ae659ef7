"""SVG snapshots of every screen at 120x40 on the demo data (with its hostile rows) at a fixed time.

After a deliberate visual change: pytest tests/snapshots --snapshot-update, and look at the diff.
"""

from __future__ import annotations

import pytest

from coordinator_tui.screens.base import AREAS

SIZE = (120, 40)


async def wait_loaded(pilot, mode: str = "today") -> None:  # type: ignore[no-untyped-def]
    # The mode too: right after a digit the old screen (already loaded) may still be current.
    for _ in range(200):
        await pilot.pause(0.02)
        if pilot.app.current_mode == mode and getattr(pilot.app.screen, "loaded_at", None) is not None:
            await pilot.pause(0.05)
            return
    raise AssertionError("the screen never showed its data")


def go_to(digit: str, mode: str):  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await wait_loaded(pilot)  # Today first, so its worker is not left running
        await pilot.press(digit)
        await wait_loaded(pilot, mode)

    return run_before


@pytest.mark.parametrize("area", AREAS, ids=[area.mode for area in AREAS])
def test_screen(area, demo_store, make_app, snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    assert snap_compare(app, terminal_size=SIZE, run_before=go_to(area.digit, area.mode))


def test_today_in_english(demo_store, make_app, snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store, language="en")
    assert snap_compare(app, terminal_size=SIZE, run_before=wait_loaded)


def test_help(demo_store, make_app, snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    assert snap_compare(app, press=["question_mark"], terminal_size=(120, 60), run_before=wait_loaded)


def test_go_to(demo_store, make_app, snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    assert snap_compare(app, press=["g"], terminal_size=SIZE, run_before=wait_loaded)
