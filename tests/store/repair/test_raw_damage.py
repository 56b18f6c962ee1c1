"""A message's raw record damaged inside a well-formed page, and a store whose pages are damaged:
`show`, `export` and `check --deep` say which message (or that the store is damaged) and which
command fixes it, in one line, never a traceback; `repair --deep` re-reads such rows from their
logs, or names the messages that cannot be recovered when the log is gone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.store.repair.repair_support import Corpus, build, cli, kinds, raw


def damage_in_place(db: Path, message_id: int) -> None:
    """Bytes of one raw record zeroed in place: every page stays well-formed."""
    with raw(db) as conn:
        (blob,) = conn.execute("SELECT raw FROM message WHERE id = ?", (message_id,)).fetchone()
        bad = bytes(blob[:10]) + bytes(len(blob) - 10)
        conn.execute("UPDATE message SET raw = ? WHERE id = ?", (bad, message_id))


def largest_raw(db: Path) -> tuple[int, int, int, bytes]:
    """(id, session id, seq, compressed raw) of the message with the largest raw record."""
    with raw(db) as conn:
        row = conn.execute(
            "SELECT id, session_id, seq, raw FROM message ORDER BY length(raw) DESC LIMIT 1"
        ).fetchone()
    return int(row[0]), int(row[1]), int(row[2]), bytes(row[3])


def zero_overflow_page(db: Path, blob: bytes) -> int:
    """Zero, in the file, the last overflow page of the record whose raw is `blob`; its page
    number. The chain stays intact (the last page points nowhere anyway), so SQLite's own checks
    pass and only decompressing the record shows the damage."""
    with raw(db) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
        size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        overflow = {
            int(r[0]) for r in conn.execute("SELECT pageno FROM dbstat WHERE pagetype = 'overflow'")
        }
    data = db.read_bytes()
    at = data.find(blob[-64:])
    assert at > 0, "the record's tail is not in the file"
    page = at // size + 1
    assert page in overflow, "the record's tail is not on an overflow page"
    with db.open("r+b") as fh:
        fh.seek((page - 1) * size)
        fh.write(bytes(size))
    return page


def target(corpus: Corpus) -> tuple[int, int, int, str]:
    """(message id, session id, seq, session native id) of a visible message with a raw record."""
    with raw(corpus.db) as conn:
        row = conn.execute(
            "SELECT m.id, m.session_id, m.seq, s.native_id FROM message AS m "
            "JOIN session AS s ON s.id = m.session_id "
            "WHERE m.raw IS NOT NULL AND m.hidden = 0 AND m.stale = 0 "
            "ORDER BY m.session_id, m.seq LIMIT 1 OFFSET 3"
        ).fetchone()
    return int(row[0]), int(row[1]), int(row[2]), str(row[3])


def jsonl_lines(db: Path, session_id: int) -> int:
    with raw(db) as conn:
        return int(
            conn.execute(
                "SELECT COUNT(*) FROM message WHERE session_id = ? AND raw IS NOT NULL "
                "AND length(raw) > 0 AND stale = 0",
                (session_id,),
            ).fetchone()[0]
        )


def test_export_skips_an_unreadable_record_and_says_which(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = build(tmp_path)
    mid, sid, seq, _native = target(corpus)
    want = jsonl_lines(corpus.db, sid)
    damage_in_place(corpus.db, mid)
    out_file = tmp_path / "out.jsonl"
    code, text = cli(
        capsys, corpus.db, "export", str(sid), "--format", "jsonl", "-o", str(out_file)
    )
    assert code == 1, text
    assert "Traceback" not in text and "unexpected error" not in text
    assert f"session {sid} #{seq}" in text and "convo repair --deep" in text, text
    assert "skipped 1 " in text, text
    assert len(out_file.read_bytes().splitlines()) == want - 1
    # to stdout as well
    code, text = cli(capsys, corpus.db, "export", str(sid), "--format", "jsonl")
    assert code == 1 and text.count("\n") == want, text
    # Markdown does not read the raw record: the whole session comes out
    code, text = cli(capsys, corpus.db, "export", str(sid))
    assert code == 0, text


def test_export_skips_a_record_whose_overflow_page_is_zeroed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = build(tmp_path)
    _mid, sid, seq, blob = largest_raw(corpus.db)
    assert len(blob) > 8192, "no record large enough to overflow"
    want = jsonl_lines(corpus.db, sid)
    zero_overflow_page(corpus.db, blob)
    code, report = cli(capsys, corpus.db, "check", "--json", "--no-logs")
    assert code == 0, report  # quick_check cannot see it: that is what --deep is for
    out_file = tmp_path / "out.jsonl"
    code, text = cli(
        capsys, corpus.db, "export", str(sid), "--format", "jsonl", "-o", str(out_file)
    )
    assert code == 1 and f"session {sid} #{seq}" in text, text
    assert "Traceback" not in text and "ZstdError" not in text
    assert len(out_file.read_bytes().splitlines()) == want - 1
    code, report = cli(capsys, corpus.db, "check", "--json", "--no-logs", "--deep")
    assert code == 1 and report["deep"]["integrity"] == [], report
    found = next(p for p in report["problems"] if p["kind"] == "raw_unreadable")
    assert found["sessions"] == [sid] and f"session {sid} #{seq}" in found["detail"], report
    code, text = cli(capsys, corpus.db, "repair", "--deep", "--yes")
    assert code == 0, text
    code, after = cli(capsys, corpus.db, "check", "--deep", "--json")
    assert (code, after["problems"]) == (0, []), after
    code, text = cli(capsys, corpus.db, "export", str(sid), "--format", "jsonl")
    assert code == 0 and text.count("\n") == want, text


def malformed(tmp_path: Path) -> Corpus:
    """Every page of the message table and its indexes overwritten (the schema still reads)."""
    corpus = build(tmp_path)
    with raw(corpus.db) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
        size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        pages = [
            int(r[0])
            for r in conn.execute(
                "SELECT pageno FROM dbstat WHERE name IN "
                "(SELECT name FROM sqlite_master WHERE tbl_name = 'message')"
            )
        ]
    with corpus.db.open("r+b") as fh:
        for page in pages:
            fh.seek((page - 1) * size)
            fh.write(b"\xde\xad\xbe\xef" * (size // 4))
    return corpus


@pytest.mark.parametrize("command", ["show", "export", "jsonl", "search"])
def test_a_damaged_store_says_so_and_which_command_repairs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    corpus = malformed(tmp_path)
    with raw(corpus.db) as conn:
        try:
            sid = conn.execute("SELECT MAX(id) FROM session").fetchone()[0] or 1
        except sqlite3.DatabaseError:
            sid = 1
    args = {
        "show": ["show", str(sid)],
        "export": ["export", str(sid)],
        "jsonl": ["export", str(sid), "--format", "jsonl", "-o", str(tmp_path / "out.jsonl")],
        "search": ["search", "the"],
    }[command]
    code, text = cli(capsys, corpus.db, *args)
    lines = [ln for ln in text.splitlines() if ln.startswith("convo:")]
    assert "Traceback" not in text and "unexpected error" not in text, text
    assert code == 2, text
    assert len(lines) == 1 and "damaged" in lines[0] and "convo repair" in lines[0], text
    assert not list(tmp_path.glob("*.partial"))


def test_check_deep_finds_the_record_and_repair_rereads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = build(tmp_path)
    mid, sid, seq, _native = target(corpus)
    with raw(corpus.db) as conn:
        (good,) = conn.execute("SELECT raw FROM message WHERE id = ?", (mid,)).fetchone()
    damage_in_place(corpus.db, mid)
    code, report = cli(capsys, corpus.db, "check", "--json")
    assert code == 0, report  # the default check does not decompress
    code, report = cli(capsys, corpus.db, "check", "--deep", "--json")
    assert code == 1 and "raw_unreadable" in kinds(report), report
    found = next(p for p in report["problems"] if p["kind"] == "raw_unreadable")
    assert found["sessions"] == [sid] and f"session {sid} #{seq}" in found["detail"]
    code, text = cli(capsys, corpus.db, "check", "--deep")
    assert code == 1 and "raw_unreadable" in text and f"#{seq}" in text, text
    assert "`convo repair --deep`" in text, text

    code, dry = cli(capsys, corpus.db, "repair", "--deep", "--dry-run", "--json")
    assert code == 0 and "reread" in [s["action"] for s in dry["plan"]["steps"]], dry
    code, text = cli(capsys, corpus.db, "repair", "--deep", "--yes")
    assert code == 0, text
    code, after = cli(capsys, corpus.db, "check", "--deep", "--json")
    assert (code, after["problems"]) == (0, []), after
    with raw(corpus.db) as conn:
        (back,) = conn.execute(
            "SELECT raw FROM message WHERE session_id = ? AND seq = ?", (sid, seq)
        ).fetchone()
    assert back == good
    code, text = cli(capsys, corpus.db, "export", str(sid), "--format", "jsonl")
    assert code == 0, text


def test_check_deep_names_what_cannot_be_recovered_when_the_log_is_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = build(tmp_path)
    mid, sid, seq, _native = target(corpus)
    with raw(corpus.db) as conn:
        (path,) = conn.execute(
            "SELECT src.path FROM message AS m JOIN source AS src ON src.id = m.source_id "
            "WHERE m.id = ?",
            (mid,),
        ).fetchone()
    damage_in_place(corpus.db, mid)
    Path(path).unlink()
    code, text = cli(capsys, corpus.db, "repair", "--deep", "--dry-run")
    assert code == 0, text
    assert f"session {sid} #{seq}" in text and "cannot be recovered" in text, text

    code, report = cli(capsys, corpus.db, "check", "--deep", "--json")
    lost = [n for n in report["notes"] if n["kind"] == "raw_lost"]
    assert lost and f"session {sid} #{seq}" in lost[0]["detail"], report


def test_check_deep_runs_integrity_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A damaged file: --deep reports it like the default check (a rebuild), never a crash."""
    corpus = malformed(tmp_path)
    code, text = cli(capsys, corpus.db, "check", "--deep")
    assert code in (1, 2) and "Traceback" not in text, text
    assert code == 2 or "corrupt" in text, text
    code, dry = cli(capsys, corpus.db, "repair", "--deep", "--dry-run", "--json")
    assert code == 0 and dry["plan"]["steps"][0]["action"] == "rebuild", dry


