"""opencode's database: real samples, incremental passes, and reading while opencode writes.

Every lock here is a real second sqlite3 connection; ingest must neither block for long nor fail
the run, and must never write to opencode's file.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import time
from pathlib import Path

import orjson
import pytest

from store import pages
from store.db import reading
from store.ingest import opencode_db
from store.models import Source
from store.records import KIND_PROMPT, KIND_TEXT, KIND_TOOL_CALL, KIND_TOOL_RESULT
from tests.conftest import FIXTURES as ALL_FIXTURES
from tests.store.ingest.opencode_data import (
    T0,
    add_message,
    add_part,
    add_session,
    assistant,
    ingest,
    make_db,
    text,
    tool,
    user,
)

FIXTURES = ALL_FIXTURES / "opencode"
SAMPLE = FIXTURES / "git-ai-project__git-ai/tests/fixtures/opencode-sqlite/opencode.db"
EMPTY = FIXTURES / "git-ai-project__git-ai/tests/fixtures/opencode-sqlite-empty/opencode.db"


def kinds(native_id: str) -> list[str]:
    return [m.kind for m in pages.messages_after(pages.session(native_id).id)]


def texts(native_id: str) -> list[str]:
    return [m.text for m in pages.messages_after(pages.session(native_id).id)]


def source_state(path: Path) -> dict[str, object]:
    with reading():
        row = Source.get(Source.path == str(path))
    state: dict[str, object] = orjson.loads(row.state)
    return state


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fast_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A short busy timeout, so a locked database falls back quickly."""
    monkeypatch.setattr(opencode_db, "BUSY_TIMEOUT_S", 0.1)


def _sample_db(tmp_path: Path) -> tuple[Path, sqlite3.Connection]:
    path = tmp_path / "oc" / "opencode.db"
    conn = make_db(path)
    add_session(conn, "ses_1")
    add_message(conn, "msg_1", "ses_1", user(T0))
    add_part(conn, "prt_1", "msg_1", "ses_1", text("hello"), T0)
    add_message(conn, "msg_2", "ses_1", assistant(T0 + 10, "msg_1"))
    add_part(conn, "prt_2", "msg_2", "ses_1", text("hi there"), T0 + 10)
    return path, conn


# ---------------------------------------------------------------------------------------------


def test_sample_database_read_only(tmp_path: Path, db_file: Path) -> None:
    target = tmp_path / "oc" / "opencode.db"
    target.parent.mkdir()
    shutil.copyfile(SAMPLE, target)
    before = digest(target)
    report = ingest(tmp_path / "oc")
    assert report.files_read == 1 and not report.errors and not report.lines_bad
    row = pages.session("test-session-123")
    assert (row.title, row.project, row.message_count) == ("Test Session", "/Users/test/project", 5)
    assert kinds("test-session-123") == [
        KIND_PROMPT,
        KIND_TEXT,
        KIND_TOOL_CALL,
        KIND_TOOL_RESULT,
        KIND_TEXT,
    ]
    # The sample session names a parent that is not in the database: a placeholder holds it.
    assert pages.session("parent-session-456").child_count == 1
    assert digest(target) == before  # never written
    assert sorted(p.name for p in target.parent.iterdir()) == ["opencode.db"]
    assert source_state(target)["read"] == "read-only"
    assert ingest(tmp_path / "oc").files_unchanged == 1


def test_empty_database_without_session_table(tmp_path: Path, db_file: Path) -> None:
    target = tmp_path / "oc" / "opencode.db"
    target.parent.mkdir()
    shutil.copyfile(EMPTY, target)
    report = ingest(target)
    assert report.files_read == 1 and report.messages_added == 0 and not report.errors


def test_incremental_passes_update_in_place(tmp_path: Path, db_file: Path) -> None:
    path, conn = _sample_db(tmp_path)
    ingest(path)
    seqs = {m.text: m.seq for m in pages.messages_after(pages.session("ses_1").id)}
    # The reply streams on: a new part of msg_2, and a new message.
    add_part(conn, "prt_3", "msg_2", "ses_1", tool("bash", {"cmd": "ls"}, "a.py"), T0 + 20)
    add_message(conn, "msg_3", "ses_1", user(T0 + 30))
    add_part(conn, "prt_4", "msg_3", "ses_1", text("thanks"), T0 + 30)
    conn.close()
    report = ingest(path)
    assert report.messages_updated == 1  # msg_2's first row (its raw grew)
    assert report.messages_added == 3  # the call, its result, the new prompt
    assert kinds("ses_1") == [KIND_PROMPT, KIND_TEXT, KIND_TOOL_CALL, KIND_TOOL_RESULT, KIND_PROMPT]
    after = {m.text: m.seq for m in pages.messages_after(pages.session("ses_1").id)}
    assert after["hi there"] == seqs["hi there"] and after["hello"] == seqs["hello"]
    assert source_state(path)["watermark"] == T0 + 30


