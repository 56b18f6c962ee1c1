"""The transcript screen: one session, read from the store by keyset pages of `seq` in workers.

The screen owns the data work: it answers the view's `WindowWanted` requests, runs finds and
prompt jumps (`store.views`), exports, and keeps the session-wide position (gauge and status
line). The reading itself (cursor, window, painting) is `TranscriptView`'s; see its docstring for
why every operation costs one page, whatever the session's length.
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

from store import pages, views
from store.export import markdown
from store.records import MessageRow, SessionRow
from tui import formatting
from tui.messages import BoundsLoaded, WindowLoaded
from tui.screens.base import ConvoScreen
from tui.widgets.banner import StatusBanner
from tui.widgets.message_render import RenderOptions, render_rows
from tui.widgets.seq_gauge import SeqGauge
from tui.widgets.transcript_view import TranscriptView

PAGE = 40
"""Messages per keyset page when the window slides."""
AROUND = (15, 30)
"""Messages loaded before and from a jump target (find, prompt jump, gauge click)."""
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


class TranscriptScreen(ConvoScreen):
    """Reads one session; the keys a reader expects, and a find that spans the whole session."""

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

    def __init__(self, session: SessionRow) -> None:
        super().__init__()
        self.session = session
        self.term = ""
        self.bounds = (0, 0, 0)

    @property
    def view(self) -> TranscriptView:
        return self.query_one(TranscriptView)

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
        self.call_after_refresh(self.view.request, "start")

    def store_changed(self) -> None:
        self._load_bounds()
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
        self._post_rendered(loaded, options)

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

    def _post_rendered(self, loaded: WindowLoaded, options: RenderOptions) -> None:
        """Render the page's blocks here, in the worker, then hand it to the UI thread."""
        loaded.blocks, loaded.keys = render_rows(loaded.rows, options)
        self.post_message(loaded)

    @on(WindowLoaded)
    def _window_loaded(self, event: WindowLoaded) -> None:
        self.view.apply(event)

    @work(
        thread=True,
        group="transcript-seek",
        exclusive=True,
        exit_on_error=False,
        description="Finding in the session",
    )
    def _seek(
        self,
        generation: int,
        kind: str,
        term: str,
        from_seq: int,
        forward: bool,
        loaded: tuple[int, int] | None,
        options: RenderOptions,
    ) -> None:
        sid = self.session.id
        if kind == "find":
            seq = views.find_in_session(sid, term, from_seq, forward=forward)
        elif kind == "prompt":
            seq = views.next_of_kind(sid, "prompt", from_seq, forward=forward)
        else:
            seq = from_seq
        if seq is None:
            what = f"“{term}”" if kind == "find" else "prompt"
            self.notify(
                f"No {'later' if forward else 'earlier'} {what} in this session.",
                severity="warning",
                markup=False,
                timeout=3,
            )
            return
        if loaded is not None and loaded[0] <= seq <= loaded[1]:
            self.app.call_from_thread(self._focus_loaded, generation, seq, term or None)
            return
        rows = views.messages_around(sid, seq, *AROUND)
        head = sum(1 for r in rows if r.seq < seq)
        # A new window: pages still in flight for the old one must be dropped when they land.
        generation = self.app.call_from_thread(self.view.new_generation)
        before, after = head == AROUND[0], len(rows) - head == AROUND[1]
        window = WindowLoaded(generation, "replace", rows, [], [], before, after, seq)
        window.term = term or None
        self._post_rendered(window, options)

    def _focus_loaded(self, generation: int, seq: int, term: str | None) -> None:
        if generation == self.view.generation:
            self.view.focus_seq(seq, term)

    def _start_seek(self, kind: str, forward: bool, term: str = "") -> None:
        view = self.view
        current = view.current
        from_seq = current.seq if current else 0
        if kind == "find" and not forward and current is None:
            from_seq = 2**62
        rows = view.window.rows
        loaded = (rows[0].seq, rows[-1].seq) if rows else None
        self._seek(view.generation, kind, term, from_seq, forward, loaded, view.render_options())

    # -- position ----------------------------------------------------------------------------------

    @on(TranscriptView.Moved)
    def _moved(self, event: TranscriptView.Moved) -> None:
        self.query_one(SeqGauge).set_range(event.top_seq, event.bottom_seq)
        self._show_status(event.cursor, event.fetching)

    @on(SeqGauge.Jumped)
    def _gauge_jump(self, event: SeqGauge.Jumped) -> None:
        rows = self.view.window.rows
        loaded = (rows[0].seq, rows[-1].seq) if rows else None
        self._seek(
            self.view.generation, "seq", "", event.seq, True, loaded, self.view.render_options()
        )

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
        if self.term:
            parts.append(f"find “{self.term}” (n/N)")
        if loading:
            parts.append("loading…")
        self.query_one("#transcript-status", Static).update(" · ".join(parts))

    # -- actions -------------------------------------------------------------------------------

    def action_next_prompt(self) -> None:
        self._start_seek("prompt", True)

    def action_prev_prompt(self) -> None:
        self._start_seek("prompt", False)

    def action_find(self) -> None:
        find = self.query_one("#find", Input)
        find.add_class("-visible")
        find.value = self.term
        find.focus()

    @on(Input.Submitted, "#find")
    def _find_submitted(self, event: Input.Submitted) -> None:
        self.term = event.value.strip()
        self._close_find()
        if self.term:
            self._start_seek("find", True, self.term)

    def _close_find(self) -> None:
        self.query_one("#find", Input).remove_class("-visible")
        self.view.focus()
        self._show_status()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.query_one("#find", Input).has_focus:
            self._close_find()
            event.stop()

    def action_find_next(self) -> None:
        if self.term:
            self._start_seek("find", True, self.term)
        else:
            self.action_find()

    def action_find_prev(self) -> None:
        if self.term:
            self._start_seek("find", False, self.term)

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
