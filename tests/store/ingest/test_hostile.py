"""Hostile log lines (issue 13): one bad line costs that line, never the file or the run."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from store import db as store_db
from store.ingest.driver import Ingester
from tests.conftest import CLAUDE, CODEX, FIXTURES

REPRESENTATIVE = CLAUDE / "daaain__claude-code-log/test/test_data/representative_messages.jsonl"
GEMINI_DOC = (
    FIXTURES
    / "gemini/codemie-ai__codemie-code/tests/integration/metrics/fixtures/gemini"
    / "session-2026-01-16T11-01-file-ops-37b7abef.json"
)
DEEP = b'{"a":' * 1100 + b"1" + b"}" * 1100 + b"\n"


def test_deeply_nested_line_in_the_head_is_one_bad_line(db_file: Path, tmp_path: Path) -> None:
    lines = REPRESENTATIVE.read_bytes().splitlines(keepends=True)
    first = tmp_path / "a.jsonl"
    first.write_bytes(DEEP + b"".join(lines))
    after = tmp_path / "b.jsonl"
    shutil.copy(CODEX / "git-ai-project__git-ai/tests/fixtures/codex-session-simple.jsonl", after)
    report = Ingester().run([first, after])
    assert report.lines_bad == {"too-deep": 1}
    assert Ingester().run([first, after]).lines_bad == {}  # a rerun reads nothing new, no abort
    with store_db.reading() as conn:
        stored = {r[0] for r in conn.execute("SELECT DISTINCT line FROM message")}
        agents = {r[0] for r in conn.execute("SELECT agent FROM session")}
    assert len(lines) + 1 in stored  # the first file's last line, read past its bad head
    assert agents == {"claude", "codex"}  # the file after it is ingested too


def test_numbers_that_do_not_fit_lose_only_their_field(db_file: Path, tmp_path: Path) -> None:
    lines = REPRESENTATIVE.read_bytes().splitlines(keepends=True)
    assistant = next(n for n, line in enumerate(lines) if b'"usage"' in line)
    big = 2**64 + 5
    lines[0] = lines[0].replace(b'"timestamp":"2025-07-03T15:50:07.874907Z"', b'"timestamp":1e999')
    lines[assistant] = re.sub(
        rb'"input_tokens":\s*\d+', b'"input_tokens":%d' % big, lines[assistant]
    )
    assert b"1e999" in lines[0] and str(big).encode() in lines[assistant]
    log = tmp_path / "s.jsonl"
    log.write_bytes(b"".join(lines))
    report = Ingester().run([log])
    assert report.lines_bad == {}
    with store_db.reading() as conn:
        stored = {r[0] for r in conn.execute("SELECT DISTINCT line FROM message")}
    assert {1, assistant + 1} <= stored


def test_gemini_document_with_one_value_too_deep_keeps_the_rest(
    db_file: Path, tmp_path: Path
) -> None:
    source = GEMINI_DOC.read_bytes()
    doc = json.loads(source)
    count = len(doc["messages"])
    doc["messages"][1]["extra"] = "DEEP"
    log = tmp_path / GEMINI_DOC.name
    log.write_bytes(json.dumps(doc).encode().replace(b'"DEEP"', b"[" * 1100 + b"]" * 1100))
    report = Ingester().run([log])
    assert report.lines_bad == {}
    with store_db.reading() as conn:
        agents = {r[0] for r in conn.execute("SELECT agent FROM session")}
        stored = conn.execute("SELECT COUNT(*) FROM message WHERE kind != 'meta'").fetchone()[0]
    assert agents == {"gemini"} and stored >= count
