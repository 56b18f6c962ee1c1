"""The Textual app: screens, app-wide keys, the command palette, and commit-failure toasts.

The app opens at once on what the store has. Its background work (the drift check and
incremental backfill of new log lines, live following, indexing an existing store for search, and
a repair the user started on the repair screen) lives in `BackgroundWork`, with a banner on every
screen; each commit failure the funnel records becomes a notification and a failures-screen row,
and the backfill goes on. No traceback reaches the terminal: failures go to the log file and to the
user as one line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from textual import on
from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker

from store import funnel, logs
from store.records import FailureRow
from tui.background import BackgroundWork
from tui.errors import QuietCrashes, report_worker_failure
from tui.messages import CommitFailed, WaitingForRepair
from tui.screens.help import binding_commands
from tui.screens.sessions import SessionsScreen

log = logs.get("tui")


class ConvoApp(QuietCrashes, BackgroundWork):
    """Browse every session and read any transcript from the keyboard."""

    CSS_PATH = "app.tcss"
    TITLE = "convo"
    BINDINGS = [
        Binding("f", "show_failures", "Failures", tooltip="Commit failures and rejected lines"),
        Binding("R", "show_repair", "Repair", tooltip="Check the store and repair what is damaged"),
        Binding("S", "show_search", "Search", tooltip="Search every message of every session"),
        Binding("question_mark", "show_help", "Help", tooltip="The keys of this screen"),
    ]

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
        super().__init__(backfill_roots=backfill_roots)
        self.notice = notice
        self.export_dir = export_dir
        self._unsubscribe: Callable[[], None] = lambda: None
        self._unwait: Callable[[], None] = lambda: None
        theme = os.environ.get("CONVO_THEME")
        if theme and theme in self.available_themes:
            self.theme = theme

    def get_default_screen(self) -> Screen[None]:
        return SessionsScreen()

    def on_mount(self) -> None:
        funnel.give_up_waiting(False)
        self._unsubscribe = funnel.subscribe(self._heard_failure)
        self._unwait = funnel.on_wait(self._heard_wait)
        if self.notice:
            self.notify(self.notice, title="convo", markup=False, timeout=12)
        self.start_background()

    def on_unmount(self) -> None:
        funnel.give_up_waiting()  # a write waiting for a repair's lease must not hold up quitting
        self._unsubscribe()
        self._unwait()
        self.stop_background()

    # -- commit failures ------------------------------------------------------------------------

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

    def _heard_wait(self, reason: str) -> None:
        # Called on the writing thread by the funnel, once per wait.
        self.post_message(WaitingForRepair(reason))

    @on(WaitingForRepair)
    def _waiting_for_repair(self, event: WaitingForRepair) -> None:
        self.notify(f"waiting: {event.reason}", title="New lines wait", markup=False, timeout=10)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event.worker)

    # -- screens and commands ------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show_repair":  # no "Repair" key in the footer of the repair screen itself
            from tui.screens.repair import RepairScreen

            return not isinstance(self.screen, RepairScreen)
        if action == "show_search":  # nor "Search" on the search screen (`/` goes to its query)
            from tui.screens.search import SearchScreen

            return not isinstance(self.screen, SearchScreen)
        return True

    def action_show_failures(self) -> None:
        from tui.screens.failures import FailuresScreen

        if not isinstance(self.screen, FailuresScreen):
            self.push_screen(FailuresScreen())

    def action_show_repair(self) -> None:
        from tui.screens.repair import RepairScreen

        if not isinstance(self.screen, RepairScreen):
            self.push_screen(RepairScreen())

    def action_show_search(self) -> None:
        from tui.screens.search import SearchScreen

        # Back to the search already open (from a hit it opened), else a new one on top.
        if any(isinstance(s, SearchScreen) for s in self.screen_stack):
            while not isinstance(self.screen, SearchScreen):
                self.pop_screen()
            self.screen.action_focus_query()
        else:
            self.push_screen(SearchScreen())

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
        yield SystemCommand(
            "Search", "Search every message of every session", self.action_show_search
        )
        yield SystemCommand("Help", "List the keys of this screen", self.action_show_help)
        yield from binding_commands(self, screen)
