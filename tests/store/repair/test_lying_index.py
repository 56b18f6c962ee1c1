"""A UNIQUE index that lies: its schema says UNIQUE, its b-tree was built non-unique over rows
that share a key (made with `writable_schema`, as an old ingest pipeline left it). `quick_check`
does not see it; the default check must, and the repair must never write through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from store import db as store_db
from store.repair import jobs
from store.repair.fixes import VISIBLE
from tests.store.repair.repair_support import (
    Corpus,
    biggest_sessions,
    build,
    cli,
    kinds,
    raw,
)
from tests.store.repair.test_repair_damage import check_repair_check


def make_lie(db: Path, name: str, damage: str, params: tuple[object, ...] = ()) -> None:
    """Drop the unique index `name`, run `damage` (rows that now share its key), build it again
    non-unique, then write its original UNIQUE text back into the schema."""
    with raw(db) as conn:
        sql, table = conn.execute(
            "SELECT sql, tbl_name FROM sqlite_master WHERE name = ?", (name,)
        ).fetchone()
        assert "UNIQUE" in sql
        conn.execute(f'DROP INDEX "{name}"')
        conn.execute(damage, params)
        conn.execute(sql.replace("UNIQUE INDEX", "INDEX", 1))
        version = conn.execute("PRAGMA schema_version").fetchone()[0]
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = ?", (sql, name))
        conn.execute(f"PRAGMA schema_version = {version + 1}")
        conn.execute("PRAGMA writable_schema = OFF")
    with raw(db) as conn:  # reopened: the schema now says UNIQUE
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        assert any("non-unique entry in index" in p for p in problems), problems
        assert any(r[1] == name and r[2] for r in conn.execute(f'PRAGMA index_list("{table}")'))


def integrity(db: Path) -> list[str]:
    with raw(db) as conn:
        return [r[0] for r in conn.execute("PRAGMA integrity_check")]


def shown(capsys: pytest.CaptureFixture[str], corpus: Corpus, sid: int) -> list[tuple[int, str]]:
    """(seq, message id) of every message `convo show` lists, in the order it lists them."""
    with raw(corpus.db) as conn:
        native = conn.execute("SELECT native_id FROM session WHERE id = ?", (sid,)).fetchone()[0]
    code, out = cli(capsys, corpus.db, "show", native, "--json")
    assert code == 0, out
    return [(m["seq"], m["id"]) for m in out["messages"]]


def stored(db: Path, sid: int) -> list[str]:
    with raw(db) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT stable_id FROM message NOT INDEXED WHERE session_id = ? AND stale = 0 "
                "ORDER BY id",
                (sid,),
            )
        ]


def assert_listed_once_in_order(
    capsys: pytest.CaptureFixture[str], corpus: Corpus, sid: int
) -> None:
    """`convo show` lists every visible row of the session once, in seq order, and seq runs
    1..n over all its rows in id (ingest) order."""
    listed = shown(capsys, corpus, sid)
    with raw(corpus.db) as conn:
        rows = conn.execute(
            f"SELECT id, seq, {VISIBLE} FROM message NOT INDEXED WHERE session_id = ? ORDER BY id",
            (sid,),
        ).fetchall()
    assert [r[1] for r in rows] == list(range(1, len(rows) + 1))
    assert listed == [(seq, mid) for mid, seq, visible in rows if visible]


def test_equal_seq_behind_a_lying_unique_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seq values set equal within a session, behind a (session, seq) index that says UNIQUE."""
    corpus = build(tmp_path)
    sid = biggest_sessions(corpus.db, 1)[0]
    make_lie(
        corpus.db,
        "message_session_id_seq",
        "UPDATE message SET seq = seq - 1 WHERE session_id = ? AND seq IN (4, 8, 12)",
        (sid,),
    )
    code, dry = cli(capsys, corpus.db, "repair", "--dry-run", "--json")
    assert code == 0, dry
    actions = [s["action"] for s in dry["plan"]["steps"]]
    # Dropped before anything writes, recreated after the renumber, verified last.
    assert actions[0] == "drop_index" and actions[-1] == "verify", actions
    assert actions.index("create_index") > actions.index("renumber"), actions
    report = check_repair_check(corpus, tmp_path, capsys, {"index_drift"})
    drift = next(p for p in report["problems"] if p["kind"] == "index_drift")
    assert "message_session_id_seq" in drift["detail"]
    assert "holds 3 rows sharing a key" in drift["detail"], drift
    assert integrity(corpus.db) == ["ok"]
    assert_listed_once_in_order(capsys, corpus, sid)


def test_copies_behind_a_lying_unique_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Copies of rows (same session, same stable id) behind a (session, stable id) index that
    says UNIQUE: found, the copies deleted by id, the index made unique for real."""
    corpus = build(tmp_path)
    sid = biggest_sessions(corpus.db, 1)[0]
    make_lie(
        corpus.db,
        "message_session_id_stable_id",
        "INSERT INTO message (session_id, seq, stable_id, native_id, group_id, role, kind, "
        "line_type, timestamp, model, tokens_in, tokens_out, text, hidden, stale, source_id, "
        "line, raw) SELECT session_id, seq + 100000, stable_id, native_id, group_id, role, kind, "
        "line_type, timestamp, model, tokens_in, tokens_out, text, hidden, stale, source_id, "
        "line, raw FROM message WHERE session_id = ? AND seq IN (2, 5)",
        (sid,),
    )
    before = stored(corpus.db, sid)
    report = check_repair_check(corpus, tmp_path, capsys, {"index_drift"})
    drift = next(p for p in report["problems"] if p["kind"] == "index_drift")
    assert "message_session_id_stable_id" in drift["detail"]
    assert integrity(corpus.db) == ["ok"]
    assert_listed_once_in_order(capsys, corpus, sid)
    assert stored(corpus.db, sid) == before[:-2] and len(set(before)) == len(before) - 2
    code, again = cli(capsys, corpus.db, "check", "--json")
    assert code == 0 and not kinds(again), again


def test_a_failing_verify_fails_the_job_saying_why(tmp_path: Path) -> None:
    """The last step of the plan, run while the lie is still there: the job fails, and its error
    is SQLite's own words about the index."""
    corpus = build(tmp_path)
    sid = biggest_sessions(corpus.db, 1)[0]
    make_lie(
        corpus.db,
        "message_session_id_seq",
        "UPDATE message SET seq = 1 WHERE session_id = ? AND seq = 2",
        (sid,),
    )
    store_db.open_store(corpus.db)
    try:
        done = jobs.run(jobs.create("verify", {"tables": ["message"]}), pause_s=0)
    finally:
        store_db.close()
    assert done.status == "failed"
    assert "non-unique entry in index message_session_id_seq" in (done.error or ""), done
