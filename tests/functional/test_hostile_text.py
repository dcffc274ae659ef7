"""Hostile text in the store is shown literally on every screen, runs no action, leaves the terminal clean."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coordinator_tui.demo import HOSTILE_STRINGS
from coordinator_tui.screens.base import AREAS
from coordinator_tui.textclean import clean_line
from tests.conftest import FIXED_NOW
from tests.screen import screen_text

SIZE = (160, 50)

# What a user must read for each hostile string: the same text, less the invisible controls.
VISIBLE = {text: clean_line(text) for text in HOSTILE_STRINGS}


def test_the_catalogue_covers_markup_escapes_and_bidi() -> None:
    assert "[@click=app.quit]x[/]" in HOSTILE_STRINGS
    assert any("\x1b[" in text for text in HOSTILE_STRINGS)
    assert any("\u202e" in text for text in HOSTILE_STRINGS)
    assert VISIBLE["[@click=app.quit]x[/]"] == "[@click=app.quit]x[/]"
    assert VISIBLE["\x1b[31mred"] == "red"
    assert VISIBLE["\u202eevil"] == "evil"


async def wait_loaded(pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(200):
        await pilot.pause(0.02)
        if getattr(pilot.app.screen, "loaded_at", None) is not None:
            return
    raise AssertionError("the screen never showed its data")


# Which hostile strings each screen's first rows show (the demo puts them in the newest rows).
SHOWN_ON = {
    "today": ["[@click=app.quit]x[/]"],  # the open hostile notice
    "mail": ["Re: [PATCH] fix", "[@click=app.quit]x[/]", "[b]bold", "\x1b[31mred", "\u202eevil"],
    "requests": ["[@click=app.quit]x[/]"],
    "notices": ["[@click=app.quit]x[/]"],
    "feeds": ["[@click=app.quit]x[/]"],
    "onboarding": [],
    "network": ["[@click=app.quit]x[/]"],
}


@pytest.mark.parametrize("area", AREAS, ids=[area.mode for area in AREAS])
async def test_hostile_rows_render_literally_and_run_nothing(area, demo_store, make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press(area.digit)
        await wait_loaded(pilot)
        if area.mode == "network":
            await pilot.press("ctrl+end")  # people are sorted by name; "[" sorts after every letter
            await pilot.pause(0.1)
        shot = screen_text(app)
        for text in SHOWN_ON[area.mode]:
            assert VISIBLE[text] in shot, f"{text!r} not shown literally on {area.mode}"
        assert "\x1b" not in app.export_screenshot() and "\u202e" not in shot
        # Walk every row and open it: a link in the text would have run app.quit by now.
        for _ in range(30):
            await pilot.press("j")
        await pilot.press("enter")
        await pilot.pause(0.1)
        for x, y in ((10, 8), (40, 12), (60, 14), (80, 16)):
            await pilot.click(offset=(x, y))
        await pilot.pause(0.1)
        assert app.is_running
        assert app.return_code is None


def test_a_real_terminal_stays_clean(tmp_path: Path) -> None:
    """The app in tmux on a hostile store: text shown literally, no title or clipboard escape let out."""
    from coordinator_tui.demo import build_demo_store
    from store.engine import open_store, url_for_path

    path = tmp_path / "hostile.sqlite"
    store = open_store(url_for_path(path))
    build_demo_store(store, seed=2026, now=FIXED_NOW, hostile=True)
    store.dispose()
    socket = f"hostile-{os.getpid()}"
    command = f"{Path(sys.executable).with_name('coordinator-tui')} demo --store {path}"
    tmux = ["tmux", "-L", socket]
    subprocess.run([*tmux, "new-session", "-d", "-x", "160", "-y", "50", "-s", "t", command], check=True)
    try:

        def screen() -> str:
            return subprocess.run(
                [*tmux, "capture-pane", "-p", "-t", "t"], capture_output=True, text=True, check=True
            ).stdout

        deadline = time.monotonic() + 30
        while "Tänään" not in screen():
            assert time.monotonic() < deadline, screen()
            time.sleep(0.2)
        subprocess.run([*tmux, "send-keys", "-t", "t", "2"], check=True)
        deadline = time.monotonic() + 30
        while "Re: [PATCH] fix" not in screen():
            assert time.monotonic() < deadline, screen()
            time.sleep(0.2)
        text = screen()
        assert "[@click=app.quit]x[/]" in text
        assert "[b]bold" in text
        title = subprocess.run(
            [*tmux, "display-message", "-p", "-t", "t", "#{pane_title}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "evil" not in title and "red" not in title
        buffers = subprocess.run([*tmux, "list-buffers"], capture_output=True, text=True).stdout
        assert buffers == "", "something wrote to the clipboard (OSC 52)"
    finally:
        subprocess.run([*tmux, "kill-server"], check=False)
