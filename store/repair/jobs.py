"""Jobs: create them, read their progress, tell live ones from dead ones, apply a plan.

Long repairs run as rows of `job`, executed by `store.repair.runner` in bounded, resumable batches.
Textual drives this from a thread worker: pass `should_stop` (polled between batches) and
`progress` (called on the worker thread) to `apply` or `run`, or poll `status(job_id)` from
another worker.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from store import funnel, lease
from store.errors import NotFound, StoreError
from store.models import Job, db
from store.repair.findings import JobFact
from store.repair.runner import ACTIVE as ACTIVE
from store.repair.runner import BATCH_ROWS as BATCH_ROWS
from store.repair.runner import BATCH_S as BATCH_S
from store.repair.runner import PAUSE_S as PAUSE_S
from store.repair.runner import Batch as Batch
from store.repair.runner import JobCtx as JobCtx
from store.repair.runner import JobStatus as JobStatus
from store.repair.runner import Runner, active, disown, factory, here, job_status, known, own
from store.repair.runner import Step as Step
from store.repair.runner import status as status

if TYPE_CHECKING:
    from store.repair.planner import Plan

STALE_S = 300.0
"""A running job whose row has not moved for this long is dead, whatever its pid says."""


def recent(limit: int = 20) -> list[JobStatus]:
    """The newest jobs first."""
    with db.connection_context():
        return [job_status(j) for j in Job.select().order_by(Job.id.desc()).limit(limit)]


def alive(job: Job | JobStatus) -> bool:
    """Whether a pending or running job still has a live process behind it."""
    if job.pid is None:
        return False
    if job.pid == os.getpid():
        return here(job.id)
    if (
        job.status == "running"
        and job.updated_at is not None
        and funnel.now_ms() - job.updated_at > STALE_S * 1000
    ):
        return False
    return lease.pid_alive(job.pid)


class Troubled(NamedTuple):
    """Jobs the check reports, oldest first."""

    dead: list[JobFact]
    """Left pending or running by a process that died."""
    failed: list[JobFact]
    paused: list[JobFact]
    """Stopped by the user before they finished (`cancelled`, no `finished_at`): resumable.
    A dismissed job is `cancelled` too, but finished: it is done with and not listed."""


def elsewhere() -> JobStatus | None:
    """The first pending or running job that another live process runs, if any."""
    with db.connection_context():
        rows = list(
            Job.select()
            .where(Job.status.in_(ACTIVE), Job.pid.is_null(False), Job.pid != os.getpid())
            .order_by(Job.id)
        )
    return next((job_status(job) for job in rows if alive(job)), None)


def ensure_alone() -> None:
    """One repair at a time: two would renumber and delete the same rows at once.

    Raises:
        StoreError: another live process is running a repair job (named, with its pid).
    """
    busy = elsewhere()
    if busy is not None:
        raise StoreError(
            f"job #{busy.id} {busy.name} is running in process {busy.pid}: one repair at a "
            "time (`convo jobs` shows its progress)",
            "Repair busy",
        )


def troubled() -> Troubled:
    """The dead, failed and paused jobs (see `Troubled`)."""
    out = Troubled([], [], [])
    paused = (Job.status == "cancelled") & Job.finished_at.is_null()
    with db.connection_context():
        rows = list(
            Job.select().where(Job.status.in_([*ACTIVE, "failed"]) | paused).order_by(Job.id)
        )
    for job in rows:
        fact = JobFact(
            job.id,
            job.name,
            job.status,
            job.rows_done,
            job.rows_total,
            job.pid,
            job.error,
            known(job.name),
        )
        if job.status == "failed":
            out.failed.append(fact)
        elif job.status == "cancelled":
            if not here(job.id):  # not being resumed by this process right now
                out.paused.append(fact)
        elif not alive(job):
            out.dead.append(fact)
    return out


# ------------------------------------------------------------------------------------------
# Writing


def create(name: str, params: dict[str, Any] | None = None) -> int:
    """A pending job owned by this process; returns its id.

    Raises:
        StoreError: the job row could not be written.
    """
    return create_many([(name, params or {})])[0]


def create_many(specs: Sequence[tuple[str, dict[str, Any]]]) -> list[int]:
    """Pending jobs for every (name, params), written in one transaction, in order."""
    now = funnel.now_ms()

    def work() -> list[int]:
        return [
            int(
                Job.insert(
                    name=name,
                    status="pending",
                    params=json.dumps(params),
                    pid=os.getpid(),
                    updated_at=now,
                ).execute()
            )
            for name, params in specs
        ]

    outcome = funnel.write(
        work, funnel.Context("job-create", event_id=",".join(n for n, _ in specs)[:200])
    )
    if not outcome.ok or outcome.value is None:
        raise StoreError(f"cannot create jobs: {outcome.error}", "Repair failed")
    own(outcome.value)
    return outcome.value


def dismiss(job_id: int, reason: str) -> None:
    """Mark a job cancelled, keeping its error and adding why, so it is no longer reported."""

    def work() -> None:
        db.execute_sql(
            "UPDATE job SET status = 'cancelled', finished_at = ?, pid = NULL, "
            "error = COALESCE(error || ' ', '') || ? WHERE id = ?",
            (funnel.now_ms(), f"[dismissed: {reason}]", job_id),
        )

    funnel.write(work, funnel.Context("job-dismiss", event_id=str(job_id)))


def release(job_ids: Sequence[int]) -> None:
    """Forget this process's claim on pending jobs it will not run (they become resumable)."""
    disown(job_ids)


