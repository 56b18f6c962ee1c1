"""A store written by the convo before the layout change opens, and its paused repair resumes.

`tests/fixtures/stores/v0.1-paused-renumber.db` was made by convo 0.1.0 as it was at commit
a0fa9ad (the flat `store/`), with `make_v0_1.py` beside it: two Claude Code samples and one Codex
sample ingested, the seq of the two largest sessions reversed, and the planned repair stopped by
the user after its first batch of 4 rows (job #1 `renumber`, paused; job #2 `recount`, pending).
Its logs are gone (they lived in a temp folder), as an agent's old logs are.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from store import db as store_db
from store.repair import checks, jobs, planner

V0 = Path(__file__).resolve().parents[2] / "fixtures" / "stores" / "v0.1-paused-renumber.db"
STARTED = 1796528746493
"""When job #1 started, as the old version recorded it."""


def _messages(path: Path) -> dict[int, list[tuple[int, str, str]]]:
    """Per session: (id, role, text) of every message, in the order the rows were stored."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT session_id, id, role, text FROM message ORDER BY session_id, id"
        ).fetchall()
    out: dict[int, list[tuple[int, str, str]]] = {}
    for sid, mid, role, text in rows:
        out.setdefault(sid, []).append((mid, role, text))
    return out


def _seqs(path: Path) -> dict[int, list[int]]:
    """Per session: the seq of each message, in the order the rows were stored."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT session_id, seq FROM message ORDER BY session_id, id"
        ).fetchall()
    out: dict[int, list[int]] = {}
    for sid, seq in rows:
        out.setdefault(sid, []).append(seq)
    return out


def test_the_previous_versions_paused_repair_resumes(tmp_path: Path) -> None:
    path = tmp_path / "convo.db"
    shutil.copyfile(V0, path)
    before = _messages(path)
    assert sum(map(len, before.values())) == 124
    assert max(_seqs(path)[2]) > 1000, "the fixture's damage is not there"

    store_db.open_store(path)
    report = checks.run()
    assert report.exit_code == 1
    (paused,) = report.findings.paused_jobs
    assert (paused.id, paused.name, paused.rows_done, paused.rows_total) == (1, "renumber", 4, 104)
    assert paused.known, "the runner no longer knows the step a stored job names"
    assert "paused_job" in {p.kind for p in report.problems}

    plan = planner.plan(report.findings)
    resume = next(s for s in plan.steps if s.action == "resume")
    assert 1 in resume.params["jobs"]
    seen: list[jobs.JobStatus] = []
    jobs.apply(plan, batch_s=None, batch_rows=4, pause_s=0, progress=seen.append)

    done = [st.rows_done for st in seen if st.id == 1]
    assert done and done[0] > 4, "the job started over instead of resuming from its cursor"
    final = jobs.status(1)
    assert final.status == "done" and final.rows_done == final.rows_total == 104
    assert final.started_at == STARTED, "restarted, not resumed"
    after = checks.run()
    assert after.ok, after.problems
    store_db.close()

    assert _messages(path) == before, "a message was lost or changed"
    for sid, seqs in _seqs(path).items():
        assert seqs == list(range(1, len(seqs) + 1)), f"session {sid} is not in stored order"
