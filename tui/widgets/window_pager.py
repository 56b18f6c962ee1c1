"""The paging half of the transcript's engine: a sliding window of messages on a ScrollView.

Why opening, jumping and scrolling cost O(page), never O(session):

- The view holds a `MessageWindow`: about `MAX_ROWS` consecutive messages (in the store's
  `seq` order; never more than that plus the page the reader is in) with their blocks already
  rendered to Strips.
- Nothing is fetched on the UI thread. The view asks for data with a `WindowWanted` message
  (`start`, `end`, `after SEQ`, `before SEQ`); the screen runs one keyset query
  (`messages_after`/`messages_before`) in a thread worker, renders the page there, and hands it
  back with `apply`. `g`/`G` (`Home`/`End`) are one page query each, wherever the window is.
- Scrolling within two screens of the window's edge asks for the next page on that side; the
  far side is then trimmed, and the scroll position is re-anchored on the message the reader was
  looking at, so memory stays flat while reading a session end to end.
- The virtual height is the window's line count; position in the session (by `seq`) is shown by
  the screen's `SeqGauge` and status line, since the built-in scrollbar can only see the window.

Rendering and painting the window's lines are `WindowView`'s (tui.widgets.window_view).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView

from store.records import MessageRow
from tui.messages import WindowLoaded
from tui.widgets.message_render import match_line
from tui.widgets.window import MessageWindow


class WindowPager(ScrollView):
    """A window of a session's messages: asks for pages (`WindowWanted`), applies them, keeps the
    reader's place and the cursor, and reports both (`Moved`).

    Rendering and painting are the subclass's, `WindowView`; the reader's keys are
    `TranscriptView`'s."""

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
            return isinstance(message, WindowPager.Moved)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.window = MessageWindow()
        self.cursor = 0
        """Index (in the window) of the message the keys act on."""
        self.generation = 0
        """Bumped whenever the window is replaced; results for older generations are dropped."""
        self._wanted: set[str] = set()
        self._match: tuple[int, tuple[str, ...]] | None = None
        """(message id, words) of a find's match to highlight."""

    # -- requests --------------------------------------------------------------------------

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
            self.focus_seq(loaded.focus_seq, loaded.words)
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

    def focus_seq(self, seq: int, words: tuple[str, ...] = ()) -> None:
        """Put the cursor on the message with `seq` (loaded) and scroll it into view, with the
        first line that shows one of `words` (a find's match) on screen and highlighted."""
        index = self.window.index_of_seq(seq)
        if index is None:
            return
        self.cursor = index
        row = self.window.rows[index]
        self._match = (row.id, words) if words else None
        first, _end = self.window.span(index)
        line = first + match_line(self.window.blocks[index], words)
        height = self.scrollable_content_region.height
        target = first if line - first < height * 3 // 4 else line - height // 4
        self._scroll_now(max(0, target - 1))
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
        self._scroll_now(max(0, line - row))

    def _scroll_now(self, y: int) -> None:
        """Scroll at once, not after the next refresh: the next page may land before that
        refresh, and its anchor must see where the reader is (a deferred scroll would be undone
        by the one its restore defers after it). Forced: the scrollbars of a window that just
        grew are only worked out at that refresh."""
        self.scroll_to(y=y, animate=False, immediate=True, force=True)

    def _sync_size(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self.window.total)

    def _after_change(self) -> None:
        self._rerender_stale()
        self._check_edges()
        self._post_moved()
        self.refresh()

    def _rerender_stale(self) -> None:
        """Re-render the blocks whose render key is out of date (the subclass renders)."""

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
