"""The status banner: one line on every screen while work goes on in the background.

It mirrors three of the app's reactives: `backfill_status` (new log lines being read),
`index_status` (rows of an existing store being indexed for search) and `repair_status` (a repair
job that goes on after the user left the repair screen). Those running are shown side by side; the
banner is hidden when none is.
"""

from __future__ import annotations

from textual.widgets import Static


class StatusBanner(Static):
    """Mirrors the app's `backfill_status`, `index_status` and `repair_status`; hidden when all
    are empty."""

    DEFAULT_CSS = """
    StatusBanner {
        height: 1;
        padding: 0 1;
        background: $primary-muted;
        color: $text;
        display: none;
        &.-active { display: block; }
    }
    """

    def __init__(self, *, repair: bool = True) -> None:
        """
        Args:
            repair: show the repair job's progress too (the repair screen has its own bar).
        """
        super().__init__("", markup=False)
        self.repair = repair

    def on_mount(self) -> None:
        self.watch(self.app, "backfill_status", self._show, init=True)
        if hasattr(self.app, "index_status"):
            self.watch(self.app, "index_status", self._show, init=False)
        if self.repair:
            self.watch(self.app, "repair_status", self._show, init=False)

    def _show(self, _status: str = "") -> None:
        parts = [getattr(self.app, "backfill_status", ""), getattr(self.app, "index_status", "")]
        if self.repair:
            parts.append(getattr(self.app, "repair_status", ""))
        text = "  ·  ".join(p for p in parts if p)
        self.update(text)
        self.set_class(bool(text), "-active")
