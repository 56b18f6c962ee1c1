"""The search screen: every message of every session, searched as you type.

Typing restarts a short timer (`DEBOUNCE`); when it fires, the query runs in a thread worker
(`engine.search`, exclusive: a newer query cancels the older) and its page of hits comes back as
a message tagged with the query's generation, so the results of a query the user has since changed
are never shown. The next page (keyset: the store's `next` cursor) is read when the cursor nears
the end of the list. Enter opens the transcript at the hit's message, with the query as the
transcript's find, so `n`/`N` walk that session's matches.
"""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, OptionList, Static
from textual.worker import Worker, WorkerState, get_current_worker

from store import pages, views
from store.errors import StoreError
from store.records import SessionRow
from store.search import engine
from store.search.engine import Hit, Results
from store.search.filters import Filters
from tui.messages import SearchAnswered, SearchFailed
from tui.screens.base import ConvoScreen
from tui.screens.modals import KEEP, ProjectModal
from tui.screens.search_filters import HINT, SearchFilters
from tui.screens.transcript_find import Find
from tui.widgets.banner import StatusBanner
from tui.widgets.hit_list import HitList

DEBOUNCE = 0.25
"""Seconds of quiet after a key before the query runs."""
PAGE = 50
"""Hits per page."""
MARGIN = 5
"""Hits before the end of the list at which the next page is read."""


