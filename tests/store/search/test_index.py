"""The full-text index on real store files: it finds what the logs say, follows every write (a
message written again, a rewind, a rewritten file, a cleared session, a failed commit), works
without FTS5, and is built for an existing store by a resumable job while search goes on."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from store import clear, funnel, textindex
from store import db as store_db
from store.db import reading
from store.ingest.driver import Ingester
from store.repair import checks, jobs, planner
from store.search import engine
from store.search.filters import Filters
from store.search.query import QueryError
from tests.conftest import FIXTURES
from tests.tui import stores

WORD = re.compile(r"[A-Za-z][A-Za-z0-9]{3,}")


def ingest(*paths: Path) -> None:
    with reading():
        report = Ingester().run(list(paths))
    assert not report.commit_failures, report.errors


def hits(text: str, **filters: object) -> list[engine.Hit]:
    """Every hit of a search, all pages walked."""
    found: list[engine.Hit] = []
    cursor = None
    flt = Filters(**filters, subagents=True)  # type: ignore[arg-type]
    while True:
        page = engine.search(text, flt, limit=50, cursor=cursor)
        found += page.hits
        cursor = page.next
        if cursor is None:
            return found


def integrity(path: Path) -> None:
    """FTS5's own full check, against the message table too (rank 1)."""
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO message_fts (message_fts, rank) VALUES ('integrity-check', 1)")
        conn.execute("INSERT INTO message_cjk (message_cjk) VALUES ('integrity-check')")


@pytest.fixture(scope="module")
def fixture_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stores.build_fixture_store(tmp_path_factory.mktemp("fts") / "master.db")


@pytest.fixture
def fixture_store(fixture_master: Path, tmp_path: Path) -> Path:
    path = stores.copy_store(fixture_master, tmp_path / "store.db")
    store_db.open_store(path)
    return path


def test_every_prompt_of_every_fixture_is_found_by_its_words(fixture_store: Path) -> None:
    """Recall: each user prompt, searched by three of its words, is a hit at its (session, seq)."""
    with reading() as conn:
        prompts = conn.execute(
            "SELECT m.session_id, m.seq, m.text FROM message AS m WHERE m.kind = 'prompt' "
            "AND m.hidden = 0 AND m.stale = 0 ORDER BY m.id"
        ).fetchall()
    tried = 0
    for session_id, seq, text in prompts:
        words = sorted(set(WORD.findall(text)), key=lambda w: (-len(w), w))[:3]
        if len(words) < 2:
            continue
        tried += 1
        where = {(h.session_id, h.seq) for h in hits(" ".join(words))}
        assert (session_id, seq) in where, (words, text[:80])
    assert tried >= 40


