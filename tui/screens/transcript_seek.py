"""The transcript's jumps: a find and its matches, prompt jumps and seq jumps, in a worker.

A jump costs one window around its target, read and rendered in a thread worker (or nothing but
a cursor move when the target is loaded already). A find's target is a match: the message is
centred, the words highlighted, and a folded tool call or thinking block that holds them is
rendered open. `TranscriptScreen` adds the reading itself, the keys and the status line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual import on, work
from textual.strip import Strip
from textual.widgets import Input
from textual.worker import get_current_worker

from store import pages, views
from store.records import SessionRow
from tui.messages import MatchesFound, WindowLoaded
from tui.screens.base import ConvoScreen
from tui.screens.transcript_find import Find, Matches, matching_seqs
from tui.widgets.message_render import RenderOptions, collapsible, render_rows
from tui.widgets.transcript_view import TranscriptView

AROUND = (15, 30)
"""Messages loaded before and from a jump target (find, prompt jump, gauge click)."""

Opened = tuple[int, list[Strip], tuple[object, ...]]
"""(message id, block, render key) of a loaded message rendered open to show a match."""


@dataclass(frozen=True)
class Seek:
    """One jump, as the worker needs it (a snapshot taken on the UI thread)."""

    generation: int
    kind: str
    """`find` (the next match of `find`), `prompt` (the next prompt) or `seq` (that message)."""
    from_seq: int
    forward: bool
    loaded: tuple[int, int] | None
    """The seqs of the window's first and last rows (a target between them needs no read)."""
    options: RenderOptions
    find: Find | None = None
    matches: Matches | None = None
    """The find's matches when they are known already."""
    inclusive: bool = False
    """A new find may stop at `from_seq` itself."""


