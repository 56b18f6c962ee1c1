"""The commit funnel: failures at COMMIT become logged, recorded events; nothing raises."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from store import append, funnel, pages
from store import db as store_db
from store.ingest.driver import Ingester
from store.records import PartRecord, SessionInfo
from tests.conftest import copy_fixture


def test_deferred_foreign_key_failure_at_commit_is_an_event(db_file: Path, tmp_path: Path) -> None:
    seen = []
    unsubscribe = funnel.subscribe(seen.append)
    ctx = funnel.Context(
        "assistant", event_id="msg-1", session_key="s1", source_path="/logs/a.jsonl", line=7
    )

    def work() -> None:
        # The part's message does not exist: with a DEFERRED foreign key the INSERT succeeds
        # and the violation surfaces only at COMMIT.
        append.connection().execute(append.PART_SQL, (999, 0, "text", "x", None, None, False))

    outcome = funnel.write(work, ctx)
    unsubscribe()
    assert not outcome.ok and outcome.error_kind == "integrity"
    assert "FOREIGN KEY" in (outcome.error or "")
    [row] = pages.failures()
    assert (row.kind, row.event_id, row.session_key, row.source_path, row.line) == (
        "commit",
        "msg-1",
        "s1",
        "/logs/a.jsonl",
        7,
    )
    assert seen and seen[0].event_id == "msg-1"
    log = (tmp_path / "logs" / "convo.log").read_text()
    assert "commit failed (integrity)" in log and "/logs/a.jsonl:7" in log and "msg-1" in log
    # the connection is still usable: the next event goes through
    nxt = funnel.write(
        lambda: append.upsert_session("claude", SessionInfo("s2"), None, None, None),
        funnel.Context("session"),
    )
    assert nxt.ok


def test_ingest_goes_on_after_a_commit_failure(db_file: Path, tmp_path: Path) -> None:
    log = copy_fixture(
        "claude-code/daaain__claude-code-log/test/test_data/representative_messages.jsonl",
        tmp_path / "logs-in",
    )
    with store_db.reading() as conn:
        # Storing line 4 also writes a part whose message does not exist: the deferred foreign
        # key lets the INSERT through and fails the COMMIT of the whole chunk.
        conn.execute(
            "CREATE TRIGGER orphan AFTER INSERT ON message WHEN NEW.line = 4 "
            "BEGIN INSERT INTO part (message_id, idx, type, is_error) "
            "VALUES (NEW.id + 1000000, 0, 'text', 0); END"
        )
    report = Ingester().run([log])
    assert report.commit_failures >= 1
    lines = [n for n, raw in enumerate(log.read_bytes().splitlines(), 1) if raw.strip()]
    with store_db.reading() as conn:
        stored = {r[0] for r in conn.execute("SELECT line FROM message")}
    assert stored == set(lines) - {4}  # only the failing event is lost
    failures = [f for f in pages.failures() if f.kind == "commit" and f.line == 4]
    assert failures and failures[0].source_path == str(log)
    again = Ingester().run([log])  # the offset advanced past the failed event: no retry storm
    assert again.files_unchanged == 1


def test_locked_database_is_retried_then_reported(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    store_db.open_store(path, timeout=0.05)
    blocker = sqlite3.connect(path, timeout=0)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        outcome = funnel.write(lambda: None, funnel.Context("probe"), retries=2)
    finally:
        blocker.rollback()
        blocker.close()
    assert not outcome.ok and outcome.error_kind == "locked"
    assert funnel.write(lambda: 1, funnel.Context("probe")).value == 1


def test_unexpected_error_in_work_does_not_raise(db_file: Path) -> None:
    def work() -> None:
        raise ValueError("bad value")

    outcome = funnel.write(work, funnel.Context("probe", event_id="e1"))
    assert not outcome.ok and outcome.error == "ValueError: bad value"
    assert pages.failures()[0].event_id == "e1"


def test_part_whose_message_is_gone_is_skipped(db_file: Path, tmp_path: Path) -> None:
    outcome = funnel.write(
        lambda: append.add_part(424242, 0, PartRecord("text", "x")), funnel.Context("part")
    )
    assert outcome.ok and outcome.value is False
    assert "skipped: the message is gone" in (tmp_path / "logs" / "convo.log").read_text()
