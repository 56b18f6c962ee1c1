"""The transcript reader: the keys a reader expects, over `WindowView` (see `WindowPager`'s
docstring for why every key costs one page at most, however long the session)."""

from __future__ import annotations

from textual.binding import Binding

from tui.widgets.message_render import collapsible
from tui.widgets.window_view import WindowView


class TranscriptView(WindowView, inherit_bindings=False):
    """Reads a session: a cursor on one message, moved by message, page, prompt or jump."""

    BINDINGS = [
        Binding(
            "j",
            "cursor_next",
            "Next message",
            tooltip="Move to the next message",
            group=Binding.Group("Move"),
        ),
        Binding(
            "k",
            "cursor_prev",
            "Previous message",
            tooltip="Move to the previous message",
            group=Binding.Group("Move"),
        ),
        Binding(
            "g",
            "jump_start",
            "Top",
            tooltip="Jump to the first message",
            group=Binding.Group("Top/End"),
        ),
        Binding(
            "G",
            "jump_end",
            "End",
            tooltip="Jump to the last message",
            group=Binding.Group("Top/End"),
        ),
        Binding("home", "jump_start", "Top", show=False, tooltip="Jump to the first message"),
        Binding("end", "jump_end", "End", show=False, tooltip="Jump to the last message"),
        Binding("enter", "toggle_expand", "Expand", tooltip="Expand or collapse this message"),
        Binding("down", "scroll_down", "Line down", show=False, tooltip="Scroll down a line"),
        Binding("up", "scroll_up", "Line up", show=False, tooltip="Scroll up a line"),
        Binding(
            "pagedown,space", "page_down", "Page down", show=False, tooltip="Scroll down a screen"
        ),
        Binding("pageup,b", "page_up", "Page up", show=False, tooltip="Scroll up a screen"),
    ]

    def move_cursor(self, index: int) -> None:
        """Put the cursor on window row `index` and scroll it into view."""
        if not self.window.rows:
            return
        self.cursor = max(0, min(index, len(self.window) - 1))
        self._match = None
        first, end = self.window.span(self.cursor)
        top, bottom = self._visible()
        if first < top or end - first > bottom - top:
            self.scroll_to(y=first, animate=False)
        elif end > bottom:
            self.scroll_to(y=end - (bottom - top), animate=False)
        self.refresh()
        self._post_moved()

    # Keys scroll at once: an animated page of a long transcript only delays the next fetch.
    def action_scroll_down(self) -> None:
        self.scroll_relative(y=1, animate=False)

    def action_scroll_up(self) -> None:
        self.scroll_relative(y=-1, animate=False)

    def action_page_down(self) -> None:
        self.scroll_relative(y=self.scrollable_content_region.height, animate=False)

    def action_page_up(self) -> None:
        self.scroll_relative(y=-self.scrollable_content_region.height, animate=False)

    def action_cursor_next(self) -> None:
        if self.cursor < len(self.window) - 1:
            self.move_cursor(self.cursor + 1)
        elif self.window.has_after and self.window.rows:
            self.request("after", self.window.rows[-1].seq)

    def action_cursor_prev(self) -> None:
        if self.cursor > 0:
            self.move_cursor(self.cursor - 1)
        elif self.window.has_before and self.window.rows:
            self.request("before", self.window.rows[0].seq)

    def action_jump_start(self) -> None:
        if self.window.has_before or not self.window.rows:
            self.request("start")
        else:
            self.move_cursor(0)
            self.scroll_to(y=0, animate=False)

    def action_jump_end(self) -> None:
        if self.window.has_after or not self.window.rows:
            self.request("end")
        else:
            self.move_cursor(len(self.window) - 1)
            self.scroll_to(y=self.max_scroll_y, animate=False)

    def action_toggle_expand(self) -> None:
        row = self.current
        if row is not None and collapsible(row):
            self._flipped ^= {row.id}
            self._after_change()
