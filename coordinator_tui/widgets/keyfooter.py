"""The key footer: the screen's shown bindings on one line, drawn by one widget.

Textual's own Footer mounts a widget per key and re-mounts them all whenever the bindings change
(every focus change); each new key widget is styled on its own. On the Mail screen that was
0.19 s of the first open — more than half of its 0.3 s budget. This draws the same line as text,
so a change of bindings is a repaint. A click on a key presses it, as in Textual's footer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events
from textual.content import Content
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.screen import Screen

# (start column, end column, key) of each drawn key, for clicks.
KeySpan = tuple[int, int, str]

_KEY_STYLE = "bold $footer-key-foreground"
_DESCRIPTION_STYLE = "$footer-description-foreground"
_DISABLED_STYLE = "dim"


class KeyFooter(Widget, can_focus=False):
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        text-wrap: nowrap;
        text-overflow: clip;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[KeySpan] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            self.refresh()

    def entries(self) -> tuple[list[tuple[str, str, str, bool]], tuple[str, str, str, bool] | None]:
        """The keys to show, in order, as (key, key display, description, enabled); and the palette key."""
        shown: list[tuple[str, str, str, bool]] = []
        seen_actions: set[str] = set()
        palette: tuple[str, str, str, bool] | None = None
        app = self.app
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if app.ENABLE_COMMAND_PALETTE and binding.key == app.COMMAND_PALETTE_BINDING:
                palette = (binding.key, app.get_key_display(binding), binding.description, enabled)
                continue
            if not binding.show or binding.action in seen_actions:
                continue
            seen_actions.add(binding.action)
            shown.append((binding.key, app.get_key_display(binding), binding.description, enabled))
        return shown, palette

    def render(self) -> Content:
        shown, palette = self.entries()
        parts: list[tuple[str, str] | str] = []
        spans: list[KeySpan] = []
        column = 1
        parts.append(" ")
        for key, display, description, enabled in shown:
            dim = "" if enabled else f" {_DISABLED_STYLE}"
            label = f"{display} "
            text = f"{description}  " if description else " "
            parts.append((label, _KEY_STYLE + dim))
            parts.append((text, _DESCRIPTION_STYLE + dim))
            spans.append((column, column + len(label) + len(text), key))
            column += len(label) + len(text)
        if palette is not None:
            key, display, description, enabled = palette
            right = f"{display} {description} "
            gap = self.size.width - column - len(right)
            if gap >= 1:
                parts.append(" " * gap)
                parts.append((f"{display} ", _KEY_STYLE))
                parts.append((f"{description} ", _DESCRIPTION_STYLE))
                spans.append((column + gap, column + gap + len(right), key))
        self._spans = spans
        return Content.assemble(*parts)

    def key_at(self, x: int) -> str | None:
        for start, end, key in self._spans:
            if start <= x < end:
                return key
        return None

    def on_click(self, event: events.Click) -> None:
        key = self.key_at(event.x)
        if key is not None:
            event.stop()
            self.app.simulate_key(key)
