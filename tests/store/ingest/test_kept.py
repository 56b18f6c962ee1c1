"""A session whose log disappears is kept: marked with when its log went, still listed, still
shown in full, still exportable, for every agent and format, whether its folder was scanned or
its path was given."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from store import pages
from store.db import reading
from store.export import jsonl
from store.ingest.driver import Ingester
from store.ingest.writing import IngestReport
from tests.store.ingest.opencode_data import (
    T0,
    add_message,
    add_part,
    add_session,
    make_db,
    text,
    user,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CLAUDE = FIXTURES / "claude-code/simonw__claude-code-transcripts/tests/sample_session.jsonl"
CODEX = FIXTURES / "codex/git-ai-project__git-ai/tests/fixtures/codex-session-simple.jsonl"
GEMINI_DOC = FIXTURES / "gemini/Sinity__polylogue/tests/fixtures/origin-capability"
OPENCODE_TREE = FIXTURES / "opencode/iansherr__claude-code-log/test/fixtures/opencode"

Setup = Callable[[Path], tuple[Path, Path, str]]
"""Makes an agent's folder under a root; returns (folder to scan, log to delete, session id)."""


def claude(root: Path) -> tuple[Path, Path, str]:
    log = root / "projects" / "-work-app" / CLAUDE.name
    log.parent.mkdir(parents=True)
    shutil.copyfile(CLAUDE, log)
    return root / "projects", log, "test-session-id"


def codex(root: Path) -> tuple[Path, Path, str]:
    log = root / "sessions" / "2026" / "01" / "02" / CODEX.name
    log.parent.mkdir(parents=True)
    shutil.copyfile(CODEX, log)
    return root / "sessions", log, ""


def gemini_jsonl(root: Path) -> tuple[Path, Path, str]:
    log = root / "tmp" / "proj" / "chats" / "session-2026-05-01T10-00-s1.jsonl"
    log.parent.mkdir(parents=True)
    lines = [
        {"sessionId": "g-1", "projectHash": "h"},
        {"id": "u", "timestamp": "2026-05-01T10:00:00Z", "type": "user", "content": "hi"},
        {"id": "a", "timestamp": "2026-05-01T10:00:01Z", "type": "gemini", "content": "hello"},
    ]
    log.write_text("".join(json.dumps(o) + "\n" for o in lines))
    return root / "tmp", log, "g-1"


def gemini_json(root: Path) -> tuple[Path, Path, str]:
    log = root / "tmp" / "proj" / "chats" / "session-2026-08-01T10-00-origin.json"
    log.parent.mkdir(parents=True)
    shutil.copyfile(GEMINI_DOC / "gemini-cli-session.json", log)
    return root / "tmp", log, "origin-matrix-gemini-cli"


def opencode_db(root: Path) -> tuple[Path, Path, str]:
    path = root / "opencode" / "opencode.db"
    conn = make_db(path)
    add_session(conn, "ses_1", title="kept")
    add_message(conn, "msg_1", "ses_1", user(T0))
    add_part(conn, "prt_1", "msg_1", "ses_1", text("hello"), T0)
    conn.close()
    return root / "opencode", path, "ses_1"


def opencode_tree(root: Path) -> tuple[Path, Path, str]:
    storage = root / "opencode" / "storage"
    shutil.copytree(OPENCODE_TREE, storage)
    return root / "opencode", storage, "test-session"


SETUPS: list[Setup] = [claude, codex, gemini_jsonl, gemini_json, opencode_db, opencode_tree]


def ingest(*paths: Path) -> IngestReport:
    with reading():
        return Ingester().run(list(paths))


def delete(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


@pytest.mark.parametrize("how", ["folder", "path"])
@pytest.mark.parametrize("setup", SETUPS, ids=lambda f: f.__name__)
def test_deleted_log_keeps_its_session(
    tmp_path: Path, db_file: Path, setup: Setup, how: str
) -> None:
    folder, log, native = setup(tmp_path / "agent")
    target = folder if how == "folder" else log
    first = ingest(target)
    assert first.files_read == 1 and not first.errors
    rows = pages.sessions()
    assert len(rows) == 1
    session = rows[0] if not native else pages.session(native)
    before = pages.messages_after(session.id)
    raw = io.BytesIO()
    jsonl.write_jsonl(session.id, raw)
    assert before and raw.getvalue()

    delete(log)
    report = ingest(target)
    assert report.files_gone == 1 and report.errors == []
    kept = pages.session(session.id)
    assert kept.gone_since is not None and kept.message_count == session.message_count
    assert [r.id for r in pages.sessions()] == [session.id]  # still listed
    assert pages.sessions(flt=pages.SessionFilter(include_gone=False)) == []
    assert pages.messages_after(session.id) == before  # shown in full, from the store
    again = io.BytesIO()
    jsonl.write_jsonl(session.id, again)
    assert again.getvalue() == raw.getvalue()
    if setup in (claude, codex):
        assert again.getvalue() == (CLAUDE if setup is claude else CODEX).read_bytes()

    later = ingest(target)  # still gone: not an error, not marked twice
    assert later.files_gone == 0 and later.errors == []
    assert pages.session(session.id).gone_since == kept.gone_since


def test_log_that_comes_back_is_no_longer_gone(tmp_path: Path, db_file: Path) -> None:
    folder, log, native = gemini_jsonl(tmp_path / "agent")
    ingest(folder)
    saved = log.read_bytes()
    log.unlink()
    ingest(folder)
    assert pages.session(native).gone_since is not None
    log.write_bytes(saved)
    ingest(folder)
    assert pages.session(native).gone_since is None
    assert [m.text for m in pages.messages_after(pages.session(native).id)] == ["hi", "hello"]


def test_unknown_missing_path_is_still_an_error(tmp_path: Path, db_file: Path) -> None:
    report = ingest(tmp_path / "never-there.jsonl")
    assert report.errors == [f"{tmp_path / 'never-there.jsonl'}: no such file or folder"]
