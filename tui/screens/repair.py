"""The repair screen: run the store's checks, show each problem with its dry-run plan, and fix.

The checks run in a thread worker on mount (and on `r`); each problem is a row, and the row under
the cursor shows the plan steps that fix it, with their first rows ("before → after"). `a` asks,
takes an online backup, then runs the plan as resumable jobs in a worker whose progress feeds a
progress bar; `c` asks the job to stop between batches (it stays resumable), and when the jobs end
the checks run again, so the screen shows what is left.
"""

from __future__ import annotations

import threading
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Label, ProgressBar, Static
from textual.worker import get_current_worker

from store.findings import Problem, short_sessions
from store.plans import Plan, Step
from store.runner import JobStatus
from tui import formatting
from tui.messages import RepairChecked, RepairFinished, RepairProgressed
from tui.screens.base import ConvoScreen
from tui.screens.modals import ConfirmModal
from tui.widgets.banner import BackfillBanner
from tui.widgets.tables import ListTable, fit_column

PREVIEW_ROWS = 6
"""Rows of deletions and renumberings shown per plan step."""


class ProblemTable(ListTable):
    """The problems found by the checks, one row per kind."""


class RepairScreen(ConvoScreen):
    """What the checks find, what the repair would change, and the repair itself."""

    CSS_PATH = "repair.tcss"
    HELP_TITLE = "Repair"
    BINDINGS = [
        Binding("escape,q", "back", "Back", tooltip="Back to the previous screen"),
        Binding("r", "check", "Check", tooltip="Run the store's checks again"),
        Binding("a", "apply", "Apply", tooltip="Back up the store, then apply every fix"),
        Binding("c", "cancel", "Cancel", tooltip="Stop the repair after this batch (resumable)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.problems: dict[str, Problem] = {}
        self.plan: Plan = Plan()
        self.checking = False
        self.applying = False
        self._stop = threading.Event()

    def compose(self) -> ComposeResult:
        yield Header()
        yield BackfillBanner()
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
        self.action_check()

    def on_resize(self) -> None:
        self.call_after_refresh(fit_column, self.query_one(DataTable), "detail")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "apply":
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
        from store import checks, repair

        report = checks.run()
        if report.unusable is not None:
            plan = repair.plan_rebuild(report.unusable)
        else:
            plan = repair.plan(report.findings)
        self.post_message(RepairChecked(report, plan))

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
        summary = self.query_one("#repair-summary", Static)
        if report.unusable is not None:
            summary.update(f"The store cannot be read: {report.unusable} (run `convo repair`)")
        elif report.ok:
            summary.update("The store is healthy: the checks found no problems.")
        else:
            fix = "a apply every fix" if not self.plan.rebuild else "run `convo repair`"
            kinds = len(report.problems)
            summary.update(f"{kinds} kind{'s' if kinds != 1 else ''} of problem found · {fix}")
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
            steps.update("")
            return
        chosen = [s for s in self.plan.steps if problem.kind in s.kinds]
        if not chosen:
            steps.update(Text(f"{problem.kind}: no step of the plan changes this (a note)."))
            return
        text = Text()
        text.append(f"The fix for {problem.kind} (dry run: nothing is changed yet)\n", "bold")
        for n, step in enumerate(chosen, 1):
            text.append(f"{n}. [{step.action}] ", "bold")
            text.append(f"{step.summary}\n")
            for line in _preview(step):
                text.append(f"   · {line}\n", "dim")
        steps.update(text)

    # -- applying -------------------------------------------------------------------------------

    def action_apply(self) -> None:
        if self.applying or self.checking or self.plan.empty:
            return
        if self.plan.rebuild:
            self.notify(
                "This store needs a rebuild: run `convo repair` in a terminal.",
                title="Repair",
                severity="warning",
            )
            return
        rows = sum(len(s.deletes) + len(s.renumbers) for s in self.plan.steps)
        question = (
            f"Apply {len(self.plan.steps)} steps ({formatting.count(rows)} rows listed)? "
            "The store is backed up first; the repair can be stopped with c and resumed."
        )
        self.app.push_screen(ConfirmModal("Repair the store", question), self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if not yes or self.applying:
            return
        self.applying = True
        self._stop.clear()
        self.query_one("#repair-progress").display = True
        self.query_one("#repair-bar", ProgressBar).update(total=None, progress=0)
        self.query_one("#repair-rate", Label).update("Backing up the store…")
        self.query_one("#repair-summary", Static).update("Repairing…")
        self.refresh_bindings()
        self._apply(self.plan)

    @work(
        thread=True,
        exclusive=True,
        group="repair-apply",
        exit_on_error=False,
        description="Repairing the store",
    )
    def _apply(self, plan: Plan) -> None:
        from store import jobs, rebuild

        worker = get_current_worker()

        def stop() -> bool:
            # `c`, or the screen is gone (leaving it or quitting cancels its workers).
            return self._stop.is_set() or worker.is_cancelled

        def progressed(status: JobStatus) -> None:
            self.post_message(RepairProgressed(status))

        try:
            backup = rebuild.backup()
            results = jobs.apply(plan, progress=progressed, should_stop=stop)
        except BaseException:
            self.post_message(RepairFinished([], None))
            raise
        self.post_message(RepairFinished(results, backup))

    @on(RepairProgressed)
    def _progressed(self, event: RepairProgressed) -> None:
        if not self.applying:
            return
        st = event.status
        bar = self.query_one("#repair-bar", ProgressBar)
        bar.update(total=max(st.rows_total, 1), progress=st.rows_done)
        parts = [f"{st.name}: {st.rows_done:,}/{st.rows_total:,} rows"]
        if st.rate:
            parts.append(f"{st.rate:,} rows/s")
        if st.eta_s is not None:
            parts.append(f"ETA {_duration(st.eta_s)}")
        if self._stop.is_set():
            parts.append("stopping…")
        self.query_one("#repair-rate", Label).update(" · ".join(parts))

    def action_cancel(self) -> None:
        if self.applying and not self._stop.is_set():
            self._stop.set()
            self.query_one("#repair-rate", Label).update("Stopping after this batch…")
            self.notify("Stopping the repair after this batch; it can be resumed.")

    @on(RepairFinished)
    def _finished(self, event: RepairFinished) -> None:
        self.applying = False
        self.query_one("#repair-progress").display = False
        for st in event.results:
            if st.error:
                self.notify(
                    f"job #{st.id} {st.name}: {st.error}",
                    title="Repair",
                    severity="error",
                    markup=False,
                    timeout=10,
                )
        if any(st.status == "cancelled" for st in event.results):
            self.notify("Repair stopped: run it again to resume.", title="Repair", timeout=6)
        elif event.results:
            where = f" (backup: {event.backup.name})" if isinstance(event.backup, Path) else ""
            self.notify(f"Repair finished{where}.", title="Repair", markup=False, timeout=6)
        for screen in self.app.screen_stack:
            if isinstance(screen, ConvoScreen) and screen is not self:
                screen.store_changed()
        self.action_check()

    def action_back(self) -> None:
        if self.applying:
            self._stop.set()
            self.notify("Stopping the repair after this batch; it can be resumed.")
        self.dismiss()


def _cells(p: Problem) -> tuple[Text, ...]:
    return (
        Text(p.kind, style="bold"),
        Text(f"{p.count:,}", justify="right"),
        Text(short_sessions(p.sessions) if p.sessions else "-"),
        Text(formatting.one_line(p.detail, 200)),
    )


def _preview(step: Step) -> list[str]:
    lines = [f"delete {d.table} #{d.id}: {d.reason}" for d in step.deletes]
    lines += [f"session {c.session_id}: #{c.id} seq {c.old} → {c.new}" for c in step.renumbers]
    lines += [f"file {f}" for f in step.files]
    lines += [f"index {i}" for i in step.indexes]
    if len(lines) > PREVIEW_ROWS:
        return [*lines[:PREVIEW_ROWS], f"… and {len(lines) - PREVIEW_ROWS:,} more"]
    return lines


def _duration(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"
