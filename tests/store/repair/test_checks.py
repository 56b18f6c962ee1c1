"""`convo check`: clean on a healthy store, exit 2 with one line when the store is unusable, and
notes (not problems) for what is kept on purpose."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from store import db as store_db
from store.repair import checks, fingerprints
from store.repair.findings import IndexSpec
from tests.conftest import CODEX
from tests.store.repair.repair_support import build, cli, ingest_into, raw

ROOT = Path(__file__).resolve().parents[3]


def test_healthy_store_is_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = build(tmp_path)
    code, report = cli(capsys, corpus.db, "check", "--json")
    assert (code, report) == (0, {"ok": True, "problems": [], "notes": []})
    code, text = cli(capsys, corpus.db, "check")
    assert code == 0 and text.startswith("ok: no problems found")


def test_every_fixture_ingests_into_a_clean_store(tmp_path: Path) -> None:
    """The invariants the checks rely on hold for what ingest writes, on every sample."""
    fixtures = ROOT / "tests" / "fixtures"
    ingest_into(tmp_path / "all.db", [fixtures / "claude-code", fixtures / "codex"])
    store_db.open_store(tmp_path / "all.db")
    report = checks.run(logs=False)
    assert report.ok, report.to_json()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("kind", ["missing-folder", "random-bytes", "truncated", "folder"])
def test_unusable_store_exits_2_with_one_line(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "store.db"
    if kind == "missing-folder":
        target = tmp_path / "no" / "such" / "store.db"
    elif kind == "random-bytes":
        target.write_bytes(os.urandom(40_000))
    elif kind == "truncated":
        build(tmp_path)
        data = (tmp_path / "s.db").read_bytes()
        target.write_bytes(data[: len(data) // 2])
    else:
        target.mkdir()
    for json_flag in ([], ["--json"]):
        done = run_cli("--db", str(target), "check", *json_flag)
        assert done.returncode == 2, done
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith("convo: error:") and "Traceback" not in done.stderr
    assert not (tmp_path / "no").exists(), "check created the missing folder"


def test_stale_rows_and_gone_logs_are_notes_not_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rewritten log without some rows: they are kept (stale), and noted, not damage."""
    corpus = build(tmp_path)
    log = corpus.codex / "rollout-2026-01-02T03-04-05-11111111-1111-4111-8111-111111111111.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[0] + b"".join(lines[3:]))  # rewritten without two records
    ingest_into(corpus.db, corpus.roots)
    with raw(corpus.db) as conn:
        stale = conn.execute("SELECT COUNT(*) FROM message WHERE stale = 1").fetchone()[0]
    assert stale
    code, report = cli(capsys, corpus.db, "check", "--json")
    assert (code, report["problems"]) == (0, []), report
    assert "stale_rows" in {n["kind"] for n in report["notes"]}
    code, out = cli(capsys, corpus.db, "repair", "--yes")
    assert code == 0 and "nothing to repair" in out
    with raw(corpus.db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM message WHERE stale = 1").fetchone()[0] == stale


def test_check_without_logs_and_progress(tmp_path: Path) -> None:
    corpus = build(tmp_path)
    (corpus.codex / "new.jsonl").write_bytes(
        (CODEX / "git-ai-project__git-ai/tests/fixtures/codex-session-simple.jsonl").read_bytes()
    )
    store_db.open_store(corpus.db)
    steps: list[str] = []
    assert checks.run(logs=False, progress=lambda name, _i, _n: steps.append(name)).ok
    assert steps[0] == "pages" and "logs" in steps
    report = checks.run()
    assert [p.kind for p in report.problems] == ["log_new"]
    with pytest.raises(checks.Cancelled):
        checks.run(should_stop=lambda: True)


def test_fingerprints_see_an_index_entry_too_many(tmp_path: Path) -> None:
    """A row deleted while its index was hidden leaves an entry that points nowhere."""
    corpus = build(tmp_path)
    with raw(corpus.db) as conn:
        entry = conn.execute(
            "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_master "
            "WHERE name = 'part_message_id_idx'"
        ).fetchone()
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("DELETE FROM sqlite_master WHERE name = 'part_message_id_idx'")
        conn.execute("PRAGMA writable_schema = OFF")
    with raw(corpus.db) as conn:
        conn.execute("DELETE FROM part WHERE id = (SELECT MAX(id) FROM part)")
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("INSERT INTO sqlite_master VALUES (?, ?, ?, ?, ?)", entry)
        conn.execute("PRAGMA writable_schema = OFF")
    store_db.open_store(corpus.db)
    report = checks.run(logs=False)
    assert report.findings.drifted_indexes == ("part_message_id_idx",)
    assert [p.kind for p in report.problems] == ["index_drift"]


def test_declared_indexes_match_a_fresh_store(tmp_path: Path) -> None:
    store_db.open_store(tmp_path / "fresh.db")
    with store_db.reading() as conn:
        actual = fingerprints.actual_indexes(conn)
    declared = {s.name: s for s in fingerprints.expected_indexes()}
    assert declared == actual
    assert declared["message_session_id_seq"] == IndexSpec(
        "message_session_id_seq", "message", ("session_id", "seq"), True
    )


def test_a_copied_store_checks_the_same(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = build(tmp_path)
    shutil.copyfile(corpus.db, tmp_path / "copy.db")
    assert cli(capsys, tmp_path / "copy.db", "check", "--json")[0] == 0
