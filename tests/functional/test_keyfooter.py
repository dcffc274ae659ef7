"""The one-widget key footer, and the first showing of a screen without Textual's whole-screen restyle."""

from __future__ import annotations

from coordinator_tui.widgets.keyfooter import KeyFooter
from tests.functional.test_app import SIZE, wait_for_dashboard
from tests.screen import screen_text


def footer_line(app) -> str:  # type: ignore[no-untyped-def]
    return screen_text(app).splitlines()[-1]


async def test_footer_shows_the_screens_keys_and_follows_the_bindings(demo_store, make_app) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_dashboard(pilot)
        today = footer_line(app)
        assert "? Ohje" in today and "^p komennot" in today
        assert "Arkistoon" not in today  # a Mail key is not Today's
        await pilot.press("2")
        await pilot.pause(0.2)
        mail = footer_line(app)
        for shown in ("/ Haku", "e Arkistoon", "# Poista", "u Kumoa", "r Vastaa", "? Ohje"):
            assert shown in mail, (shown, mail)
        assert "Valitse" not in mail  # `x` is a key of the help screen, not of the footer (show=False)
        # A search field takes the focus: the footer follows the new bindings without a re-mount.
        footer = app.screen.query_one(KeyFooter)
        await pilot.press("slash")
        await pilot.pause(0.2)
        assert app.screen.query_one(KeyFooter) is footer
        assert footer_line(app) != mail


async def test_a_click_on_a_footer_key_presses_it(demo_store, make_app) -> None:
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_dashboard(pilot)
        footer = app.screen.query_one(KeyFooter)
        line = footer.render().plain  # the drawn line, spaces kept (the SVG text collapses them)
        column = line.index("? Ohje")
        assert footer.key_at(column) == "question_mark"
        assert footer.key_at(0) is None  # the margin is no key
        await pilot.click(KeyFooter, offset=(column, 0))
        await pilot.pause(0.2)
        assert type(app.screen).__name__ == "HelpScreen"


async def test_first_showing_of_a_screen_built_ahead_has_the_current_theme(demo_store, make_app) -> None:
    """The Mail screen is built in the background, then the theme changes, then it is first shown:
    skipping the restyle of the first showing must not leave it in the old theme's colours."""
    app = make_app(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_dashboard(pilot)

        def composed() -> bool:
            # The mode's stack holds the screen from the start of its build; its widgets come after.
            stack = app._screen_stacks.get("mail")
            return bool(stack) and bool(stack[0].query("#mail-folders"))

        for _ in range(100):  # the background build (CoordinatorApp.warm_up_screens)
            await pilot.pause(0.05)
            if composed():
                break
        assert composed(), "the Mail screen was not built in the background"
        built = app._screen_stacks["mail"][0]
        before = built.query_one("#mail-folders").styles.background
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.pause(0.2)
        await pilot.press("2")
        await pilot.pause(0.3)
        assert app.screen is built
        after = app.screen.query_one("#mail-folders").styles.background
        assert after != before
        app.screen.update_node_styles(animate=False)  # the restyle that the first showing skipped
        await pilot.pause(0.1)
        assert app.screen.query_one("#mail-folders").styles.background == after
