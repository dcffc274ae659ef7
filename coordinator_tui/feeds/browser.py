"""Opening a link in a graphical browser, when this machine has one (never a text browser in our terminal)."""

from __future__ import annotations

import os
import sys


def has_graphical_browser() -> bool:
    """A desktop to open a browser on: a display on Linux and the like, or macOS or Windows.

    Without one ``webbrowser`` would start a text browser (lynx, w3m) inside the app's terminal.
    """
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_link(url: str) -> bool:
    """Open ``url`` in the browser; False when there is none (the caller copies the link instead)."""
    if not url.startswith(("http://", "https://")) or not has_graphical_browser():
        return False
    import webbrowser

    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    if type(browser).__name__ == "GenericBrowser" and not isinstance(browser, webbrowser.BackgroundBrowser):
        return False  # a console browser: it would take over the app's terminal
    try:
        return bool(browser.open(url, new=2))
    except OSError:
        return False
