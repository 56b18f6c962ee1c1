"""What every full screen shares: the header and banner, and turning worker failures into toasts."""

from __future__ import annotations

from textual.screen import Screen
from textual.worker import Worker

from tui.errors import report_worker_failure


class ConvoScreen(Screen[None]):
    """A full screen of the app. Its workers' failures become notifications or an error modal."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Worker.StateChanged does not bubble: each screen handles its own workers.
        report_worker_failure(self.app, event.worker)

    def store_changed(self) -> None:
        """New rows were committed; screens that show store data reload it."""
