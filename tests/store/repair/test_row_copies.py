"""Copies of message rows: a row stored again under a fresh id, a fresh seq and a fresh stable id
(the same session, log line, native id and raw record; its parts copied too), which no unique
index can see. `check` reports them as `duplicate_rows`, the repair deletes the copies by id and
keeps the row the log line names; block groups (Gemini, opencode: one record stored as one row
per block, all holding the same raw record) are never taken for copies."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.store.repair.repair_support import biggest_sessions, build, cli, kinds, raw, snapshot
from tests.store.repair.test_fixtures_healthy import every_fixture
from tests.store.repair.test_repair_damage import check_repair_check

COLUMNS = (
    "native_id, group_id, role, kind, line_type, timestamp, model, tokens_in, tokens_out, text, "
    "hidden, stale, source_id, line, raw"
)


def copy_row(conn: sqlite3.Connection, mid: int, *, session: str = "session_id") -> int:
    """Store message `mid` again the way a broken insert path did: next seq, stable id with a
    suffix, its parts copied. Returns the copy's id."""
    new = conn.execute(
        f"INSERT INTO message (session_id, seq, stable_id, {COLUMNS}) "
        f"SELECT {session}, (SELECT MAX(seq) + 1 FROM message AS o "
        "WHERE o.session_id = m.session_id), stable_id || '-copy', "
        f"{COLUMNS} FROM message AS m WHERE id = ?",
        (mid,),
    ).lastrowid
    conn.execute(
        "INSERT INTO part (message_id, idx, type, text, tool_name, tool_id, is_error) "
        "SELECT ?, idx, type, text, tool_name, tool_id, is_error FROM part WHERE message_id = ?",
        (new, mid),
    )
    conn.execute(
        "UPDATE session SET message_count = message_count + 1 WHERE id = "
        "(SELECT session_id FROM message WHERE id = ?)",
        (new,),
    )
    assert new is not None
    return new


def rows_of(db: Path) -> list[Any]:
    with raw(db) as conn:
        return conn.execute(
            "SELECT id, session_id, seq, stable_id, text FROM message NOT INDEXED ORDER BY id"
        ).fetchall()


def parts_of(db: Path, ids: list[int]) -> int:
    with raw(db) as conn:
        marks = ",".join("?" * len(ids))
        return int(
            conn.execute(
                f"SELECT COUNT(*) FROM part WHERE message_id IN ({marks})", ids
            ).fetchone()[0]
        )


def test_copies_of_claude_rows_are_found_and_deleted_by_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = build(tmp_path)
    sid = biggest_sessions(corpus.db, 1)[0]
    with raw(corpus.db) as conn:
        originals = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM message WHERE session_id = ? AND EXISTS "
                "(SELECT 1 FROM part WHERE message_id = message.id) ORDER BY seq LIMIT 3",
                (sid,),
            )
        ]
        made = [copy_row(conn, mid) for mid in originals]
    assert parts_of(corpus.db, made) > 0
    before = [r for r in rows_of(corpus.db) if r[0] not in made]
    code, dry = cli(capsys, corpus.db, "repair", "--dry-run", "--json")
    assert code == 0, dry
    step = next(s for s in dry["plan"]["steps"] if "duplicate_rows" in s["kinds"])
    assert sorted(d["id"] for d in step["deletes"]) == made
    assert (
        f"keeps #{originals[0]}, the row the log line names; deletes #{made[0]}"
        in (step["summary"])
    )
    report = check_repair_check(corpus, tmp_path, capsys, {"duplicate_rows"})
    problem = next(p for p in report["problems"] if p["kind"] == "duplicate_rows")
    assert problem["count"] == 3 and problem["sessions"] == [sid]
    after = rows_of(corpus.db)
    assert [r[0] for r in after] == [r[0] for r in before]  # the originals kept, by id
    assert parts_of(corpus.db, made) == 0  # the copies' parts went with them


