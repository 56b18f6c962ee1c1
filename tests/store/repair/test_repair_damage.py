"""Each kind of damage, made in a real store the way it happens in the wild: `check` finds it,
`repair --dry-run` changes nothing, `repair --yes` fixes it, `check` is then clean, and every
message in the log files is there once, in order, with its text (compared with a fresh ingest)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from store.append import compress
from tests.store.repair.repair_support import (
    Corpus,
    assert_logs_intact,
    biggest_sessions,
    build,
    cli,
    ingest_into,
    kinds,
    raw,
    snapshot,
    transcripts,
)

Damage = Callable[[Corpus], None]


def check_repair_check(
    corpus: Corpus, tmp_path: Path, capsys: pytest.CaptureFixture[str], expected: set[str]
) -> dict[str, Any]:
    """The cycle every damage test goes through; returns the first check's report."""
    code, report = cli(capsys, corpus.db, "check", "--json")
    assert code == 1, report
    assert expected <= kinds(report), report
    before = snapshot(corpus.db)
    code, dry = cli(capsys, corpus.db, "repair", "--dry-run", "--json")
    assert code == 0
    assert dry["plan"]["steps"], dry
    assert snapshot(corpus.db) == before, "--dry-run changed the store"
    code, out = cli(capsys, corpus.db, "repair", "--yes", "--batch", "7", "--pause", "0")
    assert code == 0, out
    code, after = cli(capsys, corpus.db, "check", "--json")
    assert (code, after["problems"]) == (0, []), after
    assert list(tmp_path.glob("s.db.bak-*")), "no backup was taken"
    assert_logs_intact(corpus, tmp_path)
    result: dict[str, Any] = report
    return result


# ------------------------------------------------------------------------------------------


def test_duplicates_let_in_by_non_unique_indexes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unique indexes recreated as plain ones let an old insert path store messages twice."""
    corpus = build(tmp_path)
    with raw(corpus.db) as conn:
        for name, cols in (
            ("message_session_id_seq", "session_id, seq"),
            ("message_session_id_stable_id", "session_id, stable_id"),
        ):
            conn.execute(f"DROP INDEX {name}")
            conn.execute(f"CREATE INDEX {name} ON message ({cols})")
        ids = [r[0] for r in conn.execute("SELECT id FROM message ORDER BY id LIMIT 40")]
        cols = (
            "session_id, seq, stable_id, native_id, group_id, role, kind, line_type, "
            "timestamp, model, tokens_in, tokens_out, text, hidden, stale, source_id, line, raw"
        )
        for n, mid in enumerate(ids[::4]):  # a copy on the same seq, or appended at the end
            seq = (
                "seq"
                if n % 2
                else (
                    "(SELECT MAX(seq) + 1 FROM message AS o "
                    "WHERE o.session_id = message.session_id)"
                )
            )
            conn.execute(
                f"INSERT INTO message ({cols}) SELECT {cols.replace('seq', seq, 1)} "
                "FROM message WHERE id = ?",
                (mid,),
            )
        # The earliest copy of one message no longer matches its log line: the later one does.
        conn.execute(
            "UPDATE message SET raw = ?, text = 'garbled' WHERE id = ?",
            (compress(b'{"garbled": true}'), ids[4]),
        )
    report = check_repair_check(
        corpus, tmp_path, capsys, {"duplicate", "index_schema", "seq_repeated"}
    )
    assert any(p["kind"] == "duplicate" and p["count"] == 10 for p in report["problems"])


def test_index_that_disagrees_with_its_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rows written while an index was hidden from the schema (writable_schema) are missing
    from it: the index lies about the table."""
    corpus = build(tmp_path)
    sid = biggest_sessions(corpus.db, 1)[0]
    with raw(corpus.db) as conn:
        entry = conn.execute(
            "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_master "
            "WHERE name = 'message_session_id_seq'"
        ).fetchone()
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("DELETE FROM sqlite_master WHERE name = 'message_session_id_seq'")
        conn.execute("PRAGMA writable_schema = OFF")
    with raw(corpus.db) as conn:
        conn.execute("UPDATE message SET seq = seq + 1000 WHERE session_id = ? AND seq > 5", (sid,))
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("INSERT INTO sqlite_master VALUES (?, ?, ?, ?, ?)", entry)
        conn.execute("PRAGMA writable_schema = OFF")
    with raw(corpus.db) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"  # pages are fine
    report = check_repair_check(corpus, tmp_path, capsys, {"index_drift", "seq_gap"})
    drift = next(p for p in report["problems"] if p["kind"] == "index_drift")
    assert "message_session_id_seq" in drift["detail"]