def test_open_write_transaction_in_wal_mode(tmp_path: Path, db_file: Path) -> None:
    path = tmp_path / "oc" / "opencode.db"
    conn = make_db(path, wal=True)
    add_session(conn, "ses_1")
    add_message(conn, "msg_1", "ses_1", user(T0))
    add_part(conn, "prt_1", "msg_1", "ses_1", text("committed"), T0)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    add_message(writer, "msg_2", "ses_1", user(T0 + 1))
    add_part(writer, "prt_2", "msg_2", "ses_1", text("not yet"), T0 + 1)
    try:
        started = time.monotonic()
        report = ingest(path)
        assert time.monotonic() - started < 5
        assert not report.errors and texts("ses_1") == ["committed"]
    finally:
        writer.execute("COMMIT")
        writer.close()
    ingest(path)
    assert texts("ses_1") == ["committed", "not yet"]
    conn.close()


def test_idle_wal_database_gets_no_sidecar_files(tmp_path: Path, db_file: Path) -> None:
    path = tmp_path / "oc" / "opencode.db"
    conn = make_db(path, wal=True)
    add_session(conn, "ses_1")
    add_message(conn, "msg_1", "ses_1", user(T0))
    add_part(conn, "prt_1", "msg_1", "ses_1", text("hello"), T0)
    conn.close()  # opencode is not running: no -wal, no -shm
    before = digest(path)
    ingest(path)
    assert texts("ses_1") == ["hello"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["opencode.db"]
    assert digest(path) == before and source_state(path)["read"] == "immutable"


def test_exclusive_lock_reads_a_copy(tmp_path: Path, db_file: Path, fast_busy: None) -> None:
    path, conn = _sample_db(tmp_path)
    conn.close()
    before = digest(path)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    add_message(writer, "msg_9", "ses_1", user(T0 + 99))
    add_part(writer, "prt_9", "msg_9", "ses_1", text("uncommitted"), T0 + 99)
    try:
        started = time.monotonic()
        report = ingest(path)
        assert time.monotonic() - started < 10
        assert not report.errors
        assert texts("ses_1") == ["hello", "hi there"]  # the committed state
        assert source_state(path)["read"] == "copy"
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert digest(path) == before


def test_unreadable_now_is_one_line_and_retried(
    tmp_path: Path, db_file: Path, fast_busy: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, conn = _sample_db(tmp_path)
    conn.close()
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute("DELETE FROM part")  # makes a journal: no immutable read

    def no_copy(src: object, dst: object) -> None:
        raise OSError("no space left for a copy")

    with monkeypatch.context() as patch:
        patch.setattr(opencode_db.shutil, "copyfile", no_copy)
        report = ingest(path)
    writer.execute("ROLLBACK")
    writer.close()
    assert report.files_skipped["db-busy"] == 1
    assert len(report.errors) == 1 and "will retry" in report.errors[0]
    assert "\n" not in report.errors[0]
    retry = ingest(path)
    assert retry.files_read == 1 and texts("ses_1") == ["hello", "hi there"]


def test_part_rows_without_their_message(tmp_path: Path, db_file: Path) -> None:
    path, conn = _sample_db(tmp_path)
    add_part(conn, "prt_x", "msg_gone", "ses_1", text("orphan"), T0 + 5)
    conn.close()
    report = ingest(path)
    assert report.lines_bad == {"part-without-message": 1}
    assert "orphan" not in texts("ses_1")
    assert pages.failures()[0].error == "rejected line: part-without-message"


def test_bad_message_json_costs_one_message(tmp_path: Path, db_file: Path) -> None:
    path, conn = _sample_db(tmp_path)
    conn.execute("UPDATE message SET data = '{broken' WHERE id = 'msg_1'")
    conn.close()
    report = ingest(path)
    assert report.lines_bad == {"malformed-json": 1}
    assert texts("ses_1") == ["hi there"]
