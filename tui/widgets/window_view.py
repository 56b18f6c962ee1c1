"""The transcript's engine: a Line-API ScrollView over a sliding window of messages.

Why opening, jumping and scrolling cost O(page), never O(session):

- The view holds a `MessageWindow`: about `MAX_ROWS` consecutive messages (in the store's
  `seq` order; never more than that plus the page the reader is in) with their blocks already
  rendered to Strips. `render_line` only indexes into
  it, so painting a frame costs the same for a 20-message and a 20,000-message session.
- Nothing is fetched or rendered on the UI thread. The view asks for data with a
  `WindowWanted` message (`start`, `end`, `after SEQ`, `before SEQ`); the screen runs one keyset
  query (`messages_after`/`messages_before`) in a thread worker, renders the page there, and
  hands it back with `apply`. `g`/`G` (`Home`/`End`) are one page query each, wherever the
  window is.
- Scrolling within two screens of the window's edge asks for the next page on that side; the
  far side is then trimmed, and the scroll position is re-anchored on the message the reader was
  looking at, so memory stays flat while reading a session end to end.
- The virtual height is the window's line count; position in the session (by `seq`) is shown by
  the screen's `SeqGauge` and status line, since the built-in scrollbar can only see the window.
- Width, theme or expansion changes mark blocks stale (each block keeps the key it was rendered
  with); a render worker on the view re-renders just those, off the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual import on, work
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
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
    match_line,
    render_rows,
)
from tui.widgets.window import MessageWindow

GUTTER = 2
"""Cells left of every line: the cursor mark."""


class WindowView(ScrollView, can_focus=True):
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
    class WindowWanted(Message):
        """The view needs a page: `start`, `end`, or `after`/`before` `seq`."""

        generation: int
        request: str
        seq: int | None = None

    @dataclass
    class Moved(Message):
        """The cursor or the visible range changed."""

        cursor: MessageRow | None
        top_seq: int | None
        bottom_seq: int | None
        fetching: bool

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, WindowView.Moved)

    @dataclass
    class _Rerendered(Message):
        generation: int
        ids: list[int]
        blocks: list[list[Strip]]
        keys: list[tuple[object, ...]]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.window = MessageWindow()
        self.cursor = 0
        """Index (in the window) of the message the keys act on."""
        self.generation = 0
        """Bumped whenever the window is replaced; results for older generations are dropped."""
        self._wanted: set[str] = set()
        self._flipped: set[int] = set()
        self._match: tuple[int, str] | None = None
        self._rendering: RenderOptions | None = None
        self._palette_cache: tuple[str, Palette] | None = None

    # -- options and requests -------------------------------------------------------------

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

    def new_generation(self) -> int:
        """Start a new window (a jump): pending page requests are forgotten."""
        self.generation += 1
        self._wanted.clear()
        self._post_moved()
        return self.generation

    def request(self, kind: str, seq: int | None = None) -> None:
        """Ask the screen for a page; `start`/`end` begin a new window."""
        if kind in ("start", "end"):
            self.new_generation()
        elif kind in self._wanted:
            return
        self._wanted.add(kind)
        self.post_message(self.WindowWanted(self.generation, kind, seq))

    @property
    def fetching(self) -> bool:
        return bool(self._wanted)

    @property
    def current(self) -> MessageRow | None:
        rows = self.window.rows
        return rows[self.cursor] if 0 <= self.cursor < len(rows) else None

    # -- applying results ------------------------------------------------------------------

    def apply(self, loaded: WindowLoaded) -> None:
        """Take a page from the screen's worker (dropped if it belongs to an older window)."""
        if loaded.generation != self.generation:
            return
        if loaded.placement == "replace":
            self._replace(loaded)
        else:
            self._extend(loaded)
        self._after_change()

    def _replace(self, loaded: WindowLoaded) -> None:
        self._wanted.clear()
        self.window.replace(
            loaded.rows,
            loaded.blocks,
            list(loaded.keys),
            has_before=loaded.has_before,
            has_after=loaded.has_after,
        )
        self._sync_size()
        if loaded.at_end:
            self.cursor = max(0, len(self.window) - 1)
            self.scroll_to(y=self.max_scroll_y, animate=False)
        elif loaded.focus_seq is not None:
            self.focus_seq(loaded.focus_seq, loaded.term)
        else:
            self.cursor = 0
            self.scroll_to(y=0, animate=False)

    def _extend(self, loaded: WindowLoaded) -> None:
        after = loaded.placement == "after"
        self._wanted.discard(loaded.placement)
        anchor = self._anchor()
        cursor_id = self.current.id if self.current else None
        added = len(self.window)
        self.window.extend(
            loaded.rows,
            loaded.blocks,
            list(loaded.keys),
            after=after,
            has_more=loaded.has_after if after else loaded.has_before,
        )
        added = len(self.window) - added
        top, bottom = self._visible()
        if not after:  # the page went in above: what the reader sees moved down
            shift = self.window.starts[added]
            top, bottom = top + shift, bottom + shift
        keep = 3 * (bottom - top)  # wider than the fetch margin (2 screens): no ping-pong
        self.window.trim(keep_end=after, keep=(top - keep, bottom + keep))
        self._relocate_cursor(cursor_id, after)
        self._restore(anchor)

    def focus_seq(self, seq: int, term: str | None = None) -> None:
        """Put the cursor on the message with `seq` (loaded) and scroll it into view."""
        index = self.window.index_of_seq(seq)
        if index is None:
            return
        self.cursor = index
        row = self.window.rows[index]
        self._match = (row.id, term) if term else None
        first, _end = self.window.span(index)
        line = first + (match_line(self.window.blocks[index], term) if term else 0)
        height = self.scrollable_content_region.height
        target = first if line - first < height * 3 // 4 else line - height // 4
        self.scroll_to(y=max(0, target - 1), animate=False)
        self._after_change()

    def _relocate_cursor(self, cursor_id: int | None, after: bool) -> None:
        index = self.window.index_of_id(cursor_id) if cursor_id is not None else None
        if index is None:  # the cursor's message was trimmed away: keep to the near end
            index = 0 if after else len(self.window) - 1
        self.cursor = max(0, index)

    def _anchor(self) -> tuple[int, int, int] | None:
        """(message id, line in its block, row on screen) of what the reader is looking at."""
        if not self.window.rows:
            return None
        top = round(self.scroll_y)
        first, end = self.window.span(min(self.cursor, len(self.window) - 1))
        height = self.scrollable_content_region.height
        line = max(first, top) if first < top + height and end > top else top
        index, offset = self.window.locate(line)
        return self.window.rows[index].id, offset, line - top

    def _restore(self, anchor: tuple[int, int, int] | None) -> None:
        self._sync_size()
        if anchor is None:
            return
        message_id, offset, row = anchor
        index = self.window.index_of_id(message_id)
        if index is None:
            return
        first, end = self.window.span(index)
        line = first + min(offset, max(0, end - first - 1))
        self.scroll_to(y=max(0, line - row), animate=False)

    def _sync_size(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self.window.total)

    def _after_change(self) -> None:
        self._rerender_stale()
        self._check_edges()
        self._post_moved()
        self.refresh()

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

    # -- scrolling and the cursor -----------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._follow(moving_down=new_value > old_value)
        self._check_edges()
        self._post_moved()

    def _visible(self) -> tuple[int, int]:
        top = round(self.scroll_y)
        return top, top + max(1, self.scrollable_content_region.height)

    def _follow(self, moving_down: bool) -> None:
        """Keep the cursor on screen when the reader scrolls by lines or pages."""
        if not self.window.rows:
            return
        top, bottom = self._visible()
        first, end = self.window.span(min(self.cursor, len(self.window) - 1))
        if end > top and first < bottom:
            return
        line = top if moving_down else bottom - 1
        self.cursor = self.window.locate(line)[0]
        self.refresh()

    def _check_edges(self) -> None:
        if not self.window.rows:
            return
        top, bottom = self._visible()
        margin = 2 * (bottom - top)
        if self.window.has_after and bottom + margin >= self.window.total:
            self.request("after", self.window.rows[-1].seq)
        if self.window.has_before and top <= margin:
            self.request("before", self.window.rows[0].seq)

    def _post_moved(self) -> None:
        rows = self.window.rows
        if not rows:
            self.post_message(self.Moved(None, None, None, self.fetching))
            return
        top, bottom = self._visible()
        first = rows[self.window.locate(top)[0]].seq
        last = rows[self.window.locate(bottom - 1)[0]].seq
        self.post_message(self.Moved(self.current, first, last, self.fetching))

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
