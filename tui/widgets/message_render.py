"""Turning one stored message into the lines (Strips) the transcript shows; safe off the UI thread.

`render_block(message, options)` is a pure function of the message and a frozen `RenderOptions`
(width, palette, which details are shown), so a thread worker can render a page of messages and
post the strips back. It renders through its own Rich `Console` per thread, never the app's.

What is shown: prompts as plain text, assistant prose as Markdown, and everything bulky (tool
calls and results, thinking, harness notes) collapsed to one line with its size, expandable. Text
is cut at display limits (the full text stays in the store: `y` copies it, `e` exports it), so no
single message can make a page slow to render.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.style import Style
from rich.text import Text
from rich.theme import Theme
from textual.strip import Strip

from store.records import (
    KIND_PROMPT,
    KIND_SUMMARY,
    KIND_SYSTEM,
    KIND_TEXT,
    KIND_THINKING,
    KIND_TOOL_CALL,
    KIND_TOOL_RESULT,
    KIND_UNKNOWN,
    MessageRow,
)
from tui import formatting

TEXT_LIMIT = 20_000
"""Characters of one message rendered in the transcript."""
DETAIL_LINES = 24
"""Lines of an expanded tool call/result or note shown before it is cut."""
TOOL_KINDS = frozenset({KIND_TOOL_CALL, KIND_TOOL_RESULT, KIND_SYSTEM, KIND_UNKNOWN})
"""Kinds whose details the `t` key shows or hides."""


@dataclass(frozen=True)
class Palette:
    """Rich styles resolved from the app's theme on the UI thread (component classes)."""

    user: Style = field(default_factory=lambda: Style(bold=True, color="cyan"))
    agent: Style = field(default_factory=lambda: Style(bold=True, color="green"))
    tool: Style = field(default_factory=lambda: Style(color="yellow"))
    error: Style = field(default_factory=lambda: Style(color="red"))
    thinking: Style = field(default_factory=lambda: Style(italic=True, dim=True))
    dim: Style = field(default_factory=lambda: Style(dim=True))
    code: Style = field(default_factory=lambda: Style(bold=True))
    dark: bool = True


@dataclass(frozen=True)
class RenderOptions:
    """Everything a block's look depends on; blocks rendered under different options are stale."""

    width: int
    palette: Palette = field(default_factory=Palette)
    show_tools: bool = False
    show_thinking: bool = False
    flipped: frozenset[int] = frozenset()
    """Message ids whose expansion was toggled one by one (Enter), against the global setting."""
    find: tuple[str, ...] = ()
    """The words of the transcript's find: an open block's details start near the first."""

    @property
    def key(self) -> tuple[object, ...]:
        """What a rendered block depends on, apart from per-message expansion."""
        return (self.width, self.palette, self.show_tools, self.show_thinking)

    def expanded(self, message: MessageRow) -> bool:
        """Whether a collapsible message shows its details."""
        default = self.show_thinking if message.kind == KIND_THINKING else self.show_tools
        return default != (message.id in self.flipped)


_local = threading.local()


def _console(width: int, palette: Palette) -> Console:
    cached: Console | None = getattr(_local, "console", None)
    if cached is None or cached.width != width or getattr(_local, "palette", None) != palette:
        heading = palette.agent + Style(underline=False)
        theme = Theme(
            {
                "markdown.code": palette.code,
                "markdown.link_url": palette.dim,
                "markdown.h1": heading + Style(underline=True),
                "markdown.h2": heading,
                "markdown.h3": heading,
                "markdown.h4": heading,
                "markdown.block_quote": palette.thinking,
                "markdown.item.bullet": palette.dim,
            }
        )
        cached = Console(
            width=width,
            color_system="truecolor",
            force_terminal=True,
            legacy_windows=False,
            theme=theme,
            highlight=False,
            emoji=False,
            markup=False,
        )
        _local.console, _local.palette = cached, palette
    return cached


def _lines(renderable: RenderableType, width: int, palette: Palette) -> list[Strip]:
    console = _console(width, palette)
    options = console.options.update_width(width)
    return [Strip(line).simplify() for line in console.render_lines(renderable, options, pad=False)]


