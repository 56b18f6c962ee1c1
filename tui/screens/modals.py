"""Modal dialogs: one failure record in full, the project picker, and a yes/no question.

The unexpected-error dialog, `ErrorModal`, lives with the error handling that opens it
(`tui.errors`), below the screens.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from store import views
from store.records import FailureRow
from tui import formatting
from tui.errors import report_worker_failure


def failure_table(row: FailureRow) -> Table:
    """Every field of a failure record, as a two-column table (no markup is interpreted)."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    where = f"{row.source_path}:{row.line}" if row.source_path else "-"
    fields = [
        ("When", f"{formatting.date_time(row.at)} ({formatting.relative(row.at)})"),
        ("Kind", "commit failure" if row.kind == "commit" else "rejected line"),
        ("Event", row.event_type or "-"),
        ("Event id", row.event_id or "-"),
        ("Session", row.session_key or "-"),
        ("Source", where),
        ("Error", row.error),
        ("Detail", row.detail or "-"),
    ]
    for name, value in fields:
        table.add_row(name, Text(value))
    return table


class FailureModal(ModalScreen[None]):
    """One failure record with all of its context."""

    CSS_PATH = "modals.tcss"
    BINDINGS = [
        Binding("escape,enter", "dismiss", "Close", tooltip="Close this dialog"),
        Binding("c", "copy", "Copy", tooltip="Copy the record as JSON"),
    ]

    def __init__(self, row: FailureRow) -> None:
        super().__init__(classes="dialog")
        self.row = row

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box -error"):
            yield Label(f"Failure #{self.row.id}", classes="dialog-title")
            with VerticalScroll(classes="dialog-body"):
                yield Static(failure_table(self.row))
            yield Label("c copy · esc close", classes="dialog-hint")

    def action_copy(self) -> None:
        import json

        self.app.copy_to_clipboard(json.dumps(self.row.to_json(), indent=2))
        self.notify(f"Copied failure #{self.row.id}")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


ALL_PROJECTS = "\x00all"
"""The option id that clears the project filter."""
KEEP = "\x00keep"
"""What the project picker returns when cancelled: leave the filter as it is."""


class ProjectModal(ModalScreen[str | None]):
    """Pick the project to filter the session list by; type to narrow the list."""

    CSS_PATH = "modals.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel", tooltip="Keep the current filter")]

    def __init__(self, agent: str | None) -> None:
        super().__init__(classes="dialog")
        self.agent = agent
        self.projects: list[tuple[str, int]] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label("Filter by project", classes="dialog-title")
            yield Input(placeholder="type to narrow", id="project-filter")
            yield OptionList(id="project-list")
            yield Label("enter choose · esc cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).loading = True
        self._load()

    @work(
        thread=True,
        exclusive=True,
        group="projects-read",
        exit_on_error=False,
        description="Listing projects",
    )
    def _load(self) -> None:
        projects = views.projects(self.agent)
        self.app.call_from_thread(self._show, projects)

    def _show(self, projects: list[tuple[str, int]]) -> None:
        self.projects = projects
        self.query_one(OptionList).loading = False
        self._fill("")

    def _fill(self, text: str) -> None:
        options = [Option(Text("All projects", style="italic"), id=ALL_PROJECTS)]
        needle = text.lower()
        options += [
            Option(Text(f"{formatting.home_short(p)}  ({n})"), id=p)
            for p, n in self.projects
            if needle in p.lower()
        ]
        listing = self.query_one(OptionList)
        listing.set_options(options)
        listing.highlighted = 0

    @on(Input.Changed, "#project-filter")
    def _narrow(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#project-filter")
    def _choose_highlighted(self) -> None:
        listing = self.query_one(OptionList)
        if listing.highlighted is not None:
            self._choose(listing.get_option_at_index(listing.highlighted).id)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option.id)

    def _choose(self, option_id: str | None) -> None:
        self.dismiss(None if option_id in (None, ALL_PROJECTS) else option_id)

    def action_cancel(self) -> None:
        self.dismiss(KEEP)

    def on_key(self, event: events.Key) -> None:
        # The filter input keeps the focus; the arrows still move through the list.
        listing = self.query_one(OptionList)
        if event.key == "down":
            listing.action_cursor_down()
            event.stop()
        elif event.key == "up":
            listing.action_cursor_up()
            event.stop()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self.app, event.worker)


class ConfirmModal(ModalScreen[bool]):
    """A yes/no question before a change: `y` answers yes, `n` or Escape no. Enter answers
    nothing: it is the key that asked (Fix this), and a second press must not change the store."""

    CSS_PATH = "modals.tcss"
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", tooltip="Go ahead"),
        Binding("n,escape", "answer(False)", "No", tooltip="Change nothing"),
    ]

    def __init__(self, title: str, question: str) -> None:
        super().__init__(classes="dialog")
        self.title_text, self.question = title, question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Static(self.question, classes="dialog-header", markup=False)
            yield Label("y yes · n/esc no", classes="dialog-hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