def test_identifiers_paths_flags_and_cjk_are_found(db_file: Path, tmp_path: Path) -> None:
    project = tmp_path / "projects" / "-w"
    project.mkdir(parents=True)
    texts = [
        "the bug is in parse_state when the line is cut",
        "open src/store/foo.py and look",
        "run it with --dry-run first",
        "我们修复了数据库迁移的问题",
        "Ich habe das Café-Menü geändert",
    ]
    lines = [
        {
            "type": "user",
            "sessionId": "s-ident",
            "uuid": f"u{i}",
            "timestamp": f"2026-05-01T10:00:0{i}.000Z",
            "cwd": "/w",
            "message": {"role": "user", "content": text},
        }
        for i, text in enumerate(texts)
    ]
    (project / "s-ident.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    ingest(tmp_path / "projects")
    for query, expected in (
        ("parse_state", 0),
        ("foo.py", 1),
        ("src/store/foo.py", 1),
        ("--dry-run", 2),
        ("数据库", 3),
        ("迁移", 3),
        ("cafe menu", 4),
        ("geandert", 4),
        ("zebra", None),
    ):
        found = [h.seq for h in hits(query)]
        assert found == ([] if expected is None else [expected + 1]), query
    (cjk,) = hits("数据库")
    assert "数据库" in cjk.snippet and cjk.spans
    start, end = cjk.spans[0]
    assert "数据库" in cjk.snippet[start - 2 : end + 2]
    integrity(db_file)


def test_the_index_follows_messages_written_again_rewinds_and_clears(
    db_file: Path, tmp_path: Path
) -> None:
    chats = tmp_path / "gemini" / "tmp" / "proj" / "chats"
    chats.mkdir(parents=True)
    log = chats / "session-2026-05-01T10-00-s1.jsonl"
    meta = {"sessionId": "s-1", "projectHash": "h", "startTime": "2026-05-01T10:00:00.000Z"}
    user = {"id": "u1", "timestamp": "2026-05-01T10:00:01Z", "type": "user", "content": "hi"}
    answer = {"id": "g1", "timestamp": "2026-05-01T10:00:02Z", "type": "gemini"}

    def write(*objects: object) -> None:
        with log.open("a") as fh:
            fh.write("".join(json.dumps(o) + "\n" for o in objects))
        ingest(chats)

    write(meta, user, {**answer, "content": "Looking at the quokka first."})
    (quokka,) = hits("quokka")
    write({**answer, "content": "Now the wombat instead."})  # written again: last copy wins
    assert hits("quokka") == [] and [h.seq for h in hits("wombat")] == [quokka.seq]
    write({**user, "id": "u2", "content": "try the platypus"}, {"$rewindTo": "u2"})
    assert hits("platypus") == []  # hidden by the rewind: kept, not shown
    integrity(db_file)
    with reading() as conn:
        sid = conn.execute("SELECT id FROM session WHERE native_id = 's-1'").fetchone()[0]
    clear.clear_session(sid)
    assert hits("wombat") == []
    with reading() as conn:
        assert textindex.indexed_rows(conn) == 0
    integrity(db_file)


def test_a_rewritten_files_stale_rows_are_not_found(db_file: Path, tmp_path: Path) -> None:
    project = tmp_path / "projects" / "-w"
    project.mkdir(parents=True)
    log = project / "s.jsonl"

    def line(i: int, text: str) -> str:
        return json.dumps(
            {
                "type": "user",
                "sessionId": "s-stale",
                "uuid": f"u{i}",
                "timestamp": "2026-05-01T10:00:00Z",
                "message": {"role": "user", "content": text},
            }
        )

    log.write_text(line(1, "keep the narwhal") + "\n" + line(2, "drop the axolotl") + "\n")
    ingest(tmp_path / "projects")
    assert len(hits("axolotl")) == 1
    log.write_text(line(1, "keep the narwhal") + "\n")  # rewritten shorter
    ingest(tmp_path / "projects")
    assert hits("axolotl") == [] and len(hits("narwhal")) == 1
    integrity(db_file)


def test_a_failed_commit_leaves_no_index_entry(db_file: Path, tmp_path: Path) -> None:
    from store import append
    from store.records import MessageRecord

    def work() -> None:
        sid = append.ensure_session("claude", "s-fail")
        rec = MessageRecord("s-fail", "x1", "user", "prompt", "the capybara", b"{}", 1)
        append.append(sid, rec)
        raise sqlite3.IntegrityError("boom after the append")

    outcome = funnel.write(work, funnel.Context("test"))
    assert not outcome.ok
    with reading() as conn:
        assert conn.execute("SELECT COUNT(*) FROM message").fetchone()[0] == 0
        assert textindex.indexed_rows(conn) == 0
    assert hits("capybara") == []
    integrity(db_file)


def test_the_store_works_without_an_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CONVO_FTS=off stands for a Python whose SQLite lacks FTS5: ingest, check and show work;
    search says in one line that it is unavailable."""
    monkeypatch.setenv("CONVO_FTS", "off")
    path = tmp_path / "s.db"
    store_db.open_store(path)
    ingest(FIXTURES / "claude-code")
    with reading() as conn:
        assert conn.execute("SELECT COUNT(*) FROM message").fetchone()[0] > 100
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert not tables & {"message_fts", "message_cjk"}
    with pytest.raises(engine.Unavailable, match=r"^full-text search is unavailable: it is"):
        engine.search("test")
    report = checks.run(logs=False)
    assert not {p.kind for p in report.problems} & {"search_missing", "search_drift"}


def test_an_existing_store_is_indexed_by_a_resumable_job_while_search_works(
    fixture_store: Path,
) -> None:
    """Every row waiting (as after the schema gained the index): search answers at once, on
    what is indexed so far, and says how much that is; the job stops half way and resumes."""
    with reading() as conn:
        conn.execute("BEGIN IMMEDIATE")
        textindex.recreate(conn)
        conn.execute("COMMIT")
        total = conn.execute("SELECT COUNT(*) FROM message").fetchone()[0]
    before = engine.search("test")
    assert before.hits == [] and before.indexed == 0.0
    report = checks.run(logs=False)
    (waiting,) = [p for p in report.problems if p.kind == "search_backlog"]
    assert waiting.count == total

    job_id = jobs.create("search_index", {"rebuild": False})
    seen: list[int] = []
    paused = jobs.run(
        job_id,
        batch_s=None,
        batch_rows=200,
        pause_s=0,
        progress=lambda st: seen.append(st.rows_done),
        should_stop=lambda: len(seen) >= 1,
    )
    assert paused.status == "cancelled" and paused.rows_done == 200
    half = engine.search("test")
    assert 0 < half.indexed < 1
    assert all(h.message_id <= paused.cursor for h in half.hits)

    plan = planner.plan(checks.run(logs=False).findings)
    jobs.apply(plan, batch_s=None, batch_rows=500, pause_s=0)
    done = jobs.status(job_id)
    assert done.status == "done" and done.rows_done == total
    after = engine.search("test")
    assert after.indexed == 1.0 and len(after.hits) == 20
    assert checks.run(logs=False).ok
    integrity(fixture_store)


@pytest.mark.parametrize(
    "query",
    ['"abc', '"', '""', "*", "NEAR(", "NEAR(a b)", "col:x", "text:foo", "AND", "NOT x",
     "(", ")", "^x", "+x", "{a}", "🚀 deploy", "🚀", "数据库", "テスト", "x" * 10_000,
     "a " * 5_000, "\x00\x1b[2J", "-only"],
)  # fmt: skip
def test_any_text_is_a_search_or_one_line(fixture_store: Path, query: str) -> None:
    try:
        results = engine.search(query)
    except QueryError as err:
        assert "\n" not in str(err) and len(str(err)) < 100
    else:
        assert all("\x1b" not in h.snippet and "\n" not in h.snippet for h in results.hits)


def test_common_words_are_ordered_by_recency_and_paged_without_repeats(
    fixture_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ranked = hits("the")
    monkeypatch.setattr(engine, "COMMON", 10)
    first = engine.search("the", Filters(subagents=True), limit=7)
    assert first.ranking == "recent"
    ids = [h.message_id for h in first.hits]
    assert ids == sorted(ids, reverse=True)
    recent = hits("the")
    assert len(recent) == len({h.message_id for h in recent}) == len(ranked) > 50
    assert {h.message_id for h in recent} == {h.message_id for h in ranked}


def test_filters_narrow_the_hits(fixture_store: Path) -> None:
    every = hits("test")
    assert {h.role for h in hits("test", role="user")} == {"user"}
    assert {h.kind for h in hits("test", kind="tool_result")} == {"tool_result"}
    assert {h.agent for h in hits("test", agent="codex")} <= {"codex"}
    one = every[0].session_id
    assert {h.session_id for h in hits("test", session_id=one)} == {one}
    top_only = engine.search("test", Filters(), limit=500).hits
    assert len(top_only) <= len(every)


def test_a_question_finds_what_it_means(fixture_store: Path) -> None:
    found = engine.search("how did we implement the timestamp based caching?")
    assert found.fallback and found.notes[0].startswith("no message has every word")
    assert any("Timestamp-Based Caching" in h.title for h in found.hits[:5])


def test_a_fallback_search_pages_on_its_own_words(fixture_store: Path) -> None:
    question = "how did we implement the timestamp based caching?"
    first = engine.search(question, Filters(subagents=True), limit=3)
    assert first.fallback and first.next is not None
    seen = {h.message_id for h in first.hits}
    cursor = first.next
    while cursor is not None:
        page = engine.search(question, Filters(subagents=True), limit=3, cursor=cursor)
        assert page.fallback and page.hits
        assert not seen & {h.message_id for h in page.hits}
        seen |= {h.message_id for h in page.hits}
        cursor = page.next
    assert len(seen) > 6


@pytest.mark.parametrize("cursor", ["=", "nonsense", "YmFk", "cmVjZW50OjA6eA"])
def test_a_cursor_it_did_not_give_out_is_one_line(fixture_store: Path, cursor: str) -> None:
    with pytest.raises(engine.BadCursor, match=r"^that page cursor"):
        engine.search("test", cursor=cursor)
