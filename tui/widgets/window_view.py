"""The transcript's engine: a Line-API ScrollView over a sliding window of messages.

The paging half, `WindowPager` (tui.widgets.window_pager), keeps the window: which page to ask
for, applying pages, the reader's place and the cursor (see its docstring for why opening,
jumping and scrolling cost O(page), never O(session)). This half renders and paints it:

- The window's messages have their blocks already rendered to Strips. `render_line` only
  indexes into them, so painting a frame costs the same for a 20-message and a 20,000-message
  session.
- Nothing is rendered on the UI thread: pages arrive rendered by the screen's worker.
- Width, theme or expansion changes mark blocks stale (each block keeps the key it was rendered
  with); a render worker on the view re-renders just those, off the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual import on, work
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.worker import Worker

from store.records import MessageRow
from tui.errors import report_worker_failure
from tui.messages import WindowLoaded
from tui.widgets.message_render import (
    Palette,
    RenderOptions,
    block_key,
    highlight,
    render_rows,
)
from tui.widgets.window_pager import WindowPager

GUTTER = 2
"""Cells left of every line: the cursor mark."""


class WindowView(WindowPager, can_focus=True):
    """A window of a session's messages, painted line by line; posts `WindowWanted` for more.

    The reader's keys live in the subclass, `TranscriptView`."""

    COMPONENT_CLASSES = {
        "transcript--user",
        "transcript--agent",
        "transcript--tool",
        "transcript--error",
        "transcript--thinking",
        "transcript--dim",
        "transcript--code",
        "transcript--cursor",
        "transcript--match",
    }
    DEFAULT_CSS = """
    WindowView {
        background: $surface;
        scrollbar-size-vertical: 0;
        & > .transcript--user { color: $primary; text-style: bold; }
        & > .transcript--agent { color: $success; text-style: bold; }
        & > .transcript--tool { color: $warning; }
        & > .transcript--error { color: $error; }
        & > .transcript--thinking { color: $text-muted; text-style: italic; }
        & > .transcript--dim { color: $text-muted; }
        & > .transcript--code { color: $accent; text-style: bold; }
        & > .transcript--cursor { color: $accent; }
        & > .transcript--match { background: $warning 40%; }
    }
    """
    show_tools: reactive[bool] = reactive(False)
    """Show the details of tool calls, tool results and harness notes."""
    show_thinking: reactive[bool] = reactive(False)
    """Show the text of thinking blocks."""

    @dataclass
    class _Rerendered(Message):
        generation: int
        ids: list[int]
        blocks: list[list[Strip]]
        keys: list[tuple[object, ...]]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._flipped: set[int] = set()
        self.find_words: tuple[str, ...] = ()
        """The words of the screen's find: an open block shows its details from the match."""
        self._rendering: RenderOptions | None = None
        self._palette_cache: tuple[str, Palette] | None = None

    # -- options ---------------------------------------------------------------------------

    @property
    def content_width(self) -> int:
        width = self.scrollable_content_region.width or self.app.size.width
        return max(20, width - GUTTER)

    def render_options(self) -> RenderOptions:
        """A frozen snapshot of what rendering depends on, for a worker to use."""
        return RenderOptions(
            self.content_width,
            self._palette(),
            self.show_tools,
            self.show_thinking,
            frozenset(self._flipped),
            self.find_words,
        )

    def _palette(self) -> Palette:
        theme = self.app.theme
        if self._palette_cache is None or self._palette_cache[0] != theme:

            def get(name: str) -> Style:
                # The full style has the colour blended over the background (a partial one
                # drops the alpha of `$text-muted`); the view paints the background itself.
                full = self.get_component_rich_style(f"transcript--{name}")
                return Style(color=full.color, bold=full.bold, italic=full.italic)

            palette = Palette(
                user=get("user"),
                agent=get("agent"),
                tool=get("tool"),
                error=get("error"),
                thinking=get("thinking"),
                dim=get("dim"),
                code=get("code"),
                dark=self.app.current_theme.dark,
            )
            self._palette_cache = (theme, palette)
        return self._palette_cache[1]

    # -- folds opened to show a match ------------------------------------------------------

    def apply(self, loaded: WindowLoaded) -> None:
        if loaded.expanded is not None and loaded.generation == self.generation:
            self._flipped ^= {loaded.expanded}  # the page was rendered with this fold flipped
        super().apply(loaded)

    def show_expanded(self, message_id: int, block: list[Strip], key: tuple[object, ...]) -> None:
        """Take a loaded message's block rendered open (a find's match inside a folded tool
        call or thinking block); `focus_seq` then scrolls to the match."""
        index = self.window.index_of_id(message_id)
        if index is None:
            return
        self._flipped ^= {message_id}
        self.window.set_block(index, block, key)
        self.window.reindex()
        self._sync_size()

    def set_find_words(self, words: tuple[str, ...]) -> None:
        """The screen's find changed: open blocks show their details from its first word."""
        if words != self.find_words:
            self.find_words = words
            if self.window.rows:
                self._after_change()

    # -- re-rendering ----------------------------------------------------------------------

    def _rerender_stale(self) -> None:
        options = self.render_options()
        stale = [
            row
            for row, key in zip(self.window.rows, self.window.keys, strict=True)
            if key != block_key(row, options)
        ]
        if stale and options != self._rendering:
            self._rendering = options
            self._rerender(self.generation, stale, options)

    @work(
        thread=True,
        exclusive=True,
        group="transcript-render",
        exit_on_error=False,
        description="Rendering messages",
    )
    def _rerender(self, generation: int, rows: list[MessageRow], options: RenderOptions) -> None:
        blocks, keys = render_rows(rows, options)
        self.post_message(self._Rerendered(generation, [r.id for r in rows], blocks, keys))

    @on(_Rerendered)
    def _take_rerendered(self, event: _Rerendered) -> None:
        event.stop()
        self._rendering = None
        if event.generation != self.generation:
            self._after_change()
            return
        anchor = self._anchor()
        for message_id, block, key in zip(event.ids, event.blocks, event.keys, strict=True):
            index = self.window.index_of_id(message_id)
            if index is not None:
                self.window.set_block(index, block, key)
        self.window.reindex()
        self._restore(anchor)
        self._after_change()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # The render worker belongs to the view, and its state changes do not bubble.
        report_worker_failure(self.app, event.worker)

    def on_mount(self) -> None:
        # A new theme changes the palette, which is part of every block's render key.
        self.watch(self.app, "theme", self._theme_changed, init=False)

    def _theme_changed(self) -> None:
        self.call_after_refresh(self._restyle)

    def _restyle(self) -> None:
        if self.window.rows:
            self._after_change()

    def on_resize(self) -> None:
        self._sync_size()
        self._restyle()

    def watch_show_tools(self) -> None:
        self._flipped = {i for i in self._flipped if not self._is_tool(i)}
        self._after_change()

    def watch_show_thinking(self) -> None:
        self._flipped = {i for i in self._flipped if self._is_tool(i)}
        self._after_change()

    def _is_tool(self, message_id: int) -> bool:
        index = self.window.index_of_id(message_id)
        return index is not None and self.window.rows[index].kind != "thinking"

    # -- painting ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        line_no = round(self.scroll_y) + y
        strip = self.window.line(line_no)
        if strip is None:
            if y == 0 and not self.window.rows:
                note = "Loading…" if self.fetching else "No messages to show in this session."
                return Strip([Segment(f"  {note}", base)]).extend_cell_length(width, base)
            return Strip.blank(width, base)
        index, _offset = self.window.locate(line_no)
        if self._match is not None and self.window.rows[index].id == self._match[0]:
            strip = highlight(
                strip, self._match[1], self.get_component_rich_style("transcript--match")
            )
        mark = "▌ " if index == self.cursor else "  "
        gutter = Strip([Segment(mark, self.get_component_rich_style("transcript--cursor"))])
        return Strip.join([gutter, strip]).apply_style(base).crop_extend(0, width, base)
