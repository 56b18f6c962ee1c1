"""What the repair screen needs of the app that runs repairs, as a protocol the app implements.

The repair runs on the app (`tui.background.BackgroundWork`), not on the screen, so it goes on
when the user leaves the screen. The screen starts and stops it and shows its progress through
`RepairHost`, and never imports the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from store.repair.job_types import JobStatus
    from store.repair.plans import Plan


@runtime_checkable
class RepairHost(Protocol):
    """The app that runs repairs: `isinstance(app, RepairHost)` is False under any other app."""

    repairing: bool
    """A repair is running."""
    repair_job: JobStatus | None
    """The running repair job's latest progress (None before its first batch)."""

    @property
    def repair_stopping(self) -> bool:
        """The user asked the running repair to stop after its current batch."""
        ...

    def start_repair(self, plan: Plan) -> bool:
        """Back up the store, then run `plan` as jobs; False if a repair already runs."""
        ...

    def stop_repair(self) -> bool:
        """Ask the running repair to stop after its current batch."""
        ...
