"""The repair lease: while a repair has dropped a unique index of `message` (to rebuild one that
lied), an ingest in another process waits, says why, and goes on once the index is back: it
never fails and never stores a message twice."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store import db as store_db
from store.models import Job
from tests.conftest import CLAUDE
from tests.store.repair.repair_support import build, cli, raw, running_elsewhere

INDEX = "message_session_id_stable_id"


def test_an_ingest_waits_while_a_repair_rebuilds_a_unique_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = build(tmp_path)
    with raw(corpus.db) as conn:
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (INDEX,)).fetchone()[0]
    # New lines to ingest: a session the store has not seen, and a copy of one it has.
    extra = tmp_path / "extra"
    shutil.copytree(corpus.claude / "-work-simple", extra / "again")
    shutil.copyfile(
        CLAUDE / "git-ai-project__git-ai/tests/fixtures/claude-code-with-plan.jsonl",
        extra / "new.jsonl",
    )
    store_db.open_store(corpus.db)
    err = tmp_path / "ingest.err"
    with running_elsewhere() as (job_id, _pid), err.open("w") as stderr:
        with raw(corpus.db) as conn:  # the repair's first step: the index dropped, a stand-in
            conn.execute(f'DROP INDEX "{INDEX}"')
            conn.execute(sql.replace("UNIQUE INDEX", "INDEX").replace(INDEX, INDEX + "_repair"))
        before = rows(corpus.db)
        writer = subprocess.Popen(
            [sys.executable, "-m", "tui.cli.main", "--db", str(corpus.db), "ingest", str(extra)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=Path(__file__).parents[3],
        )
        try:
            deadline = time.monotonic() + 20
            while "waiting" not in err.read_text() and time.monotonic() < deadline:
                assert writer.poll() is None, err.read_text()
                time.sleep(0.1)
            assert "the store is being repaired" in err.read_text()
            assert INDEX in err.read_text()
            time.sleep(0.5)
            assert writer.poll() is None  # still waiting: nothing written meanwhile
            assert rows(corpus.db) == before
            with raw(corpus.db) as conn:  # the repair's last step: the index back, as declared
                conn.execute(f'DROP INDEX "{INDEX}_repair"')
                conn.execute(sql)
            assert writer.wait(timeout=60) == 0, err.read_text()
        finally:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
        store_db.open_store(corpus.db)
        Job.update(status="done").where(Job.id == job_id).execute()
    store_db.close()
    after = rows(corpus.db)
    assert once(corpus.db)
    assert after > before  # the new file's messages were added
    code, report = cli(capsys, corpus.db, "check", "--json", "--no-logs")
    assert (code, report["problems"]) == (0, []), report


def rows(db: Path) -> int:
    with raw(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM message NOT INDEXED").fetchone()[0])


def once(db: Path) -> bool:
    """No (session, stable id) is stored twice."""
    with raw(db) as conn:
        return not conn.execute(
            "SELECT 1 FROM message NOT INDEXED GROUP BY session_id, stable_id HAVING COUNT(*) > 1"
        ).fetchall()
