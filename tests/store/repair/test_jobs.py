"""The job runner: bounded batches, concurrent appends, resume after an interruption (also a
SIGKILL of a real process), failures that end the job with a reason, rows it cannot fix."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from store import append, funnel
from store import db as store_db
from store.errors import StoreError
from store.models import Job
from store.records import MessageRecord
from store.repair import jobs
from tests.store.repair.repair_support import (
    assert_logs_intact,
    biggest_sessions,
    build,
    cli,
    kinds,
    raw,
    reverse,
    reversed_corpus,
    running_elsewhere,
    seq_rows,
    snapshot,
    stop_after,
)

ROOT = Path(__file__).resolve().parents[3]


def assert_numbered(path: Path, session_id: int) -> None:
    rows = seq_rows(path, session_id)
    assert [seq for _id, seq in rows] == list(range(1, len(rows) + 1))


def push_below_zero(path: Path, session_id: int) -> None:
    """Seq values that must all move up (two passes through a range above the session)."""
    with raw(path) as conn:
        conn.execute("UPDATE message SET seq = -seq WHERE session_id = ?", (session_id,))


@pytest.mark.parametrize("damage", [reverse, push_below_zero])
def test_large_session_renumbered_while_messages_are_appended(
    tmp_path: Path, damage: Callable[[Path, int], None]
) -> None:
    """A session larger than a batch takes many transactions (one pass when every row moves
    down, two otherwise); appends to it meanwhile keep working and end up after the rest, in
    the order they were stored."""
    corpus = build(tmp_path)
    sid = biggest_sessions(corpus.db, 1)[0]
    damage(corpus.db, sid)
    store_db.open_store(corpus.db)
    job_id = jobs.create("renumber", {"sessions": [sid], "sources": []})
    appended: list[tuple[int, int]] = []

    def appender() -> None:
        for n in range(12):
            rec = MessageRecord(
                session_key="x",
                stable_id=f"live-{n}",
                role="user",
                kind="prompt",
                text=f"live {n}",
                raw=b"{}",
                line=10_000 + n,
            )

            def work(rec: MessageRecord = rec) -> tuple[int, int]:
                return append.append(sid, rec)

            out = funnel.write(work, funnel.Context("test-append"))
            assert out.ok and out.value is not None, out.error
            appended.append(out.value)
            time.sleep(0.004)
        store_db.close()

    thread = threading.Thread(target=appender)
    thread.start()
    status = jobs.run(job_id, batch_rows=5, pause_s=0.003, batch_s=None)
    thread.join()
    assert status.status == "done", status
    assert status.rows_done == status.rows_total > 0
    # Late rows may have been settled by the job or appended after it: either way, in order.
    if appended and seq_rows(corpus.db, sid)[-1][1] != len(seq_rows(corpus.db, sid)):
        jobs.run(jobs.create("renumber", {"sessions": [sid], "sources": []}), batch_rows=5)
    assert_numbered(corpus.db, sid)
    ids = [i for i, _seq in seq_rows(corpus.db, sid)]
    assert ids[-len(appended) :] == sorted(i for i, _seq in appended)


def test_stopped_job_resumes_where_it_stopped(tmp_path: Path) -> None:
    corpus = reversed_corpus(tmp_path)
    store_db.open_store(corpus.db)
    job_id = jobs.create("renumber", {"sessions": None, "sources": []})
    batches: list[int] = []
    first = jobs.run(job_id, **stop_after(3, batches, batch_rows=6))
    assert first.status == "cancelled" and 0 < first.rows_done < first.rows_total
    state = json.loads(Job.get_by_id(job_id).params)["state"]
    assert first.cursor > 0 or state.get("session"), "nothing says where the job stopped"
    second = jobs.run(
        job_id,
        batch_s=None,
        batch_rows=6,
        pause_s=0,
        progress=lambda st: batches.append(st.rows_done),
    )
    assert second.status == "done"
    assert second.rows_done == second.rows_total
    assert batches == sorted(batches), "progress went backwards: work was done twice"
    for sid in biggest_sessions(corpus.db, 3):
        assert_numbered(corpus.db, sid)


def test_rows_that_cannot_be_fixed_are_recorded_and_the_job_ends(tmp_path: Path) -> None:
    corpus = build(tmp_path)
    first, second = biggest_sessions(corpus.db, 2)
    reverse(corpus.db, first)
    reverse(corpus.db, second)
    with raw(corpus.db) as conn:  # something outside convo refuses changes to one session
        conn.execute(
            f"CREATE TRIGGER refuse BEFORE UPDATE OF seq ON message WHEN "
            f"OLD.session_id = {first} BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    store_db.open_store(corpus.db)
    status = jobs.run(
        jobs.create("renumber", {"sessions": [first, second], "sources": []}),
        batch_rows=1000,
        pause_s=0,
    )
    assert status.status == "done"
    assert status.error is not None and f"session {first}" in status.error
    assert_numbered(corpus.db, second)


def test_failed_job_says_why_and_is_retried_by_repair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = build(tmp_path)
    sid = biggest_sessions(corpus.db, 1)[0]
    with raw(corpus.db) as conn:
        conn.execute("DROP INDEX message_session_id_seq")
        conn.execute("CREATE INDEX message_session_id_seq ON message (session_id, seq)")
        conn.execute("UPDATE message SET seq = 1 WHERE session_id = ? AND seq <= 3", (sid,))
    store_db.open_store(corpus.db)
    spec = {
        "name": "message_session_id_seq",
        "table": "message",
        "columns": ["session_id", "seq"],
        "unique": True,
    }
    status = jobs.run(
        jobs.create("create_index", {"spec": spec, "drop": ["message_session_id_seq"]})
    )
    assert status.status == "failed" and "UNIQUE" in (status.error or "")
    code, report = cli(capsys, corpus.db, "check", "--json")
    assert code == 1 and {"failed_job", "seq_repeated"} <= kinds(report)
    failed = next(p for p in report["problems"] if p["kind"] == "failed_job")
    assert "UNIQUE" in failed["detail"]
    code, out = cli(capsys, corpus.db, "repair", "--yes")
    assert code == 0, out
    code, report = cli(capsys, corpus.db, "check", "--json")
    assert (code, report["problems"]) == (0, [])
    assert jobs.status(status.id).status == "done"


def test_a_job_running_elsewhere_is_not_run_twice(tmp_path: Path) -> None:
    store_db.open_store(tmp_path / "s.db")
    with running_elsewhere() as (job_id, _pid):
        with pytest.raises(StoreError, match="running in process"):
            jobs.run(job_id)
        assert jobs.troubled() == ([], [], [])
    dead = jobs.troubled().dead
    assert [j.id for j in dead] == [job_id]


def test_one_repair_at_a_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """While another live process runs a repair job, a second repair refuses to start (two
    repairers would renumber and delete the same rows at once) and says who is running."""
    corpus = build(tmp_path)
    first, _ = biggest_sessions(corpus.db, 2)
    reverse(corpus.db, first)
    store_db.open_store(corpus.db)
    with running_elsewhere() as (job_id, pid):
        before = snapshot(corpus.db)
        from store.repair import checks, planner

        plan = planner.plan(checks.run(logs=False).findings)
        with pytest.raises(StoreError, match=f"job #{job_id} recount is running in process"):
            jobs.apply(plan)
        code, out = cli(capsys, corpus.db, "repair", "--yes")
        assert code != 0
        assert f"job #{job_id} recount is running in process {pid}" in out
        assert "Traceback" not in out
        assert snapshot(corpus.db) == before  # nothing was changed, no job was added
        assert not list(corpus.db.parent.glob("*.bak-*"))  # and no backup was taken


def test_repair_killed_mid_job_resumes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SIGKILL a real `convo repair` in the middle of its renumbering: check finds the dead job,
    a dry run changes nothing, repair resumes it where it stopped, and nothing is lost."""
    corpus = build(tmp_path)
    for sid in biggest_sessions(corpus.db, 3):
        reverse(corpus.db, sid)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui",
            "--db",
            str(corpus.db),
            "repair",
            "--yes",
            "--batch",
            "4",
            "--pause",
            "150",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        started = wait_for_progress(corpus.db, proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert started, "the repair never got going"
    code, report = cli(capsys, corpus.db, "check", "--json")
    assert code == 1 and "dead_job" in kinds(report), report
    before = snapshot(corpus.db)
    code, dry = cli(capsys, corpus.db, "repair", "--dry-run", "--json")
    assert dry["plan"]["steps"][0]["action"] == "resume"
    assert snapshot(corpus.db) == before
    done_before = job_rows(corpus.db)
    code, out = cli(capsys, corpus.db, "repair", "--yes", "--pause", "0")
    assert code == 0, out
    resumed = {j["id"]: j for j in job_rows(corpus.db)}
    killed = next(j for j in done_before if j["status"] == "running")
    assert resumed[killed["id"]]["status"] == "done"
    assert resumed[killed["id"]]["started_at"] == killed["started_at"], "restarted, not resumed"
    code, report = cli(capsys, corpus.db, "check", "--json")
    assert (code, report["problems"]) == (0, [])
    assert_logs_intact(corpus, tmp_path)


def wait_for_progress(path: Path, proc: subprocess.Popen[bytes], timeout: float = 20) -> bool:
    """Until a renumber job of `proc` has committed a few batches (read with a plain reader)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(path, timeout=5) as conn:
                row = conn.execute(
                    "SELECT rows_done, rows_total FROM job WHERE name = "
                    "'renumber' AND status = 'running'"
                ).fetchone()
        except sqlite3.Error:
            row = None
        if row and 0 < row[0] < row[1] and row[0] >= 8:
            return True
        time.sleep(0.05)
    return False


def job_rows(path: Path) -> list[dict[str, object]]:
    with raw(path) as conn:
        conn.row_factory = sqlite3.Row
        return [
            dict(r) | {"params": json.loads(r["params"])}
            for r in conn.execute("SELECT * FROM job ORDER BY id")
        ]


def test_a_dead_job_no_runner_knows_is_dismissed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A job of another kind (say a backfill) left running by a dead process: reported, and
    dismissed by repair with its reason kept, since nothing here can resume it."""
    corpus = build(tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with raw(corpus.db) as conn:
        conn.execute(
            "INSERT INTO job (name, status, rows_done, rows_total, cursor, max_id, params, pid, "
            "error) VALUES ('backfill', 'running', 5, 10, 5, 10, '{}', ?, 'disk full')",
            (gone.pid,),
        )
    code, report = cli(capsys, corpus.db, "check", "--json")
    assert code == 1 and kinds(report) == {"dead_job"}
    assert "backfill (5/10" in report["problems"][0]["detail"]
    assert cli(capsys, corpus.db, "repair", "--yes")[0] == 0
    assert cli(capsys, corpus.db, "check", "--json")[0] == 0
    (job,) = job_rows(corpus.db)
    assert job["status"] == "cancelled" and "disk full" in str(job["error"])
