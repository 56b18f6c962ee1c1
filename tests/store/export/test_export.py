"""`convo export`: original log lines from the store alone (byte for byte for Claude Code and
Codex), and Markdown through the app's renderer."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from store import pages
from store.db import connection, reading
from store.export import jsonl
from store.ingest.driver import Ingester
from tui.cli.main import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MULTI_SESSION = {"dag_resume.jsonl"}  # one file, two sessions: each exports its own lines
SAMPLES = sorted(
    p
    for agent in ("claude-code", "codex")
    for p in (FIXTURES / agent).rglob("*.jsonl")
    if p.name not in MULTI_SESSION
)
GEMINI_DOC = FIXTURES / "gemini/Sinity__polylogue/tests/fixtures/origin-capability"


def only_session() -> int:
    """The one session that holds messages (a sub-agent's parent is an empty placeholder)."""
    with reading():
        found = connection().execute("SELECT DISTINCT session_id FROM message").fetchall()
    assert len(found) == 1, found
    return int(found[0][0])


def exported(session_id: int, **kwargs: bool) -> bytes:
    out = io.BytesIO()
    jsonl.write_jsonl(session_id, out, **kwargs)
    return out.getvalue()


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_jsonl_export_is_byte_identical(sample: Path, tmp_path: Path, db_file: Path) -> None:
    log = tmp_path / "logs" / sample.name
    log.parent.mkdir(exist_ok=True)
    shutil.copyfile(sample, log)
    with reading():
        report = Ingester().run([log])
    assert not report.lines_bad and report.messages_dup == 0  # all lines valid and distinct
    original = log.read_bytes()
    if not original.endswith(b"\n"):
        original += b"\n"  # the export ends every record with a newline
    assert exported(only_session()) == original


def test_cli_export_to_file_and_stdout(
    tmp_path: Path, db_file: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    sample = next(p for p in SAMPLES if p.name == "codex-pomodor-timer.jsonl")
    with reading():
        Ingester().run([sample])
    session = str(only_session())
    target = tmp_path / "out" / "s.jsonl"
    target.parent.mkdir()
    args = ["--db", str(db_file), "export", session, "--format", "jsonl"]
    assert main([*args, "-o", str(target)]) == 0
    assert target.read_bytes() == sample.read_bytes()
    assert not list(target.parent.glob("*.partial"))
    capfdbinary.readouterr()
    assert main(args) == 0
    assert capfdbinary.readouterr().out == sample.read_bytes()


def test_cli_markdown_export(
    tmp_path: Path, db_file: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    with reading():
        Ingester().run([GEMINI_DOC / "gemini-cli-session.json"])
    capfdbinary.readouterr()
    assert main(["--db", str(db_file), "export", "origin-matrix-gemini-cli"]) == 0
    text = capfdbinary.readouterr().out.decode()
    assert text.startswith("# Origin capability matrix")
    assert "Prove the parser claim." in text and "The production route parsed" in text


def test_gemini_export_reads_back_to_the_same_conversation(tmp_path: Path, db_file: Path) -> None:
    chats = tmp_path / "a" / "chats"
    chats.mkdir(parents=True)
    meta = {"sessionId": "s-1", "projectHash": "h"}
    user = {"id": "u1", "timestamp": "2026-05-01T10:00:01Z", "type": "user", "content": "hi"}
    reply = {"id": "g1", "timestamp": "2026-05-01T10:00:02Z", "type": "gemini", "content": "a"}
    lines = [meta, user, reply, {**reply, "content": "a, better"}, {"$rewindTo": "g1"}]
    lines.append({**reply, "id": "g2", "content": "b"})
    (chats / "session-x.jsonl").write_text("".join(json.dumps(o) + "\n" for o in lines))
    with reading():
        Ingester().run([chats])
    first = pages.session("s-1")
    shown = [m.text for m in pages.messages_after(first.id)]
    assert shown == ["hi", "b"]
    # Export, then read the export as a Gemini log of another session: same conversation.
    copy = exported(first.id).replace(b'"s-1"', b'"s-2"')
    again = tmp_path / "b" / "chats" / "session-y.jsonl"
    again.parent.mkdir(parents=True)
    again.write_bytes(copy)
    with reading():
        Ingester().run([again])
    assert [m.text for m in pages.messages_after(pages.session("s-2").id)] == shown


def test_stale_records_only_on_request(tmp_path: Path, db_file: Path) -> None:
    sample = next(p for p in SAMPLES if p.name == "codex-session-simple.jsonl")
    log = tmp_path / "rollout.jsonl"
    shutil.copyfile(sample, log)
    with reading():
        Ingester().run([log])
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:-1]))  # rewritten without its last line
    with reading():
        Ingester().run([log])
    session = only_session()
    assert exported(session) == b"".join(lines[:-1])
    assert exported(session, include_stale=True).count(b"\n") == len(lines)
