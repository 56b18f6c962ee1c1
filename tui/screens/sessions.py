"""The sessions screen: every session, newest first, read by keyset pages as the cursor moves down.

Sub-agent threads are folded under the session that spawned them (the store's `top_level`
filter); unfolding reads a parent's children and slots them in under it. Filters (text as you
type, agent, project) and the sort start a new generation of the list: results of an older one
are dropped when they arrive.
"""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Input, Static

from store import pages, views
from store.pages import SessionCursor, SessionFilter
from store.records import SessionRow
from tui import formatting
from tui.messages import ChildrenLoaded, SessionsLoaded
from tui.screens.base import ConvoScreen
from tui.screens.modals import KEEP, ProjectModal
from tui.widgets.banner import StatusBanner
from tui.widgets.tables import ListTable, fit_column

FIRST_PAGE = 60
"""Sessions in the first page: a screenful and some (each row costs the table a measurement, and
the first frame waits for them)."""
PAGE = 200
"""Sessions read per keyset page after the first."""
MARGIN = 30
"""Rows before the end of the loaded list at which the next page is read."""
COLUMNS = (
    ("agent", "   Agent", 10),
    ("title", "Title", 40),
    ("project", "Project", 26),
    ("activity", " Activity", 9),
    ("msgs", "   Msgs", 7),
    ("branch", "Branch", 14),
)
"""(key, label, width) of the list's columns; the title takes whatever width is left."""


class Fold:
    """The first cell of a row: the fold marker and the agent, and the row's place in the list
    (the table sorts by it to slot sub-agent threads in under their parent)."""

    def __init__(self, order: tuple[int, int, int], marker: str, agent: str) -> None:
        self.order = order
        self.marker = marker
        self.agent = agent

    def folded(self, marker: str) -> Fold:
        return Fold(self.order, marker, self.agent)

    def __rich__(self) -> Text:
        return Text.assemble((f"{self.marker:<3}", "bold"), self.agent)


class SessionTable(ListTable):
    """The list itself: a DataTable whose Enter says what it does in the footer."""

    BINDINGS = [Binding("enter", "select_cursor", "Open", tooltip="Read the highlighted session")]


