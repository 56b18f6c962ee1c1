"""The repair screen: run the store's checks, show each problem with its dry-run plan, and fix.

The checks run in a thread worker on mount (and on `r`); each problem is a row, and the row under
the cursor shows the plan steps that fix it, with their first rows ("before → after"). `a` asks,
then the app (not this screen) takes an online backup and runs the plan as resumable jobs, whose
progress feeds a progress bar here and the banner on every other screen: the user may leave this
screen while the job goes on. `c` asks the job to stop between batches (it stays resumable, and
the next check offers to resume it); when the jobs end the checks run again, so the screen shows
what is left.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Label, ProgressBar, Static
from textual.worker import get_current_worker

from store.repair.findings import Problem, short_sessions
from store.repair.plans import Plan, Step, many
from tui import formatting
from tui.messages import RepairChecked, RepairCheckProgressed
from tui.screens.base import ConvoScreen
from tui.screens.modals import ConfirmModal
from tui.screens.repair_host import RepairHost
from tui.widgets.banner import StatusBanner
from tui.widgets.tables import ListTable, fit_column

PREVIEW_ROWS = 6
"""Rows of deletions and renumberings shown per plan step."""


class ProblemTable(ListTable):
    """The problems found by the checks, one row per kind; enter fixes the highlighted one."""

    BINDINGS = [
        Binding(
            "enter",
            "select_cursor",
            "Fix this",
            tooltip="Back up the store, then fix the highlighted problem",
        ),
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "select_cursor":  # "Fix this" only when there is something to fix
            return bool(self.row_count) and bool(self.screen.check_action("fix", ()))
        return super().check_action(action, parameters)


class RepairScreen(ConvoScreen):
    """What the checks find, what the repair would change, and the repair itself."""

    CSS_PATH = "repair.tcss"
    HELP_TITLE = "Repair"
    BINDINGS = [
        Binding("escape,q", "back", "Back", tooltip="Back to the previous screen"),
        Binding("r", "check", "Check", tooltip="Run the store's checks again"),
        Binding("a", "apply", "Fix all", tooltip="Back up the store, then apply every fix"),
        Binding("c", "cancel", "Cancel", tooltip="Stop the repair after this batch (resumable)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.problems: dict[str, Problem] = {}
        self.plan: Plan = Plan()
        self.checking = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield StatusBanner(repair=False)
        yield Static("Checking…", id="repair-summary", markup=False)
        yield ProblemTable(id="repair-table", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="repair-progress"):
            yield ProgressBar(id="repair-bar", show_eta=False)
            yield Label("", id="repair-rate", markup=False)
        with VerticalScroll(id="repair-plan"):
            yield Static("", id="repair-steps", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Repair"
        table = self.query_one(DataTable)
        for key, label, width in (
            ("kind", "Kind", 18),
            ("count", "Count", 8),
            ("sessions", "Sessions", 24),
            ("detail", "Detail", 60),
        ):
            table.add_column(label, key=key, width=width)
        self.query_one("#repair-progress").display = False
        self.call_after_refresh(fit_column, table, "detail")
        if self.applying:  # opened again while the repair runs: watch it
            self.show_progress()
        else:
            self.action_check()

    def on_resize(self) -> None:
        self.call_after_refresh(fit_column, self.query_one(DataTable), "detail")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("apply", "fix"):
            return not self.applying and not self.checking and not self.plan.empty
        if action == "cancel":
            return self.applying
        if action == "check":
            return not self.applying
        return True

    # -- the checks -----------------------------------------------------------------------------

    def action_check(self) -> None:
        if self.applying:
            return
        self.checking = True
        self.refresh_bindings()
        self.query_one("#repair-summary", Static).update("Checking…")
        self._check()

    @work(
        thread=True,
        exclusive=True,
        group="repair-check",
        exit_on_error=False,
        description="Checking the store",
    )
    def _check(self) -> None:
        from store.repair import checks, planner

        worker = get_current_worker()

        def progressed(step: str, done: int, total: int) -> None:
            self.post_message(RepairCheckProgressed(step, done, total))

        try:
            # Leaving the screen cancels this worker: the check stops between its steps.
            report = checks.run(progress=progressed, should_stop=lambda: worker.is_cancelled)
        except checks.Cancelled:
            return
        if report.unusable is not None:
            plan = planner.plan_rebuild(report.unusable)
        else:
            plan = planner.plan(report.findings)
        self.post_message(RepairChecked(report, plan))

    @on(RepairCheckProgressed)
    def _check_progressed(self, event: RepairCheckProgressed) -> None:
        if self.checking:
            self.query_one("#repair-summary", Static).update(
                f"Checking {COVERED.get(event.step, (event.step,))[0]}… "
                f"({event.done + 1}/{event.total})"
            )

    @on(RepairChecked)
    def _checked(self, event: RepairChecked) -> None:
        self.checking = False
        report = event.report
        self.plan = event.plan
        table = self.query_one(DataTable)
        table.clear()
        self.problems.clear()
        for problem in report.problems:
            self.problems[problem.kind] = problem
            table.add_row(*_cells(problem), key=problem.kind)
        for note in report.notes:  # worth knowing, nothing to fix: listed after the problems
            self.problems[note.kind] = note
            table.add_row(*_cells(note, note=True), key=note.kind)
        summary = self.query_one("#repair-summary", Static)
        notes = len(report.notes)
        noted = f" ({notes} note{'s' if notes != 1 else ''} below)" if notes else ""
        if report.unusable is not None:
            summary.update(f"The store cannot be read: {report.unusable} (run `convo repair`)")
        elif report.ok:
            summary.update(f"The store is healthy: the checks found no problems{noted}.")
        else:
            fix = (
                "enter fixes the highlighted one, a fixes all"
                if not self.plan.rebuild
                else "run `convo repair`"
            )
            kinds = len(report.problems)
            summary.update(
                f"{kinds} kind{'s' if kinds != 1 else ''} of problem found{noted} · {fix}"
            )
        self._show_plan(self._highlighted())
        self.refresh_bindings()

    def _highlighted(self) -> Problem | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.problems.get(key or "")

    @on(DataTable.RowHighlighted)
    def _highlight(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        self._show_plan(self.problems.get(key or ""))

    def _show_plan(self, problem: Problem | None) -> None:
        steps = self.query_one("#repair-steps", Static)
        if problem is None:
            steps.update(_covered() if not self.checking and not self.problems else "")
            return
        chosen = [s for s in self.plan.steps if problem.kind in s.kinds]
        if not chosen:
            text = Text(f"{problem.kind}", "bold")
            text.append(": a note, nothing to fix.\n")
            text.append(problem.detail, "dim")
            steps.update(text)
            return
        text = Text()
        text.append(f"{problem.kind}: ", "bold")
        text.append(f"{problem.detail}\n\n", "dim")
        text.append("The fix (dry run: nothing is changed yet)\n", "bold")
        for n, step in enumerate(chosen, 1):
            text.append(f"{n}. [{step.action}] ", "bold")
            text.append(f"{step.summary}\n")
            for line in _preview(step):
                text.append(f"   · {line}\n", "dim")
        steps.update(text)

    # -- applying (the job itself runs on the app: see `RepairHost`) -----------------------------

    def _host(self) -> RepairHost | None:
        """The app that runs repairs (None under another app)."""
        return self.app if isinstance(self.app, RepairHost) else None

    @property
    def applying(self) -> bool:
        host = self._host()
        return host is not None and host.repairing

    def action_apply(self) -> None:
        """`a`: every fix of the plan."""
        n = len(self.plan.steps)
        self._ask(
            self.plan, "Repair the store", "Apply the 1 step" if n == 1 else f"Apply all {n} steps"
        )

    def action_fix(self) -> None:
        """`enter`: the fix for the highlighted problem, with the steps the plan puts before it."""
        problem = self._highlighted()
        if problem is None or self.applying or self.checking:
            return
        part = self.plan.through(problem.kind)
        if part.empty:
            self.notify(
                f"{problem.kind} is a note: there is nothing to fix.", title="Repair", markup=False
            )
            return
        mine = sum(problem.kind in s.kinds for s in part.steps)
        earlier = len(part.steps) - mine
        what = f"Apply the {mine} step{'s' if mine != 1 else ''} that fix {problem.kind}"
        if earlier:
            what += f" and the {earlier} step{'s' if earlier != 1 else ''} the plan runs first"
        self._ask(part, f"Fix {problem.kind}", what)

    def _ask(self, plan: Plan, title: str, what: str) -> None:
        if self.applying or self.checking or plan.empty:
            return
        if plan.rebuild:
            self.notify(
                "This store needs a rebuild: run `convo repair` in a terminal.",
                title="Repair",
                severity="warning",
            )
            return
        rows = sum(len(s.deletes) + len(s.renumbers) for s in plan.steps)
        steps = ", ".join(dict.fromkeys(s.action for s in plan.steps))
        question = (
            f"{what} ({steps}; {many(rows, 'row')} listed)? "
            "The store is backed up first. The repair goes on if you leave this screen; "
            "c stops it after a batch, and it can be resumed."
        )
        self.app.push_screen(ConfirmModal(title, question), lambda yes: self._confirmed(plan, yes))

    def _confirmed(self, plan: Plan, yes: bool | None) -> None:
        if not yes or self.applying:
            return
        host = self._host()
        if host is not None and host.start_repair(plan):
            self.show_progress()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_fix()

    def show_progress(self) -> None:
        """Show the app's running repair: the bar, and its rows, rate and ETA (or the backup)."""
        app = self._host()
        if app is None or not app.repairing:
            return
        self.query_one("#repair-progress").display = True
        self.query_one("#repair-summary", Static).update(
            "Repairing… the checks run again when it ends (esc leaves it running)."
        )
        bar = self.query_one("#repair-bar", ProgressBar)
        rate = self.query_one("#repair-rate", Label)
        st = app.repair_job
        if st is None:
            bar.update(total=None, progress=0)
            rate.update("Backing up the store…")
        else:
            bar.update(total=max(st.rows_total, 1), progress=st.rows_done)
            rate.update(formatting.job_progress(st, stopping=app.repair_stopping))
        self.refresh_bindings()

    def repair_ended(self) -> None:
        """The app's repair is over: hide the bar and check again, to show what is left."""
        self.query_one("#repair-progress").display = False
        self.refresh_bindings()
        self.action_check()

    def action_cancel(self) -> None:
        host = self._host()
        if host is not None and host.stop_repair():
            self.show_progress()
            self.notify("Stopping the repair after this batch; it can be resumed.")

    def action_back(self) -> None:
        if self.applying:
            self.notify(
                "The repair goes on in the background; the banner shows its progress. "
                "R comes back here (c stops it).",
                title="Repair",
                timeout=6,
            )
        self.dismiss()


