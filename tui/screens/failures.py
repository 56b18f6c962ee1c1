"""The failures screen: commit failures and rejected log lines recorded by the store, newest first.

Read by keyset pages of failure ids (`pages.failures(before=...)`) as the cursor nears the end;
reloaded when the app hears of a new commit failure. Enter shows one record in full.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from store import pages
from store.records import FailureRow
from tui import formatting
from tui.messages import FailuresLoaded
from tui.screens.base import ConvoScreen
from tui.screens.modals import FailureModal
from tui.widgets.banner import StatusBanner
from tui.widgets.tables import ListTable, fit_column

PAGE = 200
"""Failures read per page."""
MARGIN = 40
"""Rows before the end of the loaded list at which the next page is read."""


class FailureTable(ListTable):
    """The failures list: a DataTable whose Enter says what it does in the footer."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Details", tooltip="Show the whole failure record")
    ]


class FailuresScreen(ConvoScreen):
    """Every recorded failure with its context: when, what, which session, where, and why."""

    CSS_PATH = "failures.tcss"
    HELP_TITLE = "Failures"
    BINDINGS = [
        Binding("escape,q", "back", "Back", tooltip="Back to the previous screen"),
        Binding("ctrl+r", "reload", "Reload", tooltip="Read the failures again"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0
        self.rows: dict[str, FailureRow] = {}
        self.has_more = False
        self._reading = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusBanner()
        yield Static("Reading failures…", id="failures-summary", markup=False)
        yield FailureTable(id="failures-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Failures"
        table = self.query_one(DataTable)
        for key, label, width in (
            ("when", "When", 9),
            ("kind", "Kind", 7),
            ("event", "Event", 16),
            ("session", "Session", 14),
            ("where", "Source:line", 34),
            ("error", "Error", 60),
        ):
            table.add_column(label, key=key, width=width)
        self.call_after_refresh(fit_column, table, "error")
        self.action_reload()

    def on_resize(self) -> None:
        self.call_after_refresh(fit_column, self.query_one(DataTable), "error")

    def action_reload(self) -> None:
        self.generation += 1
        self._reading = True
        self._load(self.generation, None)

    def store_changed(self) -> None:
        self.action_reload()

    @work(thread=True, group="failures-read", exit_on_error=False, description="Reading failures")
    def _load(self, generation: int, before: int | None) -> None:
        rows = pages.failures(before=before, limit=PAGE)
        total = pages.failure_count() if before is None else None
        self.post_message(
            FailuresLoaded(generation, rows, before is None, len(rows) == PAGE, total)
        )

    @on(FailuresLoaded)
    def _show_page(self, event: FailuresLoaded) -> None:
        if event.generation != self.generation:
            return
        self._reading = False
        table = self.query_one(DataTable)
        if event.reset:
            table.clear()
            self.rows.clear()
        self.has_more = event.has_more
        for row in event.rows:
            key = str(row.id)
            if key not in self.rows:
                self.rows[key] = row
                table.add_row(*_cells(row), key=key)
        if event.total is not None:
            summary = f"{formatting.count(event.total)} failures recorded, newest first"
            if not event.total:
                summary = "No failures recorded: every commit went through."
            self.query_one("#failures-summary", Static).update(summary)

    @on(DataTable.RowHighlighted)
    def _maybe_more(self, event: DataTable.RowHighlighted) -> None:
        table = event.data_table
        if self.has_more and not self._reading and event.cursor_row >= table.row_count - MARGIN:
            self._reading = True
            oldest = min(r.id for r in self.rows.values())
            self._load(self.generation, oldest)

    def action_show_failure(self) -> None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key in self.rows:
            self.app.push_screen(FailureModal(self.rows[key]))

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_show_failure()

    def action_back(self) -> None:
        self.dismiss()


def _cells(row: FailureRow) -> tuple[Text, ...]:
    where = f"{_tail(row.source_path or '-', 28)}:{row.line}" if row.source_path else "-"
    style = "bold" if row.kind == "commit" else ""
    return (
        Text(formatting.relative(row.at)),
        Text(row.kind, style=style),
        Text(row.event_type or "-"),
        Text(row.session_key or "-"),
        Text(where),
        Text(formatting.one_line(row.error, 120)),
    )


def _tail(path: str, width: int) -> str:
    return path if len(path) <= width else "…" + path[-(width - 1) :]
