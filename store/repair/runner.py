"""The job runner's loop: bounded batches that commit, pause, resume and always end.

A job is a row in `job` plus a step kind that knows how to do one batch (`store.repair.steps` maps
job names to the step kinds of `fixes`, `renumber` and `reread`). `run(job_id)` walks the job's
cursor batch by batch: each batch and the job row's progress (cursor, rows done, rate, last error)
commit together through the funnel, so an interrupted job resumes exactly after its last committed
batch. Between batches the writer is released and the runner sleeps a little: SQLite's busy handler
naps up to 100 ms, so without a pause a waiting appender would keep losing the race for the lock. A
batch that keeps failing fails the job with its error; rows a step cannot fix are recorded and
skipped, so a job never loops.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from peewee import fn

from store import funnel, logs
from store.errors import NotFound
from store.models import Job, db
from store.repair.job_types import ACTIVE as ACTIVE
from store.repair.job_types import BATCH_ROWS as BATCH_ROWS
from store.repair.job_types import BATCH_S as BATCH_S
from store.repair.job_types import (
    MAX_BATCH_ROWS,
    MAX_FAILURES,
    MAX_UNFIXED,
    MIN_BATCH_ROWS,
    TRANSIENT,
)
from store.repair.job_types import PAUSE_S as PAUSE_S
from store.repair.job_types import Batch as Batch
from store.repair.job_types import JobCtx as JobCtx
from store.repair.job_types import JobStatus as JobStatus
from store.repair.job_types import Step as Step
from store.repair.steps import STEPS

log = logs.get("jobs")


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


def known(name: str) -> bool:
    return name in STEPS


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
            self._nap(self.pause_s)

    def _nap(self, seconds: float) -> None:
        """Sleep between batches, waking early when asked to stop (a long pause never delays
        a cancel or the app's exit by more than 50 ms)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.05))
            if self.should_stop():
                return

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