def _cells(p: Problem, *, note: bool = False) -> tuple[Text, ...]:
    dim = "dim" if note else ""
    return (
        Text(f"{p.kind} (note)" if note else p.kind, style="dim italic" if note else "bold"),
        Text(f"{p.count:,}", justify="right", style=dim),
        Text(short_sessions(p.sessions) if p.sessions else "-", style=dim),
        Text(formatting.one_line(p.detail, 200), style=dim),
    )


COVERED = {
    "pages": ("the file's pages", "PRAGMA quick_check"),
    "indexes": (
        "every index against its table",
        "a fingerprint of each, the table read NOT INDEXED",
    ),
    "sequences": ("sequences", "seq values that are zero, repeated, out of order, or with gaps"),
    "duplicates": ("duplicate rows", "two messages with one (session, stable id)"),
    "orphans": ("orphans", "parts whose message is gone, messages whose session is gone"),
    "counts": ("message counts", "each session's stored count against its rows"),
    "logs": ("the logs on disk", "files never ingested, grown, shrunk or gone"),
    "jobs": ("repair jobs", "interrupted, stopped or failed"),
    "search": ("the search index", "there, every message in it, sound by FTS5's own check"),
}
"""What each step of `store.repair.checks` looks at (by step name): the summary names the running
step, the healthy screen lists them all."""


def _covered() -> Text:
    text = Text("What the checks looked at\n", "bold")
    for what, how in COVERED.values():
        text.append("  ✓ ", "green")
        text.append(what)
        text.append(f": {how}\n", "dim")
    return text


def _preview(step: Step) -> list[str]:
    lines = [f"delete {d.table} #{d.id}: {d.reason}" for d in step.deletes]
    lines += [f"session {c.session_id}: #{c.id} seq {c.old} → {c.new}" for c in step.renumbers]
    lines += [f"file {f}" for f in step.files]
    lines += [f"index {i}" for i in step.indexes]
    if len(lines) > PREVIEW_ROWS:
        return [*lines[:PREVIEW_ROWS], f"… and {len(lines) - PREVIEW_ROWS:,} more"]
    return lines