class SearchScreen(ConvoScreen):
    """Full-text search over the store: results as you type, filters from the keyboard."""

    CSS_PATH = "search.tcss"
    HELP_TITLE = "Search"
    AUTO_FOCUS = "#search-query"
    BINDINGS = [
        Binding("slash", "focus_query", "Query", tooltip="Edit the query"),
        Binding("a", "cycle_agent", "Agent", tooltip="Search one agent's sessions (cycles)"),
        Binding("p", "pick_project", "Project", tooltip="Search one project's sessions"),
        Binding(
            "r", "cycle_role", "Role", tooltip="Only your prompts, the agent's, tools' (cycles)"
        ),
        Binding(
            "t",
            "cycle_kind",
            "Kind",
            tooltip="Only text, tool calls, tool results, thinking or other (cycles)",
        ),
        Binding("w", "cycle_since", "When", tooltip="Only the last day, week, month, year"),
        Binding("s", "toggle_subagents", "Sub-agents", tooltip="Search sub-agent threads too"),
        Binding("down", "focus_results", "Results", key_display="↓", tooltip="Go to the hits"),
        Binding("escape", "back", "Back", tooltip="Back to the previous screen"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filters = SearchFilters()
        self.agents: list[str] = []
        self.generation = 0
        """Bumped by every query: results of an older one are dropped when they land."""
        self.results: Results | None = None
        """The first page of the query shown (its terms, its notes, how much is indexed)."""
        self.next_cursor: str | None = None
        self.error: str | None = None
        self._debounce: Timer | None = None
        self._reading = False
        self._asked: tuple[str, Filters] = ("", Filters())
        """The text and filters of the query shown, for its next pages."""

    @property
    def hit_list(self) -> HitList:
        return self.query_one(HitList)

    @property
    def pending(self) -> bool:
        """A query is waiting for its timer or its worker (tests wait for this)."""
        return self._debounce is not None or self._reading

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusBanner()
        yield Input(
            placeholder='Search every session: words, "a phrase", prefix*, -exclude, a OR b',
            id="search-query",
        )
        yield Static(self.filters.describe(), id="search-filters")
        yield Static("", id="search-status")
        yield Static("", id="search-note")
        yield HitList(id="search-hits")
        with Vertical(id="search-panel"):
            yield Static("", id="search-message")
            yield Static(Text(HINT), id="search-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Search"
        self._load_agents()
        self._show_state()

    @work(thread=True, group="search-agents", exit_on_error=False, description="Listing agents")
    def _load_agents(self) -> None:
        agents = views.agents()
        self.app.call_from_thread(setattr, self, "agents", agents)

    # -- running a query -----------------------------------------------------------------------

    @property
    def text(self) -> str:
        return self.query_one("#search-query", Input).value.strip()

    @on(Input.Changed, "#search-query")
    def _typed(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE, self.run_query)

    @on(Input.Submitted, "#search-query")
    def _submitted(self) -> None:
        if self._debounce is not None:  # enter does not wait for the timer
            self.run_query()
        self.action_focus_results()

    def run_query(self) -> None:
        """Search for the query as it is now (its first page), dropping any older answer."""
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        self.generation += 1
        self.next_cursor, self.error = None, None
        text = self.text
        if not text:
            self.results, self._reading = None, False
            self.hit_list.show([], reset=True)
            self._show_state()
            return
        self._reading = True
        self._asked = (text, self.filters.to_store())
        self._show_status(Text("Searching…", style="dim"))
        self._search(self.generation, *self._asked, None)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False, description="Searching")
    def _search(self, generation: int, text: str, filters: Filters, cursor: str | None) -> None:
        try:
            results = engine.search(text, filters, limit=PAGE, cursor=cursor)
        except engine.Unavailable as err:
            self.post_message(SearchFailed(generation, str(err), unavailable=True))
            return
        except StoreError as err:  # a query that means nothing, a stale cursor: one line
            self.post_message(SearchFailed(generation, str(err)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(SearchAnswered(generation, results, reset=cursor is None))

    @on(SearchAnswered)
    def _answered(self, event: SearchAnswered) -> None:
        if event.generation != self.generation:
            return
        self._reading = False
        if event.reset:
            self.results = event.results
        self.next_cursor = event.results.next
        self.hit_list.show(event.results.hits, reset=event.reset)
        self._show_state()

    @on(SearchFailed)
    def _failed(self, event: SearchFailed) -> None:
        if event.generation != self.generation:
            return
        self._reading = False
        self.results, self.error = None, event.error
        self.hit_list.show([], reset=True)
        self._show_state(unavailable=event.unavailable)

    @on(OptionList.OptionHighlighted, "#search-hits")
    def _maybe_more(self, event: OptionList.OptionHighlighted) -> None:
        hits = self.hit_list.hits
        if self.next_cursor and not self._reading and event.option_index >= len(hits) - MARGIN:
            self._reading = True
            self._search(self.generation, *self._asked, self.next_cursor)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)  # reported as a toast or a modal
        if event.worker.group == "search" and event.state == WorkerState.ERROR:
            self._reading = False
            self._show_status(Text(""))

    def index_finished(self) -> None:
        """The search index was completed: a query answered on part of it runs again."""
        if self.results is not None and self.results.indexed < 1.0:
            self.run_query()

    # -- what the screen says --------------------------------------------------------------------

    def _show_status(self, text: Text) -> None:
        self.query_one("#search-status", Static).update(text)

    def _show_state(self, *, unavailable: bool = False) -> None:
        """The status lines and, when there are no hits, the panel that says why."""
        results, hits = self.results, self.hit_list.hits
        self.query_one("#search-filters", Static).update(self.filters.describe())
        self._show_status(self._status(results))
        note = self.query_one("#search-note", Static)
        if results is not None and results.indexed < 1.0:
            share = int(results.indexed * 100)
            note.update(f"search covers {share}% of messages while the index is built")
        else:
            note.update("")
        note.set_class(bool(results is not None and results.indexed < 1.0), "-shown")
        message = self.query_one("#search-message", Static)
        if self.error is not None:
            message.update(Text(self.error))
        elif results is not None and not hits:
            message.update(self._nothing(results))
        else:
            message.update("")
        message.set_class(self.error is not None and not unavailable, "-error")
        message.set_class(self.error is not None or (results is not None and not hits), "-shown")
        self.set_class(bool(hits), "-hits")
        self.refresh_bindings()

    def _status(self, results: Results | None) -> Text:
        line = Text()
        if results is None:
            return line
        count = len(self.hit_list.hits)
        more = "+" if self.next_cursor else ""
        line.append(f"{count:,}{more} hit{'s' if count != 1 or more else ''}", style="bold")
        if count:
            order = "best match first" if results.ranking == "bm25" else "newest first"
            line.append(f" · {order}")
        for note in results.notes:
            line.append(f"\n{note}", style="italic")
        return line

    def _nothing(self, results: Results) -> Text:
        text = Text()
        text.append(f"No message matches “{results.query}”.", style="bold")
        if self.filters.narrowed:
            text.append("\nThe filters above narrow the search: a p r t w change them.")
        if not self.filters.subagents:
            text.append("\nSub-agent threads are left out: s includes them.")
        return text

    # -- filters ----------------------------------------------------------------------------------

    def _refilter(self, filters: SearchFilters) -> None:
        self.filters = filters
        self.query_one("#search-filters", Static).update(filters.describe())
        if self.text:
            self.run_query()

    def action_cycle_agent(self) -> None:
        self._refilter(self.filters.next_agent(self.agents))

    def action_cycle_role(self) -> None:
        self._refilter(self.filters.next_role())

    def action_cycle_kind(self) -> None:
        self._refilter(self.filters.next_kind())

    def action_cycle_since(self) -> None:
        self._refilter(self.filters.next_since())

    def action_toggle_subagents(self) -> None:
        self._refilter(self.filters.flip_subagents())

    def action_pick_project(self) -> None:
        def chosen(project: str | None) -> None:
            if project != KEEP:
                self._refilter(replace(self.filters, project=project))

        self.app.push_screen(ProjectModal(self.filters.agent), chosen)

    # -- moving and opening -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        focused = self.focused
        if action == "focus_query":  # typing goes there already
            return not (focused is not None and focused.id == "search-query")
        if action == "focus_results":
            return bool(self.query(HitList) and self.hit_list.hits)
        return True

    def action_focus_query(self) -> None:
        self.query_one("#search-query", Input).focus()

    def action_focus_results(self) -> None:
        if self.hit_list.hits:
            self.hit_list.focus()

    def on_key(self, event: events.Key) -> None:
        # Up from the first hit goes back to the query, as in a browser's search box.
        if event.key == "up" and self.hit_list.has_focus and self.hit_list.highlighted == 0:
            self.action_focus_query()
            event.stop()

    @on(OptionList.OptionSelected, "#search-hits")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        hit = self.hit_list.hits[event.option_index]
        results = self.results
        if results is None:
            return
        find = Find.of_search(results.query, results.terms, results.fallback)
        self._open(hit, find)

    @work(thread=True, group="search-open", exit_on_error=False, description="Opening a session")
    def _open(self, hit: Hit, find: Find) -> None:
        session = pages.session(hit.session_id)
        self.app.call_from_thread(self._push_transcript, session, hit.seq, find)

    def _push_transcript(self, session: SessionRow, seq: int, find: Find) -> None:
        from tui.screens.transcript import TranscriptScreen

        self.app.push_screen(TranscriptScreen(session, at=seq, find=find))

    def on_resize(self) -> None:
        self.call_after_refresh(self.hit_list.redraw)

    def action_back(self) -> None:
        self.dismiss()
