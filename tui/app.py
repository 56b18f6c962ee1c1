"""The Textual app: screens, app-wide keys, the background backfill, and commit-failure toasts.

The app opens at once on what the store has. The drift check and incremental backfill of new
log lines run in a thread worker (the `Ingester`) with a banner on every screen. A repair the
user starts on the repair screen runs here too, on the app, so it goes on when the user leaves
that screen, with its progress in the same banner until it ends; each commit
failure the funnel records becomes a notification and a failures-screen row, and the backfill
goes on. No traceback reaches the terminal: failures go to the log file and to the user as one
line.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, get_current_worker

from store import funnel, logs
from store.db import reading
from store.records import FailureRow
from tui import formatting
from tui.errors import QuietCrashes, report_worker_failure
from tui.messages import (
    BackfillFinished,
    BackfillProgressed,
    CommitFailed,
    LiveIngested,
    RepairFinished,
    RepairProgressed,
)
from tui.screens.base import ConvoScreen
from tui.screens.help import binding_commands
from tui.screens.sessions import SessionsScreen

if TYPE_CHECKING:
    from store.repair.job_types import JobStatus
    from store.repair.plans import Plan
    from tui.screens.repair import RepairScreen

log = logs.get("tui")


class ConvoApp(QuietCrashes, App[None]):
    """Browse every session and read any transcript from the keyboard."""

    CSS_PATH = "app.tcss"
    TITLE = "convo"
    BINDINGS = [
        Binding("f", "show_failures", "Failures", tooltip="Commit failures and rejected lines"),
        Binding("R", "show_repair", "Repair", tooltip="Check the store and repair what is damaged"),
        Binding("question_mark", "show_help", "Help", tooltip="The keys of this screen"),
    ]

    backfill_status: reactive[str] = reactive("")
    """The banner's text while the backfill runs; empty when it is not running."""
    repair_status: reactive[str] = reactive("")
    """The banner's text while a repair job runs; empty when none does."""

    def __init__(
        self,
        *,
        backfill_roots: list[Path] | None = None,
        notice: str | None = None,
        export_dir: Path | None = None,
    ) -> None:
        """
        Args:
            backfill_roots: log folders to backfill from in the background; None for no backfill.
            notice: a notification shown on start (e.g. that the demo corpus is open).
            export_dir: where `e` writes Markdown exports (default: $CONVO_EXPORT_DIR or cwd).
        """
        super().__init__()
        self.backfill_roots = backfill_roots
        self.notice = notice
        self.export_dir = export_dir
        self._unsubscribe: Callable[[], None] = lambda: None
        self._follow_stop = threading.Event()
        self.live_sessions: dict[int, float] = {}
        """Session id -> when the live follower last stored lines of it (monotonic)."""
        self.repairing = False
        """A repair (backup, then jobs) is running in the `repair` worker."""
        self.repair_job: JobStatus | None = None
        """The running repair job's latest progress (None before its first batch)."""
        self.repair_pacing: dict[str, Any] = {}
        """Keyword arguments for `jobs.apply` (batch_rows, pause_s, batch_s); empty for the
        measured defaults of store.repair.runner."""
        self.repair_interrupted = False
        """The app closed while a repair ran: it was stopped after its batch (resumable)."""
        self._repair_stop = threading.Event()
        self._repair_idle = threading.Event()
        self._repair_idle.set()
        theme = os.environ.get("CONVO_THEME")
        if theme and theme in self.available_themes:
            self.theme = theme

    def get_default_screen(self) -> Screen[None]:
        return SessionsScreen()

    def on_mount(self) -> None:
        self._unsubscribe = funnel.subscribe(self._heard_failure)
        if self.notice:
            self.notify(self.notice, title="convo", markup=False, timeout=12)
        if self.backfill_roots:
            self.backfill_status = "Checking agent logs for new lines…"
            self._backfill(list(self.backfill_roots))

    def on_unmount(self) -> None:
        self._unsubscribe()
        self._follow_stop.set()
        if self.repairing:
            # Stop the job after its batch and let it record that (status `cancelled`, resumable)
            # while the store is still open; a batch holds the writer for ~10 ms.
            self.repair_interrupted = True
            self._repair_stop.set()
            self._repair_idle.wait(timeout=5)

    # -- live following -------------------------------------------------------------------------

    LIVE_SECONDS = 120.0
    """A session written to by the follower this recently shows as live in the list."""

    def is_live(self, session_id: int) -> bool:
        seen = self.live_sessions.get(session_id)
        return seen is not None and time.monotonic() - seen < self.LIVE_SECONDS

    @work(
        thread=True,
        exclusive=True,
        group="follow",
        exit_on_error=False,
        description="Following agent logs",
    )
    def _follow(self, roots: list[Path]) -> None:
        # watchfiles blocks on the OS's change notifications (no polling loop): an idle app
        # wakes once a second to check the stop event, nothing more.
        from store.ingest.driver import IngestReport
        from store.ingest.follow import ingest_on_change, watch_roots

        def stored(report: IngestReport) -> None:
            self.post_message(LiveIngested(report))

        worker = get_current_worker()

        class Stop:
            """Set when the app stops following or Textual cancels the worker (on exit)."""

            @staticmethod
            def is_set() -> bool:
                return worker.is_cancelled or self._follow_stop.is_set()

        watch_roots(roots, Stop(), ingest_on_change(stored))

    @on(LiveIngested)
    def _live_ingested(self, event: LiveIngested) -> None:
        report = event.report
        now = time.monotonic()
        for session_id in report.sessions:
            self.live_sessions[session_id] = now
        if report.messages_added or report.messages_updated or report.files_gone:
            for screen in self.screen_stack:
                if isinstance(screen, ConvoScreen):
                    screen.store_changed()

    # -- the backfill ---------------------------------------------------------------------------

    @work(
        thread=True,
        exclusive=True,
        group="backfill",
        exit_on_error=False,
        description="Reading new agent log lines",
    )
    def _backfill(self, roots: list[Path]) -> None:
        from store.ingest.driver import Ingester, Progress

        worker = get_current_worker()
        added = 0

        def progressed(p: Progress) -> None:
            nonlocal added
            added += p.messages_added
            self.post_message(BackfillProgressed(p.done, p.total, added))

        ingester = Ingester(progress=progressed, should_stop=lambda: worker.is_cancelled)
        with reading():
            report = ingester.run(roots)
        self.post_message(BackfillFinished(report))

    @on(BackfillProgressed)
    def _backfill_progressed(self, event: BackfillProgressed) -> None:
        self.backfill_status = (
            f"Backfill: {event.done:,}/{event.total:,} log files · "
            f"{event.messages_added:,} new messages"
        )

    @on(BackfillFinished)
    def _backfill_finished(self, event: BackfillFinished) -> None:
        self.backfill_status = ""
        report = event.report
        if report is None:
            return
        if report.messages_added:
            self.notify(f"Backfill added {report.messages_added:,} messages.", timeout=4)
        for error in report.errors[:3]:
            self.notify(error, title="Backfill", severity="warning", markup=False, timeout=8)
        for screen in self.screen_stack:
            if isinstance(screen, ConvoScreen):
                screen.store_changed()
        if self.backfill_roots and not self._follow_stop.is_set():
            self._follow(list(self.backfill_roots))

    # -- the repair ---------------------------------------------------------------------------

    @property
    def repair_stopping(self) -> bool:
        """The user asked the running repair to stop after its current batch."""
        return self.repairing and self._repair_stop.is_set()

    def start_repair(self, plan: Plan) -> bool:
        """Back up the store, then run `plan` as jobs in a worker; False if a repair runs."""
        if self.repairing:
            return False
        self.repairing = True
        self.repair_job = None
        self._repair_stop.clear()
        self._repair_idle.clear()
        self.repair_status = "Repair: backing up the store…"
        self._repair(plan)
        return True

    def stop_repair(self) -> bool:
        """Ask the running repair to stop after its current batch (it stays resumable)."""
        if not self.repairing or self._repair_stop.is_set():
            return False
        self._repair_stop.set()
        self.repair_status = "Repair: stopping after this batch…"
        return True

    @work(
        thread=True,
        exclusive=True,
        group="repair",
        exit_on_error=False,
        description="Repairing the store",
    )
    def _repair(self, plan: Plan) -> None:
        from store.repair import jobs, rebuild

        worker = get_current_worker()

        def stop() -> bool:
            return self._repair_stop.is_set() or worker.is_cancelled

        def progressed(status: JobStatus) -> None:
            self.post_message(RepairProgressed(status))

        try:
            jobs.ensure_alone()  # before the backup: a refused repair leaves nothing behind
            backup = rebuild.backup()
            results = jobs.apply(plan, progress=progressed, should_stop=stop, **self.repair_pacing)
        except BaseException:
            self.post_message(RepairFinished([], None, failed=True))
            raise
        finally:
            self._repair_idle.set()
        self.post_message(RepairFinished(results, backup))

    def _repair_screens(self) -> list[RepairScreen]:
        from tui.screens.repair import RepairScreen

        return [s for s in self.screen_stack if isinstance(s, RepairScreen)]

    @on(RepairProgressed)
    def _repair_progressed(self, event: RepairProgressed) -> None:
        if not self.repairing:
            return
        self.repair_job = event.status
        line = formatting.job_progress(event.status, stopping=self.repair_stopping)
        self.repair_status = f"Repair: {line} · R to watch"
        for screen in self._repair_screens():
            screen.show_progress()

    @on(RepairFinished)
    def _repair_finished(self, event: RepairFinished) -> None:
        self.repairing = False
        self.repair_job = None
        self.repair_status = ""
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
            self.notify(
                "Repair stopped: the next check offers to resume it.", title="Repair", timeout=6
            )
        elif not event.failed:
            where = f" (backup: {event.backup.name})" if event.backup is not None else ""
            self.notify(f"Repair finished{where}.", title="Repair", markup=False, timeout=6)
        for screen in self.screen_stack:
            if isinstance(screen, ConvoScreen):
                screen.store_changed()
        for screen in self._repair_screens():
            screen.repair_ended()

    def _heard_failure(self, row: FailureRow) -> None:
        # Called on the writing thread by the funnel; post_message is thread-safe.
        self.post_message(CommitFailed(row))

    @on(CommitFailed)
    def _commit_failed(self, event: CommitFailed) -> None:
        row = event.row
        where = f"{row.source_path}:{row.line}" if row.source_path else "-"
        self.notify(
            f"{row.error}\n{row.event_type or '-'} at {where}",
            title="Commit failed",
            severity="error",
            markup=False,
            timeout=10,
        )
        from tui.screens.failures import FailuresScreen

        for screen in self.screen_stack:
            if isinstance(screen, FailuresScreen):
                screen.store_changed()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event.worker)

    # -- screens and commands ------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show_repair":  # no "Repair" key in the footer of the repair screen itself
            from tui.screens.repair import RepairScreen

            return not isinstance(self.screen, RepairScreen)
        return True

    def action_show_failures(self) -> None:
        from tui.screens.failures import FailuresScreen

        if not isinstance(self.screen, FailuresScreen):
            self.push_screen(FailuresScreen())

    def action_show_repair(self) -> None:
        from tui.screens.repair import RepairScreen

        if not isinstance(self.screen, RepairScreen):
            self.push_screen(RepairScreen())

    def action_show_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_show_sessions(self) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Sessions", "Go to the session list", self.action_show_sessions)
        yield SystemCommand(
            "Failures", "Commit failures and rejected lines", self.action_show_failures
        )
        yield SystemCommand(
            "Repair", "Check the store and repair what is damaged", self.action_show_repair
        )
        yield SystemCommand("Help", "List the keys of this screen", self.action_show_help)
        yield from binding_commands(self, screen)


def run_app(
    *, backfill: bool = True, demo_if_empty: bool = False, notice: str | None = None
) -> int:
    """Run the app on the open store; returns the exit code.

    Args:
        backfill: read new log lines from the agents' default folders in the background.
        demo_if_empty: open the demo corpus if the store is empty and no agent logs exist.
        notice: a notification to show on start.
    """
    from store import views
    from store.ingest.driver import default_roots, discover

    roots = default_roots()
    # A fresh machine may have an agent's folder with nothing in it yet: look for log files,
    # and only when the store is empty (the walk is skipped on every later start).
    if demo_if_empty and views.is_empty() and next(iter(discover(roots)), None) is None:
        from tui import demo

        demo.open_demo_store()
        notice = "No agent logs found on this machine: showing the generated demo corpus."
        backfill = False
    app = ConvoApp(backfill_roots=roots if backfill else None, notice=notice)
    app.run()
    if app.repair_interrupted:
        print(
            "convo: the repair stopped when the app closed; "
            "`convo repair` (or R in the app) resumes it.",
            file=sys.stderr,
        )
    return app.return_code or 0
