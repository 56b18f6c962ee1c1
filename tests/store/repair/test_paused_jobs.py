"""Repair jobs the user stopped ("paused": status `cancelled`, not finished) are reported by the
check, resumed by the next plan from where they stopped, and never confused with dismissed ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from store import db as store_db
from store.models import Job
from store.repair import checks, jobs, planner
from store.repair.findings import Findings, JobFact
from store.repair.problems import summarize
from tests.store.repair.repair_support import (
    assert_logs_intact,
    cli,
    kinds,
    reversed_corpus,
    stop_after,
)


def pause_renumber(path: Path, batches: list[int]) -> jobs.JobStatus:
    """A renumber job of every session, stopped by the user after its first batch."""
    store_db.open_store(path)
    job_id = jobs.create("renumber", {"sessions": None, "sources": []})
    paused = jobs.run(job_id, **stop_after(1, batches, batch_rows=4))
    assert paused.status == "cancelled" and paused.finished_at is None
    assert 0 < paused.rows_done < paused.rows_total
    return paused


def test_a_paused_job_is_reported_planned_and_resumed(tmp_path: Path) -> None:
    """Stopped after one batch of a plan: the check reports it, the next plan resumes that very
    job (rows done keep growing from where it stopped), and the store ends up healthy."""
    path = reversed_corpus(tmp_path).db
    store_db.open_store(path)
    first = planner.plan(checks.run().findings)
    batches: list[int] = []
    results = jobs.apply(first, **stop_after(1, batches, batch_rows=4))
    (stopped,) = results
    assert stopped.name == "renumber" and stopped.status == "cancelled"
    assert 0 < stopped.rows_done < stopped.rows_total

    report = checks.run()
    assert report.exit_code == 1
    assert [j.id for j in report.findings.paused_jobs] == [stopped.id]
    paused = next(p for p in report.problems if p.kind == "paused_job")
    assert paused.count == 1
    assert f"#{stopped.id} renumber ({stopped.rows_done}/" in paused.detail
    assert "resume" in paused.detail

    plan = planner.plan(report.findings)
    resume = next(s for s in plan.steps if s.action == "resume" and stopped.id in s.params["jobs"])
    assert "paused_job" in resume.kinds

    resumed: list[jobs.JobStatus] = []
    jobs.apply(plan, batch_s=None, batch_rows=4, pause_s=0, progress=resumed.append)
    mine = [st.rows_done for st in resumed if st.id == stopped.id]
    assert mine and mine[0] > stopped.rows_done, "the job started over instead of resuming"
    assert mine == sorted(mine)
    final = jobs.status(stopped.id)
    assert final.status == "done" and final.rows_done == final.rows_total == stopped.rows_total
    assert final.started_at == stopped.started_at, "restarted, not resumed"
    after = checks.run()
    assert after.ok, after.problems


def test_a_dismissed_job_is_done_with(tmp_path: Path) -> None:
    """`jobs.dismiss` also leaves status `cancelled`, but finished: never reported again."""
    paused = pause_renumber(reversed_corpus(tmp_path).db, [])
    assert [j.id for j in jobs.troubled().paused] == [paused.id]
    jobs.dismiss(paused.id, "not wanted")
    assert jobs.troubled() == ([], [], [])
    assert "paused_job" not in {p.kind for p in checks.run().problems}


def test_a_paused_job_no_runner_knows_is_dismissed(tmp_path: Path) -> None:
    store_db.open_store(tmp_path / "s.db")
    job_id = jobs.create("backfill", {})
    jobs.release([job_id])  # as if another process had made it
    Job.update(status="cancelled", rows_done=3, rows_total=10).where(Job.id == job_id).execute()
    (fact,) = jobs.troubled().paused
    assert not fact.known
    plan = planner.plan(checks.run().findings)
    assert [(s.action, s.params) for s in plan.steps] == [("dismiss", {"jobs": [job_id]})]
    assert plan.steps[0].kinds == ("paused_job",)
    jobs.apply(plan)
    assert jobs.troubled() == ([], [], [])
    assert checks.run().ok


def test_paused_jobs_are_planned_in_the_order_they_were_made() -> None:
    """Paused and interrupted jobs resume together, oldest first (the order of their plan)."""
    paused = JobFact(3, "renumber", "cancelled", 400, 1000, 99, None, known=True)
    dead = JobFact(4, "recount", "pending", 0, 0, 99, None, known=True)
    alien = JobFact(5, "backfill", "cancelled", 1, 2, 99, None, known=False)
    f = Findings(dead_jobs=(dead,), paused_jobs=(paused, alien))
    plan = planner.plan(f)
    assert [(s.action, s.params) for s in plan.steps] == [
        ("resume", {"jobs": [3, 4]}),
        ("dismiss", {"jobs": [5]}),
    ]
    assert plan.steps[0].kinds == ("dead_job", "paused_job")
    problems, _notes = summarize(f)
    (p,) = [p for p in problems if p.kind == "paused_job"]
    assert p.count == 2
    assert p.detail == (
        "repair jobs stopped before they finished: #3 renumber (400/1,000 rows), "
        "#5 backfill (1/2 rows); fix: resume them from where they stopped"
    )


def test_cli_shows_and_resumes_a_paused_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = reversed_corpus(tmp_path)
    path = corpus.db
    paused = pause_renumber(path, [])
    store_db.close()
    code, listed = cli(capsys, path, "jobs")
    assert code == 0 and f"#{paused.id} renumber      paused" in listed, listed
    code, report = cli(capsys, path, "check", "--json")
    assert code == 1 and "paused_job" in kinds(report), report
    code, dry = cli(capsys, path, "repair", "--dry-run", "--json")
    assert code == 0
    first = dry["plan"]["steps"][0]
    assert (first["action"], first["kinds"], first["params"]) == (
        "resume",
        ["paused_job"],
        {"jobs": [paused.id]},
    )
    code, out = cli(capsys, path, "repair", "--yes", "--batch", "7", "--pause", "0")
    assert code == 0, out
    assert jobs.status(paused.id).status == "done"
    code, report = cli(capsys, path, "check", "--json")
    assert (code, report["problems"]) == (0, [])
    assert_logs_intact(corpus, tmp_path)