def test_deep_reads_the_records_in_bounded_batches_and_stops_when_asked(tmp_path: Path) -> None:
    from store import db as store_db
    from store.repair import deep
    from store.repair.checks import Cancelled

    corpus = build(tmp_path)
    mid, sid, seq, _native = target(corpus)
    damage_in_place(corpus.db, mid)
    store_db.open_store(corpus.db)
    seen: list[tuple[str, int, int]] = []
    with store_db.reading() as conn:
        total = int(conn.execute("SELECT COUNT(*) FROM message").fetchone()[0])
        report = deep.run(conn, batch=7, progress=lambda *step: seen.append(step))
        assert report.records == total and report.integrity == ()
        assert [(u.session_id, u.seq) for u in report.unreadable] == [(sid, seq)]
        reads = [done for what, done, _ in seen if what == "raw records"]
        assert reads == sorted(reads) and reads[-1] == total and len(reads) > total // 7
        with pytest.raises(Cancelled):
            deep.run(conn, batch=7, should_stop=lambda: len(seen) > 3)


def test_check_deep_finds_a_record_that_decompresses_but_says_something_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bytes changed inside a record whose zstd frame still decodes (frames carry no checksum):
    re-parsing it gives its row another text, so `--deep` finds it and the re-read restores it."""
    from store.append import compress, decompress

    corpus = build(tmp_path)
    with raw(corpus.db) as conn:
        mid, sid, seq, text, blob = conn.execute(
            "SELECT m.id, m.session_id, m.seq, m.text, m.raw FROM message AS m "
            "JOIN source AS s ON s.id = m.source_id WHERE s.agent = 'claude' "
            "AND m.kind = 'prompt' AND length(m.text) > 12 AND m.hidden = 0 LIMIT 1"
        ).fetchone()
        word = text.split()[0]
        line = decompress(blob)
        assert word.encode() in line
        bent = line.replace(word.encode(), word[::-1].upper().encode(), 1)
        conn.execute("UPDATE message SET raw = ? WHERE id = ?", (compress(bent), mid))
    code, report = cli(capsys, corpus.db, "check", "--deep", "--json")
    assert code == 1 and "raw_unreadable" in kinds(report), report
    found = next(p for p in report["problems"] if p["kind"] == "raw_unreadable")
    assert f"session {sid} #{seq}" in found["detail"]
    code, out = cli(capsys, corpus.db, "repair", "--deep", "--yes")
    assert code == 0, out
    code, after = cli(capsys, corpus.db, "check", "--deep", "--json")
    assert (code, after["problems"]) == (0, []), after
    with raw(corpus.db) as conn:
        (back,) = conn.execute(
            "SELECT raw FROM message WHERE session_id = ? AND seq = ?", (sid, seq)
        ).fetchone()
    assert decompress(back) == line


def test_check_deep_finds_nothing_in_healthy_fixture_stores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Re-parsing every Claude and Codex record gives back each row's text: no false alarm."""
    corpus = build(tmp_path)
    code, report = cli(capsys, corpus.db, "check", "--deep", "--json")
    assert (code, report["problems"]) == (0, []), report
