"""The search screen's results: one two-line entry per hit, the snippet's matches highlighted.

Each entry is built as a Rich `Text` from plain strings (the session title, the snippet) with
styles applied to character ranges: the match spans the store gives for the snippet. No markup is
ever built from log text, so `[`, `]` and escape sequences in a log show as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from store.search.engine import Hit
from tui import formatting

WHO = {"user": "you", "assistant": "agent", "tool": "tool", "system": "system", "meta": "note"}
"""How a hit's role is named in its entry."""
KIND = {"tool_call": "tool call", "tool_result": "tool result", "thinking": "thinking"}


def hit_text(hit: Hit, width: int, match: Style, meta: Style) -> Text:
    """A hit's two lines at `width` cells: title and facts, then the snippet with its matches.

    Args:
        hit: the hit.
        width: cells available (each line is cut to it, never wrapped).
        match: the style of the matched stretches of the snippet.
        meta: the style of the facts (agent, project, time, who).
    """
    width = max(30, width)
    what = KIND.get(hit.kind) or WHO.get(hit.role, hit.role)
    facts = " · ".join(
        formatting.clean(part)
        for part in (
            hit.agent,
            formatting.home_short(hit.project),
            formatting.relative(hit.timestamp),
            what,
        )
        if part and part != "-"
    )
    room = max(10, width - len(facts) - 3)
    title = Text(formatting.one_line(hit.title or hit.native_id, room), style="bold")
    title.append("  " + facts, style=meta)
    title.truncate(width, overflow="ellipsis")
    snippet = Text("  ") + snippet_text(hit, width - 2, match)
    return Text("\n").join([title, snippet])


def snippet_text(hit: Hit, width: int, match: Style) -> Text:
    """The snippet on one line of `width` cells, its matches styled, the first one in view."""
    snippet, spans = hit.snippet, hit.spans
    start = 0
    if spans and spans[0][1] > width - 4:  # keep the first match on screen
        start = max(0, spans[0][0] - width // 3)
    text = Text(snippet[start:])
    for a, b in spans:
        if b > start:
            text.stylize(match, max(0, a - start), b - start)
    if start:
        text = Text("…") + text
    text.truncate(width, overflow="ellipsis")
    return text


class HitList(OptionList):
    """The hits of a search, in the order the store ranked them, page after page."""

    COMPONENT_CLASSES = {"hit-list--match", "hit-list--meta"}
    DEFAULT_CSS = """
    HitList {
        height: 1fr;
        border: none;
        padding: 0;
        background: $surface;
        &:focus { border: none; background-tint: $foreground 0%; }
        & > .option-list--option { padding: 0 1; }
        & > .hit-list--match { background: $warning 40%; text-style: bold; }
        & > .hit-list--meta { color: $text-muted; }
    }
    """
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, tooltip="Next hit"),
        Binding("k", "cursor_up", "Up", show=False, tooltip="Previous hit"),
        Binding("enter", "select", "Open", tooltip="Open the transcript at this message"),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.hits: list[Hit] = []

    def _entry_width(self) -> int:
        # Hidden until the first hits arrive, the list has no size yet: guess from the screen's
        # (on_resize builds the entries again at the real width).
        width = self.scrollable_content_region.width or self.app.size.width - 3
        return max(30, width - self.get_component_styles("option-list--option").padding.width)

    def _entry(self, hit: Hit) -> Option:
        match = self.get_component_rich_style("hit-list--match")
        full = self.get_component_rich_style("hit-list--meta")
        # Only the colour: the entry's own background shows through (the cursor's, say).
        meta = Style(color=full.color, bold=full.bold, italic=full.italic)
        return Option(hit_text(hit, self._entry_width(), match, meta))

    def on_resize(self) -> None:
        if self.hits:
            self.redraw()

    def show(self, hits: Sequence[Hit], *, reset: bool) -> None:
        """Replace the hits (`reset`) or add a page of them."""
        if reset:
            self.hits = list(hits)
            self.set_options([self._entry(h) for h in self.hits])
            self.highlighted = 0 if self.hits else None
            return
        self.hits += hits
        self.add_options([self._entry(h) for h in hits])

    def redraw(self) -> None:
        """Build every entry again (a new width or theme)."""
        at = self.highlighted
        self.set_options([self._entry(h) for h in self.hits])
        if at is not None and self.hits:
            self.highlighted = min(at, len(self.hits) - 1)

    @property
    def current(self) -> Hit | None:
        at = self.highlighted
        return self.hits[at] if at is not None and 0 <= at < len(self.hits) else None
