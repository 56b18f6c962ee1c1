"""The backfill banner: one line on every screen while new log lines are read in the background."""

from __future__ import annotations

from textual.widgets import Static


class BackfillBanner(Static):
    """Mirrors the app's `backfill_status`; hidden when it is empty."""

    DEFAULT_CSS = """
    BackfillBanner {
        height: 1;
        padding: 0 1;
        background: $primary-muted;
        color: $text;
        display: none;
        &.-active { display: block; }
    }
    """

    def __init__(self) -> None:
        super().__init__("", markup=False)

    def on_mount(self) -> None:
        self.watch(self.app, "backfill_status", self._show, init=True)

    def _show(self, status: str) -> None:
        self.update(status)
        self.set_class(bool(status), "-active")
