"""A one-column gauge showing where the visible messages sit in the whole session (seq space).

The transcript's own scrollbar can only see the loaded window; this gauge maps the first and
last visible `seq` onto the session's (first seq, last seq), so its thumb means "how far into
the session", and a click jumps there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.segment import Segment
from textual import events
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget


class SeqGauge(Widget):
    """The session-wide position of the transcript's visible range."""

    COMPONENT_CLASSES = {"seq-gauge--thumb", "seq-gauge--track"}
    DEFAULT_CSS = """
    SeqGauge {
        width: 1;
        height: 1fr;
        & > .seq-gauge--track { background: $panel; }
        & > .seq-gauge--thumb { background: $accent; }
    }
    """

    @dataclass
    class Jumped(Message):
        """The reader clicked the gauge: show the message nearest `seq`."""

        seq: int

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.first = 0
        self.last = 0
        self.top = 0
        self.bottom = 0

    def set_bounds(self, first: int, last: int) -> None:
        """The session's first and last seq."""
        self.first, self.last = first, last
        self.refresh()

    def set_range(self, top: int | None, bottom: int | None) -> None:
        """The seqs of the first and last visible messages."""
        self.top, self.bottom = top or 0, bottom or 0
        self.refresh()

    def thumb(self, height: int) -> tuple[int, int]:
        """(first row, end row) of the thumb for a gauge `height` rows tall."""
        span = self.last - self.first + 1
        if span <= 0 or height <= 0 or not self.bottom:
            return (0, 0)
        start = int((self.top - self.first) / span * height)
        end = int((self.bottom - self.first + 1) / span * height + 0.999)
        start = max(0, min(start, height - 1))
        return start, max(start + 1, min(end, height))

    def render_line(self, y: int) -> Strip:
        start, end = self.thumb(self.size.height)
        name = "seq-gauge--thumb" if start <= y < end else "seq-gauge--track"
        return Strip([Segment(" ", self.get_component_rich_style(name))])

    def on_click(self, event: events.Click) -> None:
        height = max(1, self.size.height)
        if self.last >= self.first and self.last:
            fraction = min(max(event.y / height, 0.0), 1.0)
            self.post_message(self.Jumped(self.first + int(fraction * (self.last - self.first))))
