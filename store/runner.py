"""The job runner's loop: bounded batches that commit, pause, resume and always end.

A job is a row in `job` plus a step kind that knows how to do one batch (`store.fixes` and
`store.renumber` register them). `run(job_id)` walks the job's cursor batch by batch: each batch
and the job row's progress (cursor, rows done, rate, last error) commit together through the
funnel, so an interrupted job resumes exactly after its last committed batch. Between batches the
writer is released and the runner sleeps a little: SQLite's busy handler naps up to 100 ms, so
without a pause a waiting appender would keep losing the race for the lock. A batch that keeps
failing fails the job with its error; rows a step cannot fix are recorded and skipped, so a job
never loops.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from peewee import fn

from store import funnel, logs
from store.db import db
from store.errors import NotFound
from store.models import Job

log = logs.get("jobs")

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


STEPS: dict[str, Callable[[], Step]] = {}
"""Step kinds by job name (filled by `store.fixes`)."""

_lock = threading.Lock()
_active: set[int] = set()
"""Jobs this process is running now."""
_owned: set[int] = set()
"""Pending jobs a live `apply` in this process will run."""


def here(job_id: int) -> bool:
    """Whether this process is running the job, or will (a pending job of its `apply`)."""
    with _lock:
        return job_id in _active or job_id in _owned


def own(job_ids: Sequence[int]) -> None:
    """Claim pending jobs for this process (an `apply` that will run them)."""
    with _lock:
        _owned.update(job_ids)


def disown(job_ids: Sequence[int]) -> None:
    """Give up the claim on pending jobs this process will not run (they become resumable)."""
    with _lock:
        _owned.difference_update(job_ids)


def register(name: str) -> Callable[[Callable[[], Step]], Callable[[], Step]]:
    def add(factory: Callable[[], Step]) -> Callable[[], Step]:
        STEPS[name] = factory
        return factory

    return add


def known(name: str) -> bool:
    _load_steps()
    return name in STEPS


def _load_steps() -> None:
    from store import fixes, renumber, reread  # noqa: F401 - they register the step kinds


# ------------------------------------------------------------------------------------------
# Running


def job_status(job: Job) -> JobStatus:
    """A job row as a plain record."""
    return JobStatus(
        job.id,
        job.name,
        job.status,
        job.rows_done,
        job.rows_total,
        job.cursor,
        job.rate,
        job.error,
        job.pid,
        job.started_at,
        job.updated_at,
        job.finished_at,
    )


def status(job_id: int) -> JobStatus:
    """One job's progress (opens its own unit of work; safe from any thread).

    Raises:
        NotFound: no such job.
    """
    with db.connection_context():
        job = Job.get_or_none(Job.id == job_id)
    if job is None:
        raise NotFound(f"no job #{job_id}")
    return job_status(job)


def factory(name: str) -> Callable[[], Step] | None:
    """The step kind that runs jobs of this name."""
    _load_steps()
    return STEPS.get(name)


@contextmanager
def active(job_id: int) -> Iterator[None]:
    """Mark a job as run by this process while the block runs."""
    with _lock:
        _active.add(job_id)
    try:
        yield
    finally:
        with _lock:
            _active.discard(job_id)
            _owned.discard(job_id)


class Runner:
    """Runs one job's batches until it is done, failed or stopped (see the module doc)."""

    def __init__(
        self,
        job: Job,
        step: Step,
        progress: Callable[[JobStatus], None] | None,
        should_stop: Callable[[], bool],
        batch_rows: int,
        pause_s: float,
        batch_s: float | None = None,
    ) -> None:
        self.job_id = job.id
        self.batch_s = batch_s
        self.step = step
        self.progress = progress
        self.should_stop = should_stop
        self.limit = max(1, batch_rows)
        self.pause_s = pause_s
        params = json.loads(job.params or "{}")
        self.ctx = JobCtx(
            job.id, params, job.cursor, job.max_id, self.limit, params.get("state") or {}
        )
        self.start = (job.rows_done, time.monotonic())
        self.unfixed: list[str] = list(params.get("unfixed", []))
        self.unfixed_count = int(params.get("unfixed_count", 0))

    def loop(self) -> JobStatus:
        if not self._claim():
            return status(self.job_id)
        failures = 0
        while True:
            if self.should_stop():
                return self._finish("cancelled", "stopped by the user; resumable")
            batch, error, kind = self._one_batch()
            if batch is None:
                # Only a busy, full or I/O error can pass; anything else fails the same way again.
                failures = failures + 1 if kind in TRANSIENT else MAX_FAILURES
                self._note_error(error or "batch failed")
                if failures >= MAX_FAILURES:
                    return self._finish("failed", error)
                time.sleep(min(2.0, 0.05 * 3**failures))
                continue
            failures = 0
            if self.progress is not None:
                self.progress(status(self.job_id))
            if batch.finished:
                return self._finish("done", self._unfixed_error())
            time.sleep(self.pause_s)

    def _claim(self) -> bool:
        """Mark the job running (and snapshot its work the first time); False if that failed."""
        if not self.ctx.params.get("started"):
            try:
                total, max_id = self.step.start(self.ctx)
            except Exception as err:  # a broken snapshot fails the job, it never raises
                log.exception("job #%s could not start", self.job_id)
                self._finish("failed", f"{type(err).__name__}: {err}")
                return False
            self.ctx.params["started"] = True
            self.ctx.max_id = max_id
            fields: dict[Any, Any] = {
                Job.rows_total: total,
                Job.max_id: max_id,
                Job.params: json.dumps(self.ctx.params),
            }
        else:
            fields = {}
        now = funnel.now_ms()
        fields.update(
            {
                Job.status: "running",
                Job.pid: os.getpid(),
                Job.updated_at: now,
                Job.started_at: fn.COALESCE(Job.started_at, now),
                Job.finished_at: None,
            }
        )
        outcome = funnel.write(
            lambda: Job.update(fields).where(Job.id == self.job_id).execute(),
            funnel.Context("job-claim", event_id=str(self.job_id)),
        )
        return outcome.ok

    def _one_batch(self) -> tuple[Batch | None, str | None, str | None]:
        """One batch and its progress: (batch or None, error, error kind)."""
        ctx = funnel.Context(f"job:{self.step.__class__.__name__}", event_id=str(self.job_id))
        try:
            self.step.prepare(self.ctx, self.limit)
            if not self.step.transactional:
                batch = self.step.batch(self.ctx, self.limit)
        except Exception as err:
            log.exception("job #%s: batch failed", self.job_id)
            return None, f"{type(err).__name__}: {err}", funnel.classify(err)
        if self.step.transactional:
            saved = (self.ctx.cursor, dict(self.ctx.state), self.unfixed, self.unfixed_count)
            started = time.perf_counter()
            outcome = funnel.write(
                lambda: self._record(self.step.batch(self.ctx, self.limit)), ctx, retries=0
            )
            if not outcome.ok:  # the batch rolled back, and so does what it noted
                self.ctx.cursor, self.ctx.state, self.unfixed, self.unfixed_count = saved
            elif outcome.value is not None and outcome.value.done:
                self._resize(time.perf_counter() - started)
            return outcome.value, outcome.error, outcome.error_kind
        outcome = funnel.write(lambda: self._record(batch), ctx)
        return (batch if outcome.ok else None), outcome.error, outcome.error_kind

    def _resize(self, took: float) -> None:
        """Steer the batch size toward `batch_s` of write lock per batch: what a waiting writer
        feels is the lock's hold time, not a row count (rows differ tenfold in cost)."""
        if self.batch_s is None:
            return
        factor = min(2.0, max(0.5, self.batch_s / max(took, 1e-4)))
        self.limit = min(MAX_BATCH_ROWS, max(MIN_BATCH_ROWS, int(self.limit * factor)))

    def _record(self, batch: Batch) -> Batch:
        """Write the batch's progress (inside the batch's own transaction when it has one)."""
        self.ctx.cursor = batch.cursor
        if batch.unfixed:
            self.unfixed_count += len(batch.unfixed)
            self.unfixed = (self.unfixed + batch.unfixed)[:MAX_UNFIXED]
        params = dict(
            self.ctx.params,
            state=self.ctx.state,
            unfixed=self.unfixed,
            unfixed_count=self.unfixed_count,
        )
        done0, t0 = self.start
        elapsed = max(time.monotonic() - t0, 1e-6)
        Job.update(
            {
                Job.rows_done: Job.rows_done + batch.done,
                Job.cursor: batch.cursor,
                Job.params: json.dumps(params),
                Job.updated_at: funnel.now_ms(),
                Job.error: self._unfixed_error(),
            }
        ).where(Job.id == self.job_id).execute()
        done = Job.select(Job.rows_done).where(Job.id == self.job_id).scalar() or 0
        rate = int((done - done0) / elapsed)
        Job.update(rate=rate).where(Job.id == self.job_id).execute()
        return batch

    def _unfixed_error(self) -> str | None:
        if not self.unfixed_count:
            return None
        return f"{self.unfixed_count} rows could not be fixed (first: {self.unfixed[0]})"

    def _note_error(self, error: str) -> None:
        funnel.write(
            lambda: (
                Job.update(error=error, updated_at=funnel.now_ms())
                .where(Job.id == self.job_id)
                .execute()
            ),
            funnel.Context("job-error", event_id=str(self.job_id)),
        )

    def _finish(self, state: str, error: str | None) -> JobStatus:
        now = funnel.now_ms()
        values: dict[Any, Any] = {Job.status: state, Job.updated_at: now, Job.error: error}
        if state != "cancelled":
            values[Job.finished_at] = now
        if state == "done":  # rows appended meanwhile may have been done too
            values[Job.rows_total] = fn.MAX(Job.rows_total, Job.rows_done)
        funnel.write(
            lambda: Job.update(values).where(Job.id == self.job_id).execute(),
            funnel.Context("job-finish", event_id=str(self.job_id)),
        )
        log.info("job #%s %s%s", self.job_id, state, f": {error}" if error else "")
        return status(self.job_id)
