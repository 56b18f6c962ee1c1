"""Shared by the repair tests: a store ingested from real samples, damage made the way it happens
in the wild, the CLI, and the "nothing in the logs was lost" comparison with a fresh ingest."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from store import db as store_db
from store.ingest.driver import Ingester
from tests.conftest import CLAUDE, CODEX
from tui.cli.main import main

# A small, varied corpus: a session spread over two files (turn-1 is a prefix of turn-2), a
# sub-agent file, bookkeeping-heavy sessions, and two Codex formats.
SAMPLES = [
    (
        CLAUDE / "codemie-ai__codemie-code/tests/integration/session/fixtures/claude/"
        "incremental-simple",
        "-work-simple",
    ),
    (
        CLAUDE / "daaain__claude-code-log/test/test_data/real_projects/-src-experiments-claude_p",
        "-src-experiments-claude_p",
    ),
    (
        CLAUDE / "daaain__claude-code-log/test/test_data/real_projects/-experiments-ideas",
        "-experiments-ideas",
    ),
]
CODEX_SAMPLES = [
    CODEX / "daaain__claude-code-log/test/test_data/codex/sessions/2026/01/02/"
    "rollout-2026-01-02T03-04-05-11111111-1111-4111-8111-111111111111.jsonl",
    CODEX / "yoavf__ai-sessions/examples/codex-pomodor-timer.jsonl",
]


@dataclass
class Corpus:
    db: Path
    home: Path
    claude: Path
    codex: Path

    @property
    def roots(self) -> list[Path]:
        return [self.claude, self.codex]


def build(tmp_path: Path) -> Corpus:
    """Logs copied where the agents keep them (under the test's $HOME), ingested into a store."""
    home = Path.home()
    claude = home / ".claude" / "projects"
    codex = home / ".codex" / "sessions"
    for src, name in SAMPLES:
        shutil.copytree(src, claude / name)
    codex.mkdir(parents=True)
    for src in CODEX_SAMPLES:
        shutil.copyfile(src, codex / src.name)
    corpus = Corpus(tmp_path / "s.db", home, claude, codex)
    ingest_into(corpus.db, corpus.roots)
    return corpus


def ingest_into(path: Path, roots: list[Path]) -> None:
    store_db.open_store(path)
    with store_db.reading():
        report = Ingester().run(roots)
    assert not report.errors, report.errors
    store_db.close()


@contextmanager
def raw(path: Path, *, fk: bool = False) -> Iterator[sqlite3.Connection]:
    """A plain connection, as another program (or an old bug) would use it."""
    store_db.close()
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(f"PRAGMA foreign_keys = {int(fk)}")
        yield conn


def cli(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, Any]:
    """Run `convo --db DB ARGS`; returns (exit code, parsed JSON or the text printed)."""
    capsys.readouterr()
    code = main(["--db", str(db), *args])
    captured = capsys.readouterr()
    try:
        return code, json.loads(captured.out)
    except json.JSONDecodeError:
        return code, captured.out + captured.err


def kinds(report: dict[str, Any]) -> set[str]:
    return {p["kind"] for p in report["problems"]}


def snapshot(path: Path) -> dict[str, Any]:
    """Every row of every table and the schema: equal before and after means nothing changed."""
    with raw(path) as conn:
        # Virtual (FTS5) tables are read through their shadow tables, which are listed too.
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name"
            )
        ]
        out: dict[str, Any] = {
            "schema": conn.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"
            ).fetchall()
        }
        for table in tables:
            try:
                rows = conn.execute(f'SELECT * FROM "{table}" NOT INDEXED ORDER BY rowid')
            except sqlite3.OperationalError:  # a WITHOUT ROWID table (FTS5's config)
                rows = conn.execute(f'SELECT * FROM "{table}" ORDER BY 1')
            out[table] = rows.fetchall()
    return out


def transcripts(path: Path) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(agent, native id) -> [(stable id, text)] in seq order, rows that are in the logs only."""
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    with raw(path) as conn:
        for agent, native, stable, text in conn.execute(
            "SELECT s.agent, s.native_id, m.stable_id, m.text FROM message AS m NOT INDEXED "
            "JOIN session AS s ON s.id = m.session_id WHERE m.stale = 0 "
            "ORDER BY m.session_id, m.seq, m.id"
        ):
            out.setdefault((agent, native), []).append((stable, text))
    return out


def assert_logs_intact(corpus: Corpus, tmp_path: Path) -> None:
    """Every message in the log files is in the store, once, in order, with its text."""
    repaired = transcripts(corpus.db)
    fresh_db = tmp_path / "fresh.db"
    ingest_into(fresh_db, corpus.roots)
    fresh = transcripts(fresh_db)
    assert fresh, "the fresh ingest found nothing"
    for key, rows in fresh.items():
        assert repaired.get(key) == rows, f"session {key} differs from a fresh ingest"


def seq_rows(path: Path, session_id: int) -> list[tuple[int, int]]:
    with raw(path) as conn:
        return conn.execute(
            "SELECT id, seq FROM message NOT INDEXED WHERE session_id = ? ORDER BY id",
            (session_id,),
        ).fetchall()


def biggest_sessions(path: Path, n: int = 2) -> list[int]:
    with raw(path) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT session_id FROM message GROUP BY session_id ORDER BY COUNT(*) DESC, "
                "session_id LIMIT ?",
                (n,),
            )
        ]


def reverse(path: Path, session_id: int) -> None:
    """Seq values in reverse of the order the rows were stored in."""
    with raw(path) as conn:
        conn.execute("UPDATE message SET seq = -seq WHERE session_id = ?", (session_id,))
        conn.execute("UPDATE message SET seq = 100000 + seq WHERE session_id = ?", (session_id,))


def reversed_corpus(tmp_path: Path, sessions: int = 3) -> Corpus:
    """The real samples, ingested, with the seq of the largest `sessions` sessions reversed."""
    corpus = build(tmp_path)
    for sid in biggest_sessions(corpus.db, sessions):
        reverse(corpus.db, sid)
    return corpus


def stop_after(batches: int, seen: list[int], batch_rows: int) -> dict[str, Any]:
    """Keyword arguments for `jobs.run` / `jobs.apply`: fixed batches of `batch_rows`, no pause,
    each batch's rows-done appended to `seen`, and a stop (as the user's) after `batches`."""
    return {
        "batch_s": None,
        "batch_rows": batch_rows,
        "pause_s": 0,
        "progress": lambda st: seen.append(st.rows_done),
        "should_stop": lambda: len(seen) >= batches,
    }


@contextmanager
def running_elsewhere() -> Iterator[tuple[int, int]]:
    """A recount job of the open store that another live process runs (a sleeping child holds
    the pid): yields (job id, pid); the child is killed on exit."""
    from store import funnel
    from store.models import Job
    from store.repair import jobs

    job_id = jobs.create("recount", {"sessions": None, "sources": []})
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        Job.update(status="running", pid=other.pid, updated_at=funnel.now_ms()).where(
            Job.id == job_id
        ).execute()
        yield job_id, other.pid
    finally:
        other.kill()
        other.wait()
