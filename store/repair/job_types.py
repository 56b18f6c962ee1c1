"""The job runner's vocabulary: pacing constants, a job's progress as the table has it, and
what a step kind implements (`Step`) and returns (`Batch`). `store.repair.runner` runs them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

BATCH_ROWS = 1000
"""Rows in the first batch (measured: ~1,000 rows keep an appender's p99 commit near 20 ms)."""
BATCH_S = 0.01
"""Target write-lock time per batch; the row count adapts to it (within the bounds below).
Measured on 1M rows: 10 ms batches and 5 ms pauses gave an appender p99 of ~20-35 ms, 20 ms
batches ~55 ms (a waiting writer's busy handler polls at 1, 3, 8, 18, 33, 53 ms...)."""
MIN_BATCH_ROWS, MAX_BATCH_ROWS = 100, 50_000
PAUSE_S = 0.005
"""Sleep between batches, so writers waiting on the busy handler get the lock."""
MAX_FAILURES = 5
"""Consecutive failed attempts at one batch before the job is marked failed."""
MAX_UNFIXED = 100
"""Unfixable rows listed in a job's params (the count is kept in full)."""

ACTIVE = ("pending", "running")
TRANSIENT = ("locked", "full", "io")
"""Error kinds (`funnel.classify`) worth retrying a batch for."""


@dataclass(frozen=True, slots=True)
class JobStatus:
    """A job's progress as the table has it; what the repair screen shows."""

    id: int
    name: str
    status: str
    rows_done: int
    rows_total: int
    cursor: int
    rate: int | None
    error: str | None
    pid: int | None
    started_at: int | None
    updated_at: int | None
    finished_at: int | None

    @property
    def fraction(self) -> float:
        return min(1.0, self.rows_done / self.rows_total) if self.rows_total else 0.0

    @property
    def paused(self) -> bool:
        """Stopped by the user before it finished: the next repair resumes it."""
        return self.status == "cancelled" and self.finished_at is None

    @property
    def label(self) -> str:
        """The status as people read it (`paused` for a job stopped before it finished)."""
        return "paused" if self.paused else self.status

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current rate; None when unknown."""
        if not self.rate or self.status not in ACTIVE:
            return None
        return max(0, self.rows_total - self.rows_done) / self.rate

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "rows_done": self.rows_done,
            "rows_total": self.rows_total,
            "rate": self.rate,
            "eta_s": self.eta_s,
            "error": self.error,
        }


@dataclass
class JobCtx:
    """What a step sees of its job: read `params`, `cursor`, `max_id`; write `state`."""

    id: int
    params: dict[str, Any]
    cursor: int
    max_id: int
    limit: int = BATCH_ROWS
    """Rows per batch for this run."""
    state: dict[str, Any] = field(default_factory=dict)
    """Persisted with every batch: where a step is inside a unit larger than one batch."""


@dataclass
class Batch:
    """What one batch did."""

    done: int
    cursor: int
    finished: bool = False
    unfixed: list[str] = field(default_factory=list)
    """Rows this batch could not fix (recorded; the job goes on)."""


class Step(Protocol):
    transactional: bool
    """True: the runner wraps each batch in one IMMEDIATE transaction with the job's progress.
    False: the batch commits on its own (ingest does) and progress is written after it."""

    def start(self, job: JobCtx) -> tuple[int, int]:
        """Snapshot the work: returns (rows in all, max id); runs once, outside a transaction."""
        ...

    def prepare(self, job: JobCtx, limit: int) -> None:
        """Read-only work for the next batch, done before the write lock is taken."""
        ...

    def batch(self, job: JobCtx, limit: int) -> Batch: ...
