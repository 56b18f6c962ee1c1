"""The status banner: one line on every screen while work goes on in the background.

It mirrors two of the app's reactives: `backfill_status` (new log lines being read) and
`repair_status` (a repair job that goes on after the user left the repair screen). Both are
shown, side by side, when both run; the banner is hidden when neither does.
"""

from __future__ import annotations

from textual.widgets import Static


class StatusBanner(Static):
    """Mirrors the app's `backfill_status` and `repair_status`; hidden when both are empty."""

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
        if self.repair:
            self.watch(self.app, "repair_status", self._show, init=False)

    def _show(self, _status: str = "") -> None:
        parts = [getattr(self.app, "backfill_status", "")]
        if self.repair:
            parts.append(getattr(self.app, "repair_status", ""))
        text = "  ·  ".join(p for p in parts if p)
        self.update(text)
        self.set_class(bool(text), "-active")
