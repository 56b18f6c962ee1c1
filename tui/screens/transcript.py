"""The transcript screen: one session, read from the store by keyset pages of `seq` in workers.

The screen owns the data work: it answers the view's `WindowWanted` requests, exports, and keeps
the session-wide position (gauge and status line); finds and jumps are `SeekingScreen`'s
(tui.screens.transcript_seek). The reading itself (cursor, window, painting) is
`TranscriptView`'s; see its docstring for why every operation costs one page, whatever the
session's length.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Header, Input, Static

from store import pages
from store.export import markdown
from store.records import MessageRow, SessionRow
from tui import formatting
from tui.messages import BoundsLoaded, WindowLoaded
from tui.screens.transcript_seek import SeekingScreen
from tui.widgets.banner import StatusBanner
from tui.widgets.message_render import RenderOptions
from tui.widgets.seq_gauge import SeqGauge
from tui.widgets.transcript_view import TranscriptView

PAGE = 40
"""Messages per keyset page when the window slides."""
RESUME = {
    "claude": "claude --resume {id}",
    "codex": "codex resume {id}",
    "opencode": "opencode --session {id}",
}
"""How each agent resumes one of its sessions."""


def resume_command(session: SessionRow) -> str | None:
    """The shell command that resumes `session` in its own agent, run from its project folder."""
    template = RESUME.get(session.agent)
    if template is None:
        return None
    # A sub-agent thread is resumed through the session that spawned it.
    native = session.native_id.split("#", 1)[0]
    command = template.format(id=shlex.quote(native))
    return f"cd {shlex.quote(session.project)} && {command}" if session.project else command


class TranscriptScreen(SeekingScreen):
    """Reads one session; the keys a reader expects, and a find that spans the whole session
    (its matches, jumps and the find box are `SeekingScreen`'s)."""

    CSS_PATH = "transcript.tcss"
    HELP_TITLE = "Transcript"
    BINDINGS = [
        Binding(
            "right_square_bracket",
            "next_prompt",
            "Next prompt",
            tooltip="Jump to your next prompt",
            group=Binding.Group("Prompts"),
        ),
        Binding(
            "left_square_bracket",
            "prev_prompt",
            "Previous prompt",
            tooltip="Jump to your previous prompt",
            group=Binding.Group("Prompts"),
        ),
        Binding("slash", "find", "Find", tooltip="Find text anywhere in this session"),
        Binding("n", "find_next", "Next match", show=False, tooltip="Find the next match"),
        Binding("N", "find_prev", "Previous match", show=False, tooltip="Find the previous match"),
        Binding("t", "toggle_tools", "Tools", tooltip="Show or hide tool calls and results"),
        Binding("T", "toggle_thinking", "Thinking", tooltip="Show or hide thinking blocks"),
        Binding("y", "copy_message", "Copy", tooltip="Copy this message's full text"),
        Binding("e", "export", "Export", tooltip="Export the session to a Markdown file"),
        Binding(
            "r",
            "copy_resume",
            "Resume",
            tooltip="Copy the command that resumes this session in its agent",
        ),
        Binding("escape,q", "back", "Back", tooltip="Back to the session list"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusBanner()
        yield Static(self._title(), id="transcript-title")
        with Horizontal(id="transcript-body"):
            yield TranscriptView(id="transcript")
            yield SeqGauge(id="gauge")
        yield Input(placeholder="Find in this session  (enter: find · esc: close)", id="find")
        yield Static("", id="transcript-status", markup=False)
        yield Footer()

    def _title(self) -> Text:
        s = self.session
        title = Text(formatting.one_line(s.title or s.native_id, 200), style="bold")
        facts = [
            s.agent,
            formatting.home_short(s.project),
            s.git_branch,
            s.model,
            f"{formatting.count(s.message_count)} messages",
            f"last activity {formatting.relative(s.updated_at)}",
        ]
        title.append("\n" + " · ".join(f for f in facts if f and f != "-"), style="dim")
        return title

    def on_mount(self) -> None:
        self.sub_title = formatting.one_line(self.session.title or self.session.native_id, 60)
        self.view.focus()
        self._load_bounds()
        self.view.set_find_words(self.find.words if self.find else ())
        if self.opened_at is not None:  # a search hit: open there, its match shown
            self.call_after_refresh(self.seek, "seq", True, at=self.opened_at, highlight=True)
        else:
            self.call_after_refresh(self.view.request, "start")

    def store_changed(self) -> None:
        self._load_bounds()
        if self.find is not None:  # new rows may match
            self.count_matches(self.find)
        window = self.view.window
        if not window.rows:
            self.view.request("start")
        elif not window.has_after:
            window.has_after = True  # the backfill may have appended: look once more
            self.view.request("after", window.rows[-1].seq)

    # -- data workers ---------------------------------------------------------------------------

    @work(
        thread=True,
        group="transcript-bounds",
        exit_on_error=False,
        description="Reading the session's extent",
    )
    def _load_bounds(self) -> None:
        self.post_message(BoundsLoaded(*pages.seq_bounds(self.session.id)))

    @on(BoundsLoaded)
    def _show_bounds(self, event: BoundsLoaded) -> None:
        self.bounds = (event.first, event.last, event.count)
        self.query_one(SeqGauge).set_bounds(event.first, event.last)
        self._show_status()

    @on(TranscriptView.WindowWanted)
    def _window_wanted(self, event: TranscriptView.WindowWanted) -> None:
        self._fetch(event.generation, event.request, event.seq, self.view.render_options())

    @work(thread=True, group="transcript-read", exit_on_error=False, description="Reading messages")
    def _fetch(
        self, generation: int, request: str, seq: int | None, options: RenderOptions
    ) -> None:
        rows, before, after = self._page(request, seq)
        placement = "replace" if request in ("start", "end") else request
        loaded = WindowLoaded(generation, placement, rows, [], [], before, after)
        loaded.at_end = request == "end"
        self.post_rendered(loaded, options)

    def _page(self, request: str, seq: int | None) -> tuple[list[MessageRow], bool, bool]:
        """One keyset page for a view request: (rows, more before?, more after?).

        A full page may have more beyond it; the side it was not read towards is known to the
        view already (an extension only updates the side it grew on).
        """
        sid = self.session.id
        if request in ("start", "after"):
            rows = pages.messages_after(sid, seq or 0, PAGE)
            return rows, False, len(rows) == PAGE
        rows = pages.messages_before(sid, None if request == "end" else seq, PAGE)
        return rows, len(rows) == PAGE, False

    @on(WindowLoaded)
    def _window_loaded(self, event: WindowLoaded) -> None:
        self.view.apply(event)

    # -- position ----------------------------------------------------------------------------------

    @on(TranscriptView.Moved)
    def _moved(self, event: TranscriptView.Moved) -> None:
        self.query_one(SeqGauge).set_range(event.top_seq, event.bottom_seq)
        self._show_status(event.cursor, event.fetching)

    @on(SeqGauge.Jumped)
    def _gauge_jump(self, event: SeqGauge.Jumped) -> None:
        self.seek("seq", True, at=event.seq)

    def _show_status(self, cursor: MessageRow | None = None, loading: bool = False) -> None:
        cursor = cursor or self.view.current
        first, last, count = self.bounds
        parts = []
        if cursor is not None:
            share = 100 * (cursor.seq - first) // max(1, last - first) if last > first else 100
            parts.append(f"#{cursor.seq} · {share}%")
        parts.append(f"{formatting.count(count)} messages")
        parts.append("tools shown" if self.view.show_tools else "tools folded")
        parts.append("thinking shown" if self.view.show_thinking else "thinking folded")
        if self.find is not None:
            parts.append(self.find_status())
        if loading:
            parts.append("loading…")
        self.query_one("#transcript-status", Static).update(" · ".join(parts))

    # -- actions -------------------------------------------------------------------------------

    def action_next_prompt(self) -> None:
        self.seek("prompt", True)

    def action_prev_prompt(self) -> None:
        self.seek("prompt", False)

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.query_one("#find", Input).has_focus:
            self.close_find()
            event.stop()

    def action_toggle_tools(self) -> None:
        self.view.show_tools = not self.view.show_tools
        self._show_status()

    def action_toggle_thinking(self) -> None:
        self.view.show_thinking = not self.view.show_thinking
        self._show_status()

    def action_copy_message(self) -> None:
        row = self.view.current
        if row is None:
            return
        self.app.copy_to_clipboard(row.text)
        size = formatting.size(len(row.text.encode("utf-8", "surrogatepass")))
        self.notify(f"Copied message #{row.seq} ({size})")

    def action_copy_resume(self) -> None:
        command = resume_command(self.session)
        if command is None:
            self.notify(
                f"No resume command known for {self.session.agent}.",
                severity="warning",
                markup=False,
            )
            return
        self.app.copy_to_clipboard(command)
        self.notify(f"Copied: {command}", markup=False)

    def action_export(self) -> None:
        configured = getattr(self.app, "export_dir", None)
        folder = configured or Path(os.environ.get("CONVO_EXPORT_DIR") or Path.cwd())
        self.notify("Exporting…", timeout=2)
        self._export(folder)

    @work(
        thread=True,
        group="transcript-export",
        exclusive=True,
        exit_on_error=False,
        description="Exporting the session to Markdown",
    )
    def _export(self, folder: Path) -> None:
        path = markdown.export_session(self.session, folder)
        self.notify(f"Exported to {path}", title="Export", markup=False, timeout=8)

    def action_back(self) -> None:
        self.dismiss()