class SessionsScreen(ConvoScreen):
    """All sessions; Enter opens one."""

    CSS_PATH = "sessions.tcss"
    HELP_TITLE = "Sessions"
    AUTO_FOCUS = "#sessions-table"
    BINDINGS = [
        Binding(
            "slash", "focus_filter", "Filter", tooltip="Filter by title or project as you type"
        ),
        Binding("a", "cycle_agent", "Agent", tooltip="Show one agent's sessions (cycles)"),
        Binding("p", "pick_project", "Project", tooltip="Show one project's sessions"),
        Binding("s", "toggle_sort", "Sort", tooltip="Sort by last activity or by size"),
        Binding(
            "space,l",
            "unfold",
            "Sub-agents",
            tooltip="Show or hide the sub-agent threads a session spawned",
        ),
        Binding("h", "fold", "Fold", show=False, tooltip="Hide the sub-agent threads"),
        Binding("ctrl+r", "reload", "Reload", show=False, tooltip="Read the list again"),
        Binding("q", "app.quit", "Quit", show=False, tooltip="Quit convo"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = SessionFilter()
        self.generation = 0
        self.rows: dict[str, SessionRow] = {}
        self.expanded: set[int] = set()
        self.agents: list[str] = []
        self.has_more = False
        self.next_cursor: SessionCursor | None = None
        self._reading = False
        self._keep_key: str | None = None
        self._positions = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusBanner()
        yield Input(placeholder="Filter by title or project  ( / )", id="filter")
        yield Static("Reading sessions…", id="sessions-summary", markup=False)
        yield SessionTable(id="sessions-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Sessions"
        table = self.query_one(DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        self.call_after_refresh(self._fit_title)
        self.reload()

    # -- loading ----------------------------------------------------------------------------

    def reload(self, keep_key: str | None = None) -> None:
        """Read the first page of the current filter (keeping the cursor on `keep_key`)."""
        self.generation += 1
        self._reading = True
        self._keep_key = keep_key
        self._load(self.generation, self.filter, None)

    def store_changed(self) -> None:
        self.reload(self._highlighted_key())

    def action_reload(self) -> None:
        self.reload(self._highlighted_key())

    @work(thread=True, group="sessions-read", exit_on_error=False, description="Reading sessions")
    def _load(self, generation: int, flt: SessionFilter, after: SessionCursor | None) -> None:
        if after is None:  # the first page also says how many there are, and which agents
            rows = pages.sessions(limit=FIRST_PAGE, flt=flt)
            total, agents = pages.session_count(flt), views.agents()
            full = len(rows) == FIRST_PAGE
            self.post_message(SessionsLoaded(generation, rows, True, full, total, agents))
            return
        rows = pages.sessions(after=after, limit=PAGE, flt=flt)
        self.post_message(SessionsLoaded(generation, rows, False, len(rows) == PAGE))

    @on(SessionsLoaded)
    def _show_page(self, event: SessionsLoaded) -> None:
        if event.generation != self.generation:
            return
        self._reading = False
        table = self.query_one(DataTable)
        if event.reset:
            table.clear()
            self.rows.clear()
            self._positions = 0
            self.agents = event.agents
        self.has_more = event.has_more
        if event.rows:
            self.next_cursor = pages.cursor_of(event.rows[-1], self.filter.sort)
        for row in event.rows:
            self._add_row(table, row, (self._positions, 0, 0))
            self._positions += 1
        if event.total is not None:
            self._summarise(event.total)
        if event.reset and self._keep_key in self.rows:
            table.move_cursor(row=table.get_row_index(self._keep_key))
        if event.reset and table.row_count < self.size.height:
            self._read_more(table.row_count, table)  # a tall terminal: fill it at once

    def _add_row(
        self, table: DataTable[object], row: SessionRow, order: tuple[int, int, int]
    ) -> None:
        key = str(row.id)
        if key in self.rows:
            return
        self.rows[key] = row
        marker = " └" if order[1] else (f"▸{row.child_count}" if row.child_count else "")
        is_live = getattr(self.app, "is_live", None)
        cells = _cells(row, child=bool(order[1]), live=bool(is_live and is_live(row.id)))
        table.add_row(Fold(order, marker, row.agent), *cells, key=key)

    @on(DataTable.RowHighlighted, "#sessions-table")
    def _maybe_more(self, event: DataTable.RowHighlighted) -> None:
        self._read_more(event.cursor_row, event.data_table)

    def _read_more(self, cursor_row: int, table: DataTable[object]) -> None:
        """Read the next page when the cursor is within `MARGIN` rows of the end."""
        if self.has_more and not self._reading and cursor_row >= table.row_count - MARGIN:
            self._reading = True
            self._load(self.generation, self.filter, self.next_cursor)

    def _summarise(self, total: int) -> None:
        flt = self.filter
        if not total and flt == SessionFilter():
            text = (
                "No sessions yet. convo reads Claude Code and Codex logs from ~/.claude and "
                "~/.codex (`convo ingest PATH` for others); `convo demo` shows a demo."
            )
        else:
            parts = [
                f"{formatting.count(total)} session{'s' if total != 1 else ''}",
                f"agent: {flt.agent or 'all'}",
                f"project: {formatting.home_short(flt.project) if flt.project else 'all'}",
                "by last activity" if flt.sort == "updated" else "by size",
            ]
            if flt.text:
                parts.append(f"matching “{flt.text}”")
            text = " · ".join(parts)
        self.query_one("#sessions-summary", Static).update(text)

    # -- sub-agent threads --------------------------------------------------------------------

    def action_unfold(self) -> None:
        row = self._highlighted()
        if row is None or not row.child_count:
            return
        if row.id in self.expanded:
            self._fold(row)
        else:
            self.expanded.add(row.id)
            self._load_children(row.id)

    def action_fold(self) -> None:
        row = self._highlighted()
        if row is not None and row.parent_id is not None:
            parent = self.rows.get(str(row.parent_id))
            if parent is not None:
                self._fold(parent)
                table = self.query_one(DataTable)
                table.move_cursor(row=table.get_row_index(str(parent.id)))
        elif row is not None and row.id in self.expanded:
            self._fold(row)

    @work(
        thread=True,
        group="sessions-children",
        exit_on_error=False,
        description="Reading sub-agent threads",
    )
    def _load_children(self, parent_id: int) -> None:
        self.post_message(ChildrenLoaded(parent_id, pages.children(parent_id)))

    @on(ChildrenLoaded)
    def _unfold(self, event: ChildrenLoaded) -> None:
        table = self.query_one(DataTable)
        parent_key = str(event.parent_id)
        if parent_key not in self.rows or event.parent_id not in self.expanded:
            return
        fold: Fold = table.get_cell(parent_key, "agent")
        for i, child in enumerate(event.rows, 1):
            self._add_row(table, child, (fold.order[0], 1, i))
        table.update_cell(parent_key, "agent", fold.folded(f"▾{len(event.rows)}"))
        table.sort("agent", key=lambda cell: cell.order)

    def _fold(self, parent: SessionRow) -> None:
        table = self.query_one(DataTable)
        self.expanded.discard(parent.id)
        for key, row in list(self.rows.items()):
            if row.parent_id == parent.id:
                table.remove_row(key)
                del self.rows[key]
        fold: Fold = table.get_cell(str(parent.id), "agent")
        table.update_cell(str(parent.id), "agent", fold.folded(f"▸{parent.child_count}"))

    # -- filters ------------------------------------------------------------------------------

    def _refilter(self, **changes: object) -> None:
        self.filter = replace(self.filter, **changes)  # type: ignore[arg-type]
        self.expanded.clear()
        self.reload()

    @on(Input.Changed, "#filter")
    def _filter_text(self, event: Input.Changed) -> None:
        if event.value != self.filter.text:
            self._refilter(text=event.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def on_key(self, event: events.Key) -> None:
        filter_input = self.query_one("#filter", Input)
        if filter_input.has_focus and event.key in ("escape", "down"):
            if event.key == "escape" and filter_input.value:
                filter_input.value = ""
            else:
                self.query_one(DataTable).focus()
            event.stop()

    def action_cycle_agent(self) -> None:
        choices: list[str | None] = [None, *self.agents]
        at = choices.index(self.filter.agent) if self.filter.agent in choices else 0
        self._refilter(agent=choices[(at + 1) % len(choices)], project=None)

    def action_pick_project(self) -> None:
        def chosen(project: str | None) -> None:
            if project != KEEP:
                self._refilter(project=project)

        self.app.push_screen(ProjectModal(self.filter.agent), chosen)

    def action_toggle_sort(self) -> None:
        self._refilter(sort="size" if self.filter.sort == "updated" else "updated")

    # -- opening ------------------------------------------------------------------------------

    def _highlighted_key(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return key

    def _highlighted(self) -> SessionRow | None:
        key = self._highlighted_key()
        return self.rows.get(key) if key else None

    def action_open_session(self) -> None:
        row = self._highlighted()
        if row is not None:
            from tui.screens.transcript import TranscriptScreen

            self.app.push_screen(TranscriptScreen(row))

    @on(DataTable.RowSelected, "#sessions-table")
    def _selected(self) -> None:
        self.action_open_session()

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_title)

    def _fit_title(self) -> None:
        fit_column(self.query_one(DataTable), "title")


def _cells(row: SessionRow, *, child: bool, live: bool = False) -> tuple[Text, ...]:
    title = formatting.one_line(row.title or row.native_id, 300)
    title_text = Text(("  " if child else "") + title)
    if row.gone_since:
        title_text.append("  (log gone)", style="dim")
    return (
        title_text,
        Text(formatting.home_short(row.project), overflow="ellipsis"),
        Text(f"{'● live':>9}", style="bold green")
        if live
        else Text(f"{formatting.relative(row.updated_at):>9}"),
        Text(f"{formatting.count(row.message_count):>7}"),
        Text(row.git_branch or "", style="dim"),
    )