class SeekingScreen(ConvoScreen):
    """Finds and jumps over one session's transcript."""

    def __init__(self, session: SessionRow, *, at: int | None = None, find: Find | None = None):
        """
        Args:
            session: the session to read.
            at: open at this message (a search hit) instead of the first one.
            find: the find to start with (a search hit's query), highlighted at `at`.
        """
        super().__init__()
        self.session = session
        self.find = find
        self.matches: Matches | None = None
        self.bounds = (0, 0, 0)
        self.opened_at = at

    @property
    def view(self) -> TranscriptView:
        return self.query_one(TranscriptView)

    def _show_status(self) -> None:
        """Show the position and the find (the screen's)."""

    def find_status(self) -> str:
        """The find part of the status line: `find “x” · match 3 of 17 (n/N)`."""
        if self.find is None:
            return ""
        count = ""
        if self.matches is not None:
            current = self.view.current
            count = f" · {self.matches.describe(current.seq if current else None)}"
        return f"find “{self.find.text}”{count} (n/N)"

    # -- the worker ----------------------------------------------------------------------------

    def seek(
        self,
        kind: str,
        forward: bool,
        *,
        at: int | None = None,
        inclusive: bool = False,
        highlight: bool = False,
    ) -> None:
        """Start a jump from the cursor (or to `at`); a `find` jump, or one that `highlight`s,
        shows the find's words at its target."""
        view = self.view
        current = view.current
        from_seq = at if at is not None else (current.seq if current else 0)
        if at is None and not forward and current is None:
            from_seq = 2**62
        rows = view.window.rows
        loaded = (rows[0].seq, rows[-1].seq) if rows else None
        find = self.find if kind == "find" or highlight else None
        matches = self.matches if find is not None else None
        request = Seek(
            view.generation, kind, from_seq, forward, loaded, view.render_options(), find, matches
        )
        self._seek(replace(request, inclusive=inclusive))

    @work(
        thread=True,
        group="transcript-seek",
        exclusive=True,
        exit_on_error=False,
        description="Finding in the session",
    )
    def _seek(self, req: Seek) -> None:
        words: tuple[str, ...] = ()
        matches = req.matches
        if req.find is not None:
            words = req.find.words
            if matches is None:
                matches = matching_seqs(self.session.id, req.find)
                self.post_message(MatchesFound(req.find.key, matches.seqs, matches.capped))
        seq: int | None
        if req.kind == "find" and matches is not None:
            seq = self._next_match(matches, req)
        elif req.kind == "prompt":
            seq = views.next_of_kind(self.session.id, "prompt", req.from_seq, forward=req.forward)
            if seq is None:
                later = "later" if req.forward else "earlier"
                self.notify(f"No {later} prompt in this session.", severity="warning", timeout=3)
        else:
            seq = req.from_seq
        if seq is not None and not get_current_worker().is_cancelled:
            self._jump(req, seq, words)

    def _next_match(self, matches: Matches, req: Seek) -> int | None:
        assert req.find is not None
        try:
            seq, wrapped = matches.pick(req.from_seq, req.forward, inclusive=req.inclusive)
        except LookupError:
            self.notify(
                f"No “{req.find.text}” in this session.",
                severity="warning",
                markup=False,
                timeout=3,
            )
            return None
        if wrapped and len(matches.seqs) > 1:
            end = "first" if req.forward else "last"
            self.notify(f"Wrapped to the {end} match.", title="Find", timeout=3)
        return seq

    def _jump(self, req: Seek, seq: int, words: tuple[str, ...]) -> None:
        """Show `seq`: in the loaded window if it is there, else in a new window around it."""
        if req.loaded is not None and req.loaded[0] <= seq <= req.loaded[1]:
            opened = self._opened(seq, req.options) if words else None
            self.app.call_from_thread(self._focus_loaded, req.generation, seq, words, opened)
            return
        rows = views.messages_around(self.session.id, seq, *AROUND)
        head = sum(1 for r in rows if r.seq < seq)
        options, expanded = req.options, None
        target = next((r for r in rows if r.seq == seq), None)
        if words and target is not None and collapsible(target) and not options.expanded(target):
            options = replace(options, flipped=options.flipped ^ {target.id})
            expanded = target.id
        # A new window: pages still in flight for the old one must be dropped when they land.
        generation = self.app.call_from_thread(self.view.new_generation)
        before, after = head == AROUND[0], len(rows) - head == AROUND[1]
        window = WindowLoaded(generation, "replace", rows, [], [], before, after, seq)
        window.words, window.expanded = words, expanded
        self.post_rendered(window, options)

    def _opened(self, seq: int, options: RenderOptions) -> Opened | None:
        """The loaded message at `seq` rendered open, if it is folded (else None)."""
        rows = pages.messages_after(self.session.id, seq - 1, 1)
        row = rows[0] if rows and rows[0].seq == seq else None
        if row is None or not collapsible(row) or options.expanded(row):
            return None
        blocks, keys = render_rows([row], replace(options, flipped=options.flipped ^ {row.id}))
        return row.id, blocks[0], keys[0]

    def post_rendered(self, loaded: WindowLoaded, options: RenderOptions) -> None:
        """Render the page's blocks here, in the worker, then hand it to the UI thread."""
        loaded.blocks, loaded.keys = render_rows(loaded.rows, options)
        self.post_message(loaded)

    def _focus_loaded(
        self, generation: int, seq: int, words: tuple[str, ...], opened: Opened | None
    ) -> None:
        if generation != self.view.generation:
            return
        if opened is not None:
            self.view.show_expanded(*opened)
        self.view.focus_seq(seq, words)

    # -- the find's matches --------------------------------------------------------------------

    @on(MatchesFound)
    def _matches_found(self, event: MatchesFound) -> None:
        if self.find is not None and event.key == self.find.key:
            self.matches = Matches(event.seqs, event.capped)
            self._show_status()

    @work(
        thread=True,
        group="transcript-count",
        exclusive=True,
        exit_on_error=False,
        description="Counting the find's matches",
    )
    def count_matches(self, find: Find) -> None:
        """Find every match of `find` again (new rows were stored)."""
        matches = matching_seqs(self.session.id, find)
        self.post_message(MatchesFound(find.key, matches.seqs, matches.capped))

    # -- the find box ----------------------------------------------------------------------------

    def action_find(self) -> None:
        box = self.query_one("#find", Input)
        box.add_class("-visible")
        box.value = self.find.text if self.find else ""
        box.focus()

    @on(Input.Submitted, "#find")
    def _find_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.close_find()
        if not text:
            self.set_find(None)
            self._show_status()
            return
        size = max(self.bounds[2], self.session.message_count)
        find = Find.typed(text, size)
        if self.find is None or find.key != self.find.key:
            self.set_find(find)
        self.seek("find", True, inclusive=True)

    def set_find(self, find: Find | None) -> None:
        """Start a new find (its matches are counted by the next jump), or none."""
        self.find, self.matches = find, None
        self.view.set_find_words(find.words if find else ())

    def close_find(self) -> None:
        self.query_one("#find", Input).remove_class("-visible")
        self.view.focus()
        self._show_status()

    def action_find_next(self) -> None:
        if self.find is not None:
            self.seek("find", True)
        else:
            self.action_find()

    def action_find_prev(self) -> None:
        if self.find is not None:
            self.seek("find", False)
