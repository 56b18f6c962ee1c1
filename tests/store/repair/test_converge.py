"""Repairs converge: a session row with two dangling references (its log file's row and its
parent both deleted with foreign keys off) is fixed in one run, and a repair run again on the same
damage adds no failing job."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.store.repair.repair_support import biggest_sessions, build, cli, kinds, raw
from tests.store.repair.test_repair_damage import check_repair_check


def _dangle_twice(db: Path) -> int:
    """One session's `source_id` and `parent_id` both point at rows that do not exist."""
    sid = biggest_sessions(db, 1)[0]
    with raw(db) as conn:
        conn.execute(
            "UPDATE session SET parent_id = 424242, source_id = 434343 WHERE id = ?", (sid,)
        )
        bad = conn.execute("PRAGMA foreign_key_check(session)").fetchall()
    assert len(bad) == 2, bad
    return sid


def test_two_dangling_references_of_one_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = build(tmp_path)
    sid = _dangle_twice(corpus.db)
    report = check_repair_check(corpus, tmp_path, capsys, {"dangling_ref"})
    dangling = next(p for p in report["problems"] if p["kind"] == "dangling_ref")
    assert (dangling["count"], dangling["sessions"]) == (2, [sid])
    with raw(corpus.db) as conn:
        assert conn.execute(
            "SELECT parent_id, source_id FROM session WHERE id = ?", (sid,)
        ).fetchone() == (None, None)
        assert conn.execute("SELECT COUNT(*) FROM job WHERE status = 'failed'").fetchone() == (0,)
    code, jobs_out = cli(capsys, corpus.db, "jobs", "--json")
    assert code == 0 and all(j["status"] == "done" for j in jobs_out), jobs_out


def test_repair_twice_on_the_same_damage_adds_no_failing_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same damage made again after a repair: the second repair fixes it too, and the job
    table holds no failed job after either run."""
    corpus = build(tmp_path)
    for _ in range(2):
        _dangle_twice(corpus.db)
        code, report = cli(capsys, corpus.db, "check", "--json")
        assert code == 1 and "dangling_ref" in kinds(report), report
        assert "failed_job" not in kinds(report), report
        code, out = cli(capsys, corpus.db, "repair", "--yes")
        assert code == 0, out
        code, after = cli(capsys, corpus.db, "check", "--json")
        assert (code, after["problems"]) == (0, []), after
        with raw(corpus.db) as conn:
            failed = conn.execute("SELECT id, name, error FROM job WHERE status = 'failed'")
            assert failed.fetchall() == []


def test_a_failed_clear_refs_left_by_an_earlier_version_converges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An earlier convo cleared one reference at a time and left its job failed: the next repair
    retries it (it now succeeds) beside the new one, and adds no failed job."""
    corpus = build(tmp_path)
    sid = _dangle_twice(corpus.db)
    with raw(corpus.db) as conn:
        conn.execute(
            "INSERT INTO job (name, status, params, rows_done, rows_total, cursor, max_id, rate, "
            "error, updated_at, finished_at) VALUES ('clear_refs', 'failed', ?, 0, 1, 0, 0, 0, "
            "'IntegrityError: FOREIGN KEY constraint failed', 1, 1)",
            (
                f'{{"refs": [["session", {sid}, "source_id"], ["session", {sid}, "parent_id"]], '
                '"started": true}',
            ),
        )
    code, report = cli(capsys, corpus.db, "check", "--json")
    assert code == 1 and {"dangling_ref", "failed_job"} <= kinds(report), report
    code, out = cli(capsys, corpus.db, "repair", "--yes")
    assert code == 0, out
    code, after = cli(capsys, corpus.db, "check", "--json")
    assert (code, after["problems"]) == (0, []), after
    code, jobs_out = cli(capsys, corpus.db, "jobs", "--json")
    assert [j["status"] for j in jobs_out] == ["done", "done"], jobs_out