def collapsible(message: MessageRow) -> bool:
    """True for the kinds shown as one line until expanded."""
    return message.kind in TOOL_KINDS or message.kind == KIND_THINKING


def render_block(message: MessageRow, options: RenderOptions) -> list[Strip]:
    """The lines of one message at `options.width` cells (the view adds its gutter)."""
    width, palette = max(20, options.width), options.palette
    if message.kind == KIND_PROMPT:
        body: RenderableType = Text(_cut(message.text))
        return _with_header(message, "you", palette.user, body, width, palette)
    if message.kind == KIND_TEXT:
        return _with_header(
            message, "agent", palette.agent, _markdown(message, palette), width, palette
        )
    if message.kind == KIND_SUMMARY:
        line = Text.assemble(("≡ summary  ", palette.dim), (_cut(message.text), palette.thinking))
        return _lines(line, width, palette)
    if not collapsible(message):
        return _lines(Text(_cut(message.text)), width, palette)
    head = _one_liner(message, options.expanded(message), width, palette)
    if not options.expanded(message):
        return head
    return head + _details(message, width, palette, options.find) + [Strip.blank(0)]


def _with_header(
    message: MessageRow, who: str, style: Style, body: RenderableType, width: int, palette: Palette
) -> list[Strip]:
    left = Text(who, style=style)
    if message.model and message.kind == KIND_TEXT:
        left.append(f" · {message.model}", style=palette.dim)
    header = _right_aligned(left, formatting.clock_time(message.timestamp), width, palette)
    return [header, *_lines(body, width, palette), Strip.blank(0)]


def _right_aligned(left: Text, right: str, width: int, palette: Palette) -> Strip:
    room = max(1, width - len(right) - 1)
    left.truncate(room, overflow="ellipsis")
    gap = width - left.cell_len - len(right)
    line = Text.assemble(left, " " * max(1, gap), (right, palette.dim))
    line.truncate(width)
    # One line, no wrapping: its segments directly, without a layout pass (most lines are these).
    return Strip(list(line.render(_console(width, palette))), line.cell_len).simplify()


def _markdown(message: MessageRow, palette: Palette) -> RenderableType:
    text = _cut(message.text)
    # Plain prose renders the same either way; the Markdown parser costs ~20x more.
    if not any(mark in text for mark in ("#", "*", "`", "_", "[", "|", "> ", "- ", "1.")):
        return Text(text)
    from rich.markdown import Markdown  # markdown-it is slow to import; not needed at start-up

    return Markdown(text, code_theme="ansi_dark" if palette.dark else "ansi_light")


def _cut(text: str) -> str:
    if len(text) <= TEXT_LIMIT:
        return text
    rest = len(text) - TEXT_LIMIT
    return f"{text[:TEXT_LIMIT]}\n… {formatting.count(rest)} more characters (y copies all)"


def _one_liner(message: MessageRow, expanded: bool, width: int, palette: Palette) -> list[Strip]:
    label, style, preview = _summary(message, palette)
    size = formatting.size(len(preview.encode("utf-8", "surrogatepass")))
    lines = preview.count("\n") + 1
    facts = Text(f"  ({size}" + (f", {lines} lines)" if lines > 1 else ")"), style=palette.dim)
    stamp = formatting.clock_time(message.timestamp)
    line = Text.assemble((("▾ " if expanded else "▸ ") + label, style), "  ")
    # The preview takes what is left, so the size and the time always show.
    room = width - line.cell_len - facts.cell_len - len(stamp) - 1
    if not expanded and room > 8:
        line.append(formatting.one_line(preview, room), style=palette.dim)
    line.append_text(facts)
    return [_right_aligned(line, stamp, width, palette)]


