"""Ingest of real Claude Code and Codex logs: incremental, idempotent, and tolerant of bad input."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from store import db as store_db
from store import pages
from store.ingest.driver import Ingester
from tests.conftest import CLAUDE, CODEX, FIXTURES

CLAUDE_TURNS = (
    "claude-code/codemie-ai__codemie-code/tests/integration/session/fixtures/claude/"
    "incremental-simple"
)
CODEX_TURNS = "codex/codemie-ai__codemie-code/tests/integration/session/fixtures/codex"
REPRESENTATIVE = CLAUDE / "daaain__claude-code-log/test/test_data/representative_messages.jsonl"


def dump() -> list[tuple[Any, ...]]:
    """The store's content without its row ids (which depend on nothing but insert order)."""
    with store_db.reading() as conn:
        messages = conn.execute(
            "SELECT s.agent, s.native_id, m.seq, m.stable_id, m.kind, m.role, m.text, m.line,"
            " m.hidden, m.stale, (SELECT COUNT(*) FROM part p WHERE p.message_id = m.id)"
            " FROM message m JOIN session s ON s.id = m.session_id"
            " ORDER BY s.agent, s.native_id, m.seq"
        ).fetchall()
        sessions = conn.execute(
            "SELECT agent, native_id, project, title, first_prompt, git_branch, model,"
            " started_at, updated_at, message_count FROM session ORDER BY agent, native_id"
        ).fetchall()
    return [*sessions, *messages]


def fresh(path: Path) -> None:
    store_db.close()
    store_db.open_store(path)


def test_real_fixtures_ingest_and_reingest_changes_nothing(db_file: Path, tmp_path: Path) -> None:
    tree = tmp_path / "logs"
    shutil.copytree(CLAUDE, tree / "claude")
    shutil.copytree(CODEX, tree / "codex")
    first = Ingester().run([tree])
    assert first.files_read == first.files_seen > 30 and not first.errors
    assert first.messages_added > 600 and not first.lines_bad
    assert first.lines_unknown == {"future_synthetic_record": 1}
    before = dump()
    with store_db.reading() as conn:
        sources = conn.execute("SELECT * FROM source ORDER BY id").fetchall()
    again = Ingester().run([tree])
    assert (again.files_unchanged, again.files_read, again.messages_added) == (
        first.files_seen,
        0,
        0,
    )
    assert dump() == before
    with store_db.reading() as conn:
        assert conn.execute("SELECT * FROM source ORDER BY id").fetchall() == sources


@pytest.mark.parametrize("turns", [CLAUDE_TURNS, CODEX_TURNS])
def test_growing_file_in_pieces_equals_whole(tmp_path: Path, turns: str) -> None:
    whole = (FIXTURES / turns / "turn-2.jsonl").read_bytes()
    turn1 = (FIXTURES / turns / "turn-1.jsonl").read_bytes()
    assert whole.startswith(turn1)
    cuts = sorted({len(turn1), *random.Random(3).sample(range(1, len(whole)), 12)})
    live = tmp_path / "live" / "session.jsonl"
    live.parent.mkdir()
    fresh(tmp_path / "pieces.db")
    for cut in [*cuts, len(whole)]:  # cuts land mid-line too: the half line is held back
        live.write_bytes(whole[:cut])
        Ingester().run([live])
    pieces = dump()
    whole_file = tmp_path / "whole" / "session.jsonl"
    whole_file.parent.mkdir()
    whole_file.write_bytes(whole)
    fresh(tmp_path / "whole.db")
    Ingester().run([whole_file])
    assert pieces == dump()


def test_half_written_last_line_is_held_back(db_file: Path, tmp_path: Path) -> None:
    lines = REPRESENTATIVE.read_bytes().splitlines(keepends=True)
    log = tmp_path / "s.jsonl"
    log.write_bytes(b"".join(lines[:5]) + lines[5][:40])
    report = Ingester().run([log])
    assert report.messages_added == 5 and not report.lines_bad
    with store_db.reading() as conn:
        assert conn.execute("SELECT offset FROM source").fetchone()[0] == len(b"".join(lines[:5]))
    log.write_bytes(b"".join(lines))
    assert Ingester().run([log]).messages_added == len(lines) - 5


def test_last_line_without_newline_is_read_once_complete(db_file: Path, tmp_path: Path) -> None:
    lines = REPRESENTATIVE.read_bytes().splitlines()
    log = tmp_path / "s.jsonl"
    log.write_bytes(b"\n".join(lines[:3]))  # complete JSON, just no final newline
    assert Ingester().run([log]).messages_added == 3
    log.write_bytes(b"\n".join(lines[:4]) + b"\n")
    assert Ingester().run([log]).messages_added == 1
    with store_db.reading() as conn:
        assert [r[0] for r in conn.execute("SELECT line FROM message ORDER BY seq")] == [1, 2, 3, 4]


def test_malformed_line_in_the_middle_loses_only_that_line(db_file: Path, tmp_path: Path) -> None:
    lines = REPRESENTATIVE.read_bytes().splitlines(keepends=True)
    log = tmp_path / "s.jsonl"
    log.write_bytes(
        b"".join(lines[:6]) + b'{"type": "user", "broken\n' + b"[1, 2]\n" + b"".join(lines[6:])
    )
    report = Ingester().run([log])
    assert report.lines_bad == {"malformed-json": 1, "not-an-object": 1}
    with store_db.reading() as conn:
        stored = [r[0] for r in conn.execute("SELECT line FROM message ORDER BY seq")]
    expected = [n for n in range(1, len(lines) + 3) if n not in (7, 8)]
    assert sorted(set(stored)) == [n for n in expected if n in set(stored)]
    assert len(stored) == len(lines)  # every good line is there
    bad = [f for f in pages.failures() if f.kind == "line"]
    assert sorted(f.line for f in bad) == [7, 8] and bad[0].source_path == str(log)


