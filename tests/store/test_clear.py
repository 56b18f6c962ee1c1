"""Rule 3: clearing a session scans the table for ids, so a drifted index leaves no ghosts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from store import clear
from store import db as store_db
from store.ingest.driver import Ingester
from tests.conftest import CLAUDE

SAMPLE = CLAUDE / "daaain__claude-code-log/test/test_data/representative_messages.jsonl"
INDEX = "message_session_id_seq"


def _drift_index(path: Path, session_id: int) -> None:
    """Add rows the (session_id, seq) index does not know about, as a crashed writer can.

    For a moment the schema says the index is partial (`WHERE seq < 1000`), so rows with a
    larger seq go in without index entries; then the full definition is put back.
    """
    store_db.close()
    conn = sqlite3.connect(path)
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (INDEX,)).fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "UPDATE sqlite_master SET sql = ? WHERE name = ?", (sql + " WHERE seq < 1000", INDEX)
    )
    conn.commit()
    conn.close()
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO message (session_id, seq, stable_id, role, kind, line_type, text, hidden,"
        " stale) VALUES (?, ?, ?, 'user', 'prompt', 'user', 'ghost', 0, 0)",
        [(session_id, 1000 + i, f"ghost-{i}") for i in range(3)],
    )
    conn.commit()
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = ?", (sql, INDEX))
    conn.commit()
    conn.close()
    store_db.open_store(path)


def test_clear_session_finds_rows_a_drifted_index_misses(db_file: Path) -> None:
    Ingester().run([SAMPLE])
    with store_db.reading() as conn:
        session_id = conn.execute("SELECT id FROM session").fetchone()[0]
    _drift_index(db_file, session_id)
    with store_db.reading() as conn:
        through_index = conn.execute(
            f"SELECT COUNT(*) FROM message INDEXED BY {INDEX} WHERE session_id = ?", (session_id,)
        ).fetchone()[0]
        plan = conn.execute(f"EXPLAIN QUERY PLAN {clear.IDS_SQL}", (session_id,)).fetchall()
    assert through_index == 12  # the index cannot see the 3 rows added behind its back
    assert "SCAN message" in plan[0][3]
    assert len(clear.message_ids(session_id)) == 15
    assert clear.clear_session(session_id) == 15
    with store_db.reading() as conn:
        assert conn.execute("SELECT COUNT(*) FROM message NOT INDEXED").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM part").fetchone()[0] == 0  # cascaded


def test_reingest_after_clear_restores_the_session(db_file: Path) -> None:
    Ingester().run([SAMPLE])
    with store_db.reading() as conn:
        session_id = conn.execute("SELECT id FROM session").fetchone()[0]
        before = conn.execute("SELECT seq, stable_id, text FROM message ORDER BY seq").fetchall()
    clear.clear_session(session_id)
    assert clear.reset_source_for(session_id) == str(SAMPLE)
    assert Ingester().run([SAMPLE]).messages_added == 12
    with store_db.reading() as conn:
        after = conn.execute("SELECT seq, stable_id, text FROM message ORDER BY seq").fetchall()
        count = conn.execute("SELECT message_count FROM session").fetchone()[0]
    assert after == before and count == 12