def _summary(message: MessageRow, palette: Palette) -> tuple[str, Style, str]:
    """(label, style, preview text) of a collapsible message."""
    if message.kind == KIND_THINKING:
        return "thinking", palette.thinking, message.text
    if message.kind == KIND_TOOL_CALL:
        call = next((p for p in message.parts if p.type == "tool_call"), None)
        name = (call.tool_name if call else None) or "tool"
        return name, palette.tool, call.text if call else message.text
    if message.kind == KIND_TOOL_RESULT:
        failed = any(p.is_error for p in message.parts)
        return (
            ("✗ error" if failed else "↳ result"),
            (palette.error if failed else palette.tool),
            message.text,
        )
    if message.kind == KIND_UNKNOWN:
        return f"? {message.line_type or 'unknown'}", palette.error, message.text
    return "· system", palette.dim, message.text


def _details(
    message: MessageRow, width: int, palette: Palette, find: tuple[str, ...] = ()
) -> list[Strip]:
    text = message.text
    if message.kind == KIND_TOOL_CALL:
        call = next((p for p in message.parts if p.type == "tool_call"), None)
        text = _pretty_json(call.text if call else text)
    style = palette.thinking if message.kind == KIND_THINKING else Style()
    limit = 400 if message.kind == KIND_THINKING else DETAIL_LINES
    skipped, shown = _shown_lines(text, limit, find)
    extra = text.count("\n") + 1 - len(shown) - skipped
    lines: list[Strip] = []
    if skipped:
        note = f"  … {formatting.count(skipped)} lines above (a find's match is below)"
        lines += _lines(Text(note, style=palette.dim), width, palette)
    body = Padding(Text("\n".join(shown), style=style), (0, 0, 0, 2))
    lines += _lines(body, width, palette)
    if extra > 0:
        note = f"  … {formatting.count(extra)}+ more lines ({formatting.size(len(text))})"
        lines += _lines(Text(note, style=palette.dim), width, palette)
    return lines


def _shown_lines(text: str, limit: int, find: tuple[str, ...]) -> tuple[int, list[str]]:
    """(lines skipped, up to `limit` lines shown) of a block's details: from the start, or from
    a little before the first line holding one of `find` when that line is further down."""
    skip = 0
    if find:
        folded = text.lower()
        found = [at for at in (folded.find(w.lower()) for w in find if w) if at >= 0]
        line = text.count("\n", 0, min(found)) if found else 0
        if line >= limit - 2:
            skip = line - 3
    offset = 0
    for _ in range(skip):
        offset = text.index("\n", offset) + 1
    return skip, text[offset : offset + limit * 400].splitlines()[:limit]


def _pretty_json(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, TypeError):
        return text


def block_key(message: MessageRow, options: RenderOptions) -> tuple[object, ...]:
    """What a message's block depends on under `options`: equal keys mean the same lines."""
    shown = options.expanded(message) if collapsible(message) else None
    return (options.key, shown, options.find if shown else ())


def render_rows(
    rows: list[MessageRow],
    options: RenderOptions,
) -> tuple[list[list[Strip]], list[tuple[object, ...]]]:
    """Blocks and their keys for a page of messages (call it from a thread worker)."""
    return [render_block(r, options) for r in rows], [block_key(r, options) for r in rows]


def _spans(text: str, words: tuple[str, ...]) -> list[tuple[int, int]]:
    """(start, end) of every occurrence of any of `words` in `text` (case-insensitive), merged."""
    folded = text.lower()
    found: list[tuple[int, int]] = []
    for word in words:
        needle = word.lower()
        at = folded.find(needle) if needle else -1
        while at >= 0:
            found.append((at, at + len(needle)))
            at = folded.find(needle, at + len(needle))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def match_line(block: list[Strip], words: tuple[str, ...]) -> int:
    """The first line of a block that shows one of `words` (case-insensitive), else 0."""
    for i, strip in enumerate(block):
        if _spans(strip.text, words):
            return i
    return 0


def highlight(strip: Strip, words: tuple[str, ...], style: Style) -> Strip:
    """`strip` with every occurrence of `words` drawn in `style`."""
    text = strip.text
    spans = _spans(text, words)
    if not spans:
        return strip
    pieces: list[Strip] = []
    done = 0
    for start, end in spans:
        a, b = cell_len(text[:start]), cell_len(text[:end])
        pieces += [strip.crop(done, a), strip.crop(a, b).apply_style(style)]
        done = b
    pieces.append(strip.crop(done))
    return Strip.join(pieces)