def test_invalid_utf8_lone_surrogates_and_huge_lines(db_file: Path, tmp_path: Path) -> None:
    base = orjson.loads(REPRESENTATIVE.read_bytes().splitlines()[0])
    surrogate = orjson.dumps({**base, "message": {"role": "user", "content": "X"}}).replace(
        b'"content":"X"', b'"content":"\\ud83d broken emoji"'
    )
    invalid = orjson.dumps(
        {
            **base,
            "uuid": "u2",
            "timestamp": "2025-01-01T00:00:01Z",
            "message": {"role": "user", "content": "caf\u00e9 X"},
        }
    ).replace(b"X", b"\xc3\x28")
    huge = orjson.dumps(
        {
            **base,
            "uuid": "u3",
            "timestamp": "2025-01-01T00:00:02Z",
            "message": {"role": "user", "content": "y" * 5_000_000},
        }
    )
    log = tmp_path / "s.jsonl"
    log.write_bytes(b"\n".join([surrogate, invalid, huge]) + b"\n")
    report = Ingester(agent="claude").run([log])
    assert report.messages_added == 3 and not report.lines_bad
    with store_db.reading() as conn:
        texts = [r[0] for r in conn.execute("SELECT text FROM message ORDER BY seq")]
    assert "\ufffd broken emoji" in texts[0] and "\ufffd" in texts[1]
    assert len(texts[2]) == 5_000_000


def test_rewritten_file_is_reingested_and_old_rows_kept_stale(
    db_file: Path, tmp_path: Path
) -> None:
    folder = FIXTURES / "codex/git-ai-project__git-ai/tests/fixtures"
    log = tmp_path / "rollout.jsonl"
    shutil.copyfile(folder / "codex-session-simple.jsonl", log)
    Ingester().run([log])
    shutil.copyfile(folder / "codex-session-updated.jsonl", log)
    report = Ingester().run([log])
    assert report.files_rewritten == 1
    new_lines = set((folder / "codex-session-updated.jsonl").read_bytes().splitlines())
    old_lines = set((folder / "codex-session-simple.jsonl").read_bytes().splitlines())
    with store_db.reading() as conn:
        rows = conn.execute("SELECT raw, stale FROM message").fetchall()
    from store.append import decompress

    live = {decompress(raw) for raw, stale in rows if not stale}
    gone = {decompress(raw) for raw, stale in rows if stale}
    assert live == new_lines and gone == old_lines - new_lines  # nothing lost, nothing shown twice


def test_shrunk_file_is_reread(db_file: Path, tmp_path: Path) -> None:
    lines = REPRESENTATIVE.read_bytes().splitlines(keepends=True)
    log = tmp_path / "s.jsonl"
    log.write_bytes(b"".join(lines))
    Ingester().run([log])
    log.write_bytes(b"".join(lines[:3]))
    assert Ingester().run([log]).files_rewritten == 1
    with store_db.reading() as conn:
        assert conn.execute("SELECT COUNT(*) FROM message WHERE stale = 0").fetchone()[0] == 3


def test_deleted_log_keeps_its_session(db_file: Path, tmp_path: Path) -> None:
    tree = tmp_path / "projects" / "-p"
    tree.mkdir(parents=True)
    log = tree / "s.jsonl"
    shutil.copyfile(REPRESENTATIVE, log)
    Ingester().run([tmp_path / "projects"])
    os.remove(log)
    report = Ingester().run([tmp_path / "projects"])
    assert report.files_gone == 1
    [row] = pages.sessions()
    assert row.gone_since is not None and row.message_count > 0
    assert pages.messages_after(row.id)  # still readable in full
    assert pages.sessions(flt=pages.SessionFilter(include_gone=False)) == []


def test_subagents_fold_under_their_parent(db_file: Path) -> None:
    Ingester().run([CLAUDE / "daaain__claude-code-log/test/test_data/real_projects"])
    tops = pages.sessions()
    parent = next(s for s in tops if s.native_id.startswith("29ccd257"))
    assert parent.child_count == 1
    [child] = pages.children(parent.id)
    assert child.native_id == f"{parent.native_id}#agent-a2271d1" and child.parent_id == parent.id
    assert all(s.parent_id is None for s in tops)


def test_streamed_reply_lines_share_a_group(db_file: Path) -> None:
    path = CLAUDE / (
        "daaain__claude-code-log/test/test_data/real_projects/"
        "-src-experiments-claude_p/29ccd257-68b1-427f-ae5f-6524b7cb6f20/subagents/"
        "agent-a2271d1.jsonl"
    )
    Ingester().run([path])
    with store_db.reading() as conn:
        groups = conn.execute(
            "SELECT group_id, COUNT(*) FROM message WHERE group_id IS NOT NULL"
            " GROUP BY group_id HAVING COUNT(*) > 1"
        ).fetchall()
    assert groups  # one API reply, several lines, one group


def test_unknown_format_file_is_skipped_and_counted(db_file: Path, tmp_path: Path) -> None:
    odd = tmp_path / "odd.jsonl"
    odd.write_text('{"hello": "world"}\n')
    report = Ingester().run([odd])
    assert report.files_skipped == {"unknown-format": 1} and report.messages_added == 0