def test_drifted_unique_index_that_let_a_duplicate_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A copy inserted while the (session, stable id) index was hidden: it cannot simply be
    REINDEXed (the table now has two equal keys), so it is dropped, the copy deleted by id, and
    the index recreated."""
    corpus = build(tmp_path)
    with raw(corpus.db) as conn:
        entry = conn.execute(
            "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_master "
            "WHERE name = 'message_session_id_stable_id'"
        ).fetchone()
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("DELETE FROM sqlite_master WHERE name = 'message_session_id_stable_id'")
        conn.execute("PRAGMA writable_schema = OFF")
    with raw(corpus.db) as conn:
        conn.execute(
            "INSERT INTO message (session_id, seq, stable_id, role, kind, line_type, text, "
            "hidden, stale, source_id, line, raw) SELECT session_id, "
            "(SELECT MAX(seq) + 1 FROM message AS o WHERE o.session_id = m.session_id), "
            "stable_id, role, kind, line_type, text, hidden, stale, source_id, line, raw "
            "FROM message AS m WHERE id = 3"
        )
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("INSERT INTO sqlite_master VALUES (?, ?, ?, ?, ?)", entry)
        conn.execute("PRAGMA writable_schema = OFF")
    check_repair_check(corpus, tmp_path, capsys, {"index_drift", "duplicate"})


def test_zero_and_shuffled_seq(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Historical broken sequences: a zero, a session in reverse, one with gaps."""
    corpus = build(tmp_path)
    first, second = biggest_sessions(corpus.db, 2)
    with raw(corpus.db) as conn:
        conn.execute(
            "UPDATE message SET seq = 0 WHERE id = (SELECT MIN(id) FROM message "
            "WHERE session_id = ?)",
            (second,),
        )
        conn.execute("UPDATE message SET seq = -seq WHERE session_id = ?", (first,))
        conn.execute("UPDATE message SET seq = 100000 + seq WHERE session_id = ?", (first,))
        conn.execute(
            "UPDATE message SET seq = 100000 + seq * 3 WHERE session_id = ? AND seq > 5", (second,)
        )
    report = check_repair_check(corpus, tmp_path, capsys, {"seq_zero", "seq_order", "seq_gap"})
    order = next(p for p in report["problems"] if p["kind"] == "seq_order")
    assert first in order["sessions"]


def test_orphans_left_with_foreign_keys_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A session row deleted and a message deleted with foreign keys off, a part for a message
    that never existed, a parent link to nothing."""
    corpus = build(tmp_path)
    first, second = biggest_sessions(corpus.db, 2)
    with raw(corpus.db) as conn:
        conn.execute("DELETE FROM session WHERE id = ?", (first,))
        mid = conn.execute(
            "SELECT id FROM message WHERE session_id = ? AND id IN "
            "(SELECT message_id FROM part) ORDER BY seq LIMIT 1 OFFSET 3",
            (second,),
        ).fetchone()[0]
        conn.execute("DELETE FROM message WHERE id = ?", (mid,))
        conn.execute(
            "INSERT INTO part (message_id, idx, type, text, is_error) "
            "VALUES (987654, 0, 'text', 'junk', 0)"
        )
        conn.execute("UPDATE session SET parent_id = 424242 WHERE id = ?", (second,))
        assert conn.execute("PRAGMA foreign_key_check").fetchall()
    check_repair_check(
        corpus, tmp_path, capsys, {"orphan_message", "orphan_part", "dangling_ref", "log_short"}
    )


def test_orphans_whose_log_is_gone_are_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Messages whose session row and log file are both gone: kept under a recovered session."""
    corpus = build(tmp_path)
    codex_file = next(corpus.codex.glob("*pomodor*"))
    with raw(corpus.db) as conn:
        sid, count = conn.execute(
            "SELECT m.session_id, COUNT(*) FROM message AS m JOIN source AS s ON s.id = "
            "m.source_id WHERE s.path = ? GROUP BY m.session_id",
            (str(codex_file),),
        ).fetchone()
        conn.execute("DELETE FROM session WHERE id = ?", (sid,))
    codex_file.unlink()
    check_repair_check(corpus, tmp_path, capsys, {"orphan_message", "log_gone"})
    with raw(corpus.db) as conn:
        native, kept = conn.execute(
            "SELECT native_id, (SELECT COUNT(*) FROM message WHERE "
            "session_id = ?1) FROM session WHERE id = ?1",
            (sid,),
        ).fetchone()
    assert (native, kept) == (f"recovered-{sid}", count)


