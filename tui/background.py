"""The app's background work: the backfill of new log lines, live following, indexing for
search, and the repair.

Each runs in a thread worker on the app, so it outlives the screen it was started from: the
backfill and the follower run for the whole session, the `search_index` job indexes the rows an
existing store has not indexed yet (stopped after its batch on quit, resumed on the next start),
and a repair the user started on the repair screen goes on when the user leaves that screen.
Their progress reaches every screen through reactives (`backfill_status`, `index_status`,
`repair_status`) that `StatusBanner` mirrors; when new rows are committed, every `ConvoScreen` on
the stack is told to reload.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App
from textual.reactive import reactive
from textual.worker import get_current_worker

from store.db import reading
from tui import formatting
from tui.messages import (
    BackfillFinished,
    BackfillProgressed,
    IndexFinished,
    IndexProgressed,
    LiveIngested,
    RepairFinished,
    RepairProgressed,
)
from tui.screens.base import ConvoScreen

if TYPE_CHECKING:
    from store.repair.job_types import JobStatus
    from store.repair.plans import Plan
    from tui.screens.repair import RepairScreen
    from tui.screens.repair_host import RepairHost


class BackgroundWork(App[None]):
    """The app's long-running workers and their state; `ConvoApp` adds the screens and keys."""

    backfill_status: reactive[str] = reactive("")
    """The banner's text while the backfill runs; empty when it is not running."""
    repair_status: reactive[str] = reactive("")
    """The banner's text while a repair job runs; empty when none does."""
    index_status: reactive[str] = reactive("")
    """The banner's text while the search index is being filled; empty when it is not."""

    LIVE_SECONDS = 120.0
    """A session written to by the follower this recently shows as live in the list."""

    def __init__(self, *, backfill_roots: list[Path] | None = None) -> None:
        """
        Args:
            backfill_roots: log folders to backfill from in the background; None for no backfill.
        """
        super().__init__()
        self.backfill_roots = backfill_roots
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
        self.index_pacing: dict[str, Any] = {}
        """Keyword arguments for the `search_index` job's `jobs.run` (tests hold it)."""
        self._index_stop = threading.Event()
        self._index_idle = threading.Event()
        self._index_idle.set()

    def start_background(self) -> None:
        """On mount: start the backfill (then the follower) if there are roots to read."""
        if self.backfill_roots:
            self.backfill_status = "Checking agent logs for new lines…"
            self._backfill(list(self.backfill_roots))
        self.start_indexing()

    def stop_background(self) -> None:
        """On unmount: stop following, and stop indexing and a running repair after their
        batch (both resume next time)."""
        self._follow_stop.set()
        self._index_stop.set()
        self._index_idle.wait(timeout=5)
        if self.repairing:
            # Stop the job after its batch and let it record that (status `cancelled`, resumable)
            # while the store is still open; a batch holds the writer for ~10 ms.
            self.repair_interrupted = True
            self._repair_stop.set()
            self._repair_idle.wait(timeout=5)

    def _store_changed(self) -> None:
        """New rows were committed: every screen that shows store data reloads it."""
        for screen in self.screen_stack:
            if isinstance(screen, ConvoScreen):
                screen.store_changed()

    # -- live following -------------------------------------------------------------------------

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
        from store.ingest.follow import ingest_on_change, watch_roots
        from store.ingest.writing import IngestReport

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
            self._store_changed()

    # -- the backfill ---------------------------------------------------------------------------

    @work(
        thread=True,
        exclusive=True,
        group="backfill",
        exit_on_error=False,
        description="Reading new agent log lines",
    )
    def _backfill(self, roots: list[Path]) -> None:
        from store.ingest.driver import Ingester
        from store.ingest.writing import Progress

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
        self._store_changed()
        if self.backfill_roots and not self._follow_stop.is_set():
            self._follow(list(self.backfill_roots))

    # -- indexing for search --------------------------------------------------------------------

    def start_indexing(self) -> None:
        """Index the rows the full-text index lacks, if any, in the background (resumable)."""
        if self._index_idle.is_set() and not self._index_stop.is_set():
            self._index_idle.clear()
            self._index()

    @work(
        thread=True,
        exclusive=True,
        group="search-index",
        exit_on_error=False,
        description="Indexing messages for search",
    )
    def _index(self) -> None:
        from store.repair import jobs

        worker = get_current_worker()
        status: JobStatus | None = None
        try:
            job_id = _index_job()
            if job_id is not None:
                self.post_message(IndexProgressed(None))

                def stop() -> bool:
                    # A repair runs alone: the job stops after its batch and resumes after it.
                    return worker.is_cancelled or self._index_stop.is_set() or self.repairing

                def progressed(st: JobStatus) -> None:
                    self.post_message(IndexProgressed(st))

                status = jobs.run(
                    job_id,
                    progress=progressed,
                    should_stop=stop,
                    **self.index_pacing,
                )
        finally:
            self._index_idle.set()
            self.post_message(IndexFinished(status))

    @on(IndexProgressed)
    def _index_progressed(self, event: IndexProgressed) -> None:
        st = event.status
        if st is None:
            self.index_status = "Indexing for search…"
        else:
            self.index_status = f"Indexing for search: {st.rows_done:,}/{st.rows_total:,}"

    @on(IndexFinished)
    def _index_finished(self, event: IndexFinished) -> None:
        self.index_status = ""
        if event.status is not None and event.status.status == "done":
            from tui.screens.search import SearchScreen

            for screen in self.screen_stack:
                if isinstance(screen, SearchScreen):
                    screen.index_finished()
        elif event.status is not None and event.status.status == "failed":
            self.notify(
                f"Indexing for search failed: {event.status.error}",
                title="Search",
                severity="error",
                markup=False,
                timeout=10,
            )

    # -- the repair (the repair screen drives it through `RepairHost`) ----------------------------

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
        self._store_changed()
        for screen in self._repair_screens():
            screen.repair_ended()
        self.start_indexing()  # stopped for the repair (or emptied by it): go on


def _index_job() -> int | None:
    """The `search_index` job to run: a paused or interrupted one, else a new one; None when
    no row waits, the store has no index, or another process runs a job (it may be indexing)."""
    from store import textindex
    from store.repair import jobs

    with reading() as conn:
        if not textindex.present(conn) or not textindex.waiting_rows(conn):
            return None
    if jobs.elsewhere() is not None:
        return None
    troubled = jobs.troubled()
    left = [j for j in troubled.paused + troubled.dead if j.name == "search_index"]
    return left[-1].id if left else jobs.create("search_index", {"rebuild": False})


if TYPE_CHECKING:
    _implements: type[RepairHost] = BackgroundWork
    """mypy checks here that the app offers the repair screen what it needs."""