def test_an_orphaned_copy_is_not_attached_to_the_real_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A copy whose session row does not exist: the repair must not bring it back under the
    real session as a second copy."""
    corpus = build(tmp_path)
    sid = biggest_sessions(corpus.db, 1)[0]
    with raw(corpus.db) as conn:
        mid, text = conn.execute(
            "SELECT id, text FROM message WHERE session_id = ? ORDER BY seq LIMIT 1 OFFSET 2",
            (sid,),
        ).fetchone()
        copy_row(conn, mid, session="999999")
    before = rows_of(corpus.db)
    check_repair_check(corpus, tmp_path, capsys, {"duplicate_rows"})
    after = rows_of(corpus.db)
    assert after == [r for r in before if r[1] != 999999]  # the copy gone, nothing else changed
    assert [r[4] for r in after if r[1] == sid].count(text) == [
        r[4] for r in before if r[1] == sid
    ].count(text)


def test_block_groups_are_not_copies_and_survive_a_repair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every agent's fixtures: the Gemini and opencode block groups are no finding; a copy of
    one block of a group is, and the repair deletes that copy and leaves every group as it was."""
    db = tmp_path / "s.db"
    code, out = cli(capsys, db, "ingest", *map(str, every_fixture(tmp_path)), "--json")
    assert code == 0, out
    with raw(db) as conn:
        groups = conn.execute(
            "SELECT s.agent, m.session_id, group_concat(m.id) FROM message AS m NOT INDEXED "
            "JOIN session AS s ON s.id = m.session_id GROUP BY m.session_id, m.raw "
            "HAVING COUNT(*) > 1"
        ).fetchall()
        assert {g[0] for g in groups} == {"gemini", "opencode"}
        block = max(groups, key=lambda g: len(g[2]))[2].split(",")[1]  # a block, not the head
        made = copy_row(conn, int(block))
    kept = {table: rows for table, rows in snapshot(db).items() if table in ("message", "part")}
    code, report = cli(capsys, db, "check", "--json")
    assert code == 1 and kinds(report) >= {"duplicate_rows"}, report
    problem = next(p for p in report["problems"] if p["kind"] == "duplicate_rows")
    assert problem["count"] == 1, problem
    code, out = cli(capsys, db, "repair", "--yes", "--pause", "0")
    assert code == 0, out
    code, after = cli(capsys, db, "check", "--json")
    assert (code, after["problems"]) == (0, []), after
    now = snapshot(db)
    ids = {g: [r for r in now["message"] if str(r[0]) in g[2].split(",")] for g in groups}
    for (_agent, _sid, members), rows in ids.items():  # every group member, unchanged
        assert [r[0] for r in rows] == [int(i) for i in members.split(",")]
        assert [r[3:] for r in rows] == [
            r[3:] for r in kept["message"] if str(r[0]) in members.split(",")
        ]
    assert made not in {r[0] for r in now["message"]}


@pytest.mark.parametrize("how", ["log gone", "no source"])
def test_copies_in_a_kept_session_are_found_by_raw_record_and_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    """A session whose log is gone (or whose rows have no source at all) is compared by raw
    record and block alone: its copies are found and deleted, its rows are kept."""
    corpus = build(tmp_path)
    sid = biggest_sessions(corpus.db, 1)[0]
    with raw(corpus.db) as conn:
        path = conn.execute(
            "SELECT s.path FROM source AS s JOIN message AS m ON m.source_id = s.id "
            "WHERE m.session_id = ? LIMIT 1",
            (sid,),
        ).fetchone()[0]
    Path(path).unlink()
    code, out = cli(capsys, corpus.db, "repair", "--yes", "--pause", "0")
    assert code == 0, out
    with raw(corpus.db) as conn:
        if how == "no source":
            conn.execute("UPDATE message SET source_id = NULL WHERE session_id = ?", (sid,))
        mid = conn.execute(
            "SELECT id FROM message WHERE session_id = ? ORDER BY seq LIMIT 1 OFFSET 1", (sid,)
        ).fetchone()[0]
        made = copy_row(conn, mid)
    before = [r for r in rows_of(corpus.db) if r[0] != made]
    code, report = cli(capsys, corpus.db, "check", "--json")
    assert code == 1 and "duplicate_rows" in kinds(report), report
    code, out = cli(capsys, corpus.db, "repair", "--yes", "--pause", "0")
    assert code == 0, out
    code, report = cli(capsys, corpus.db, "check", "--json")
    assert (code, report["problems"]) == (0, []), report
    assert [r[0] for r in rows_of(corpus.db)] == [r[0] for r in before]