def run(
    job_id: int,
    *,
    progress: Callable[[JobStatus], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    batch_rows: int = BATCH_ROWS,
    pause_s: float = PAUSE_S,
    batch_s: float | None = BATCH_S,
) -> JobStatus:
    """Run (or resume) a job until it is done, failed or stopped; returns its final status.

    Args:
        progress: called after each batch, on this thread.
        should_stop: polled between batches; True stops the job (status `cancelled`, resumable).
        batch_rows: rows in the first batch (every batch, when `batch_s` is None).
        pause_s: sleep between batches, so other writers get the lock.
        batch_s: target write-lock time per batch; the batch size adapts to it.

    Raises:
        StoreError: another live process is running this job, or its kind is unknown.
        NotFound: no such job.
    """
    with db.connection_context():
        job = Job.get_or_none(Job.id == job_id)
        if job is None:
            raise NotFound(f"no job #{job_id}")
        if job.status == "done":
            return job_status(job)
        make = factory(job.name)
        if make is None:
            raise StoreError(f"no runner for job #{job_id} ({job.name})", "Repair failed")
        if job.status == "running" and alive(job) and job.pid != os.getpid():
            raise StoreError(f"job #{job_id} is running in process {job.pid}", "Repair busy")
        with active(job_id), lease.repairing():
            stop = should_stop or (lambda: False)
            return Runner(job, make(), progress, stop, batch_rows, pause_s, batch_s).loop()


# ------------------------------------------------------------------------------------------
# Applying a plan


def apply(
    plan: Plan,
    *,
    progress: Callable[[JobStatus], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    batch_rows: int = BATCH_ROWS,
    pause_s: float = PAUSE_S,
    batch_s: float | None = BATCH_S,
) -> list[JobStatus]:
    """Run a plan's steps as jobs, in order; returns each job's final status.

    All jobs are written (pending) before the first runs, so an interruption leaves the rest
    visible and resumable. A step whose job fails does not stop the later ones: each is safe on
    its own, and the next check reports what is left. A rebuild step is not a job (see
    `store.repair.rebuild`); `apply` refuses a plan that has one.

    Raises:
        StoreError: the plan needs a rebuild, another process is repairing, or the jobs cannot
            be written.
    """
    if plan.rebuild:
        raise StoreError(
            "this plan rebuilds the store: use store.repair.rebuild.rebuild()", "Repair"
        )
    ensure_alone()
    queue: list[int] = []
    specs = [
        (s.action, dict(s.params))
        for s in plan.steps
        if s.action not in ("resume", "retry", "dismiss")
    ]
    created = iter(create_many(specs)) if specs else iter(())
    for s in plan.steps:
        if s.action == "dismiss":
            for jid in s.params["jobs"]:
                dismiss(jid, "interrupted, stopped or failed, and no runner knows this job")
        elif s.action in ("resume", "retry"):
            queue += list(s.params["jobs"])
        else:
            queue.append(next(created))
    results = []
    stop = should_stop or (lambda: False)
    with lease.repairing():  # between its jobs too, this thread's own writes never wait
        for pos, jid in enumerate(queue):
            results.append(
                run(
                    jid,
                    progress=progress,
                    should_stop=stop,
                    batch_rows=batch_rows,
                    pause_s=pause_s,
                    batch_s=batch_s,
                )
            )
            if results[-1].status == "cancelled" or stop():
                release(queue[pos + 1 :])
                break
    return results