def test_drift_against_the_logs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A log never ingested, one that grew, one that disappeared (kept and marked)."""
    corpus = build(tmp_path)
    simple = corpus.claude / "-work-simple"
    turn1 = (simple / "turn-1.jsonl").read_bytes()
    shutil.copyfile(simple / "turn-1.jsonl", simple / "copy-of-turn-1.jsonl")  # new
    ideas = next((corpus.claude / "-experiments-ideas").glob("*.jsonl"))
    with (simple / "turn-1.jsonl").open("ab") as fh:  # grows, as a live session does
        fh.write((simple / "turn-2.jsonl").read_bytes()[len(turn1) :])
    gone = transcripts(corpus.db)
    ideas.unlink()
    report = check_repair_check(corpus, tmp_path, capsys, {"log_new", "log_changed", "log_gone"})
    assert any(p["kind"] == "log_gone" and p["sessions"] for p in report["problems"])
    kept = transcripts(corpus.db)
    lost = [k for k in gone if k not in kept]
    assert not lost, f"sessions whose log is gone were dropped: {lost}"
    _code, out = cli(capsys, corpus.db, "check", "--json")
    assert "log_gone_marked" in {n["kind"] for n in out["notes"]}


@pytest.mark.parametrize("how", ["overwrite", "truncate"])
def test_damaged_pages_rebuild_from_the_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    """Pages overwritten or the file cut short: the store is rebuilt from the logs into a new
    file, swapped in, and the old file kept."""
    corpus = build(tmp_path)
    size = corpus.db.stat().st_size
    with corpus.db.open("r+b") as fh:
        if how == "truncate":
            fh.truncate(size // 2)
        else:
            fh.seek(size // 2)
            fh.write(b"\xde\xad\xbe\xef" * 2048)
    code, report = cli(capsys, corpus.db, "check", "--json")
    assert code in (1, 2), report
    assert code == 2 or "corrupt" in kinds(report)
    before = corpus.db.read_bytes()
    code, dry = cli(capsys, corpus.db, "repair", "--dry-run", "--json")
    assert code == 0 and dry["plan"]["steps"][0]["action"] == "rebuild"
    assert corpus.db.read_bytes() == before
    code, _ = cli(capsys, corpus.db, "repair", "--yes")
    assert code == 0
    code, after = cli(capsys, corpus.db, "check", "--json")
    assert (code, after["problems"]) == (0, []), after
    assert [
        p.read_bytes()
        for p in tmp_path.glob("s.db.bak-*")
        if p.suffix != ".db-wal" and not p.name.endswith(("-wal", "-shm"))
    ] == [before]
    assert_logs_intact(corpus, tmp_path)


def test_missing_seq_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The (session, seq) index dropped and a seq zeroed: a non-unique stand-in keeps pages
    fast while the session is renumbered, then the unique index is created again."""
    corpus = build(tmp_path)
    sid = biggest_sessions(corpus.db, 1)[0]
    with raw(corpus.db) as conn:
        conn.execute("DROP INDEX message_session_id_seq")
        conn.execute(
            "UPDATE message SET seq = 2 WHERE id = (SELECT MAX(id) FROM message "
            "WHERE session_id = ?)",
            (sid,),
        )
    check_repair_check(corpus, tmp_path, capsys, {"index_schema", "seq_repeated"})
    with raw(corpus.db) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "message_session_id_seq" in names and "message_session_id_seq_repair" not in names


def test_rebuild_index_keeps_sessions_whose_logs_are_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`convo rebuild-index`: a new file from the logs, swapped in; a session whose log was
    deleted comes back whole from the old file, and rows a rewritten log lost come back stale."""
    corpus = build(tmp_path)
    rewritten = next(corpus.codex.glob("rollout-*.jsonl"))
    lines = rewritten.read_bytes().splitlines(keepends=True)
    rewritten.write_bytes(lines[0] + b"".join(lines[3:]))
    ingest_into(corpus.db, corpus.roots)
    ideas = next((corpus.claude / "-experiments-ideas").glob("*.jsonl"))
    before, stale = transcripts(corpus.db), stale_rows(corpus.db)
    assert stale
    ideas.unlink()
    code, out = cli(capsys, corpus.db, "rebuild-index")
    assert code == 0, out
    assert transcripts(corpus.db) == before, "a session was lost or changed by the rebuild"
    assert stale_rows(corpus.db) == stale, "rows the logs lost were not carried over, stale"
    code, report = cli(capsys, corpus.db, "check", "--json")
    assert (code, report["problems"]) == (0, []), report
    assert [n["kind"] for n in report["notes"]] == ["stale_rows", "log_gone_marked"]
    assert list(tmp_path.glob("s.db.bak-*")), "the old file was not kept"


def stale_rows(path: Path) -> list[tuple[str, str]]:
    with raw(path) as conn:
        return conn.execute(
            "SELECT stable_id, text FROM message WHERE stale = 1 ORDER BY stable_id"
        ).fetchall()


def test_repair_asks_before_changing_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = build(tmp_path)
    with raw(corpus.db) as conn:
        conn.execute("UPDATE session SET message_count = message_count + 5 WHERE id = 1")
    before = snapshot(corpus.db)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, out = cli(capsys, corpus.db, "repair")
    assert code == 2 and "--yes" in out
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda _prompt: "n")
    code, out = cli(capsys, corpus.db, "repair")
    assert code == 1 and "nothing changed" in out
    assert snapshot(corpus.db) == before
    monkeypatch.setattr("builtins.input", lambda _prompt: "y")
    assert cli(capsys, corpus.db, "repair")[0] == 0
    code, jobs_out = cli(capsys, corpus.db, "jobs", "--json")
    assert code == 0 and [j["name"] for j in jobs_out] == ["recount"]
    assert jobs_out[0]["status"] == "done"
