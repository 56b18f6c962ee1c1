"""opencode: the pure record builder, the legacy JSON tree on real samples, both generations of
one install at once, parts without their message, sub-agents, and the default data folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from store import pages
from store.db import connection, reading
from store.ingest import locate
from store.ingest.locate import default_roots, discover
from store.ingest.parsers import opencode
from store.records import (
    KIND_PROMPT,
    KIND_SYSTEM,
    KIND_TEXT,
    KIND_TOOL_CALL,
    KIND_TOOL_RESULT,
    MessageRecord,
    SessionInfo,
)
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
    write_tree,
)

FIXTURES = ALL_FIXTURES / "opencode"
GIT_AI_TREE = FIXTURES / "git-ai-project__git-ai/tests/fixtures/opencode-storage"
CCL_TREE = FIXTURES / "iansherr__claude-code-log/test/fixtures/opencode"


def visible(native_id: str) -> list[tuple[str, str, str]]:
    """(stable_id, kind, text) of a session's visible rows, in seq order."""
    with reading():
        return list(
            connection().execute(
                "SELECT stable_id, kind, text FROM message WHERE session_id = ? AND hidden = 0 "
                "AND stale = 0 AND kind NOT IN ('meta', 'event') ORDER BY seq",
                (pages.session(native_id).id,),
            )
        )


# ---------------------------------------------------------------------------------------------
# Pure


def test_message_records_split_a_turn_into_rows() -> None:
    info = {"id": "msg_2", "sessionID": "ses_1", **assistant(T0)}
    parts = [
        {"id": "prt_1", "type": "step-start"},
        {"id": "prt_2", "type": "reasoning", "text": "think"},
        {"id": "prt_3", **text("I will edit.")},
        {"id": "prt_4", **tool("edit", {"file": "a.py"}, "done")},
        {
            "id": "prt_5",
            "type": "tool",
            "tool": "bash",
            "callID": "c2",
            "state": {"status": "running", "input": {"cmd": "ls"}},
        },
        {
            "id": "prt_6",
            "type": "file",
            "mime": "image/png",
            "filename": "x.png",
            "url": "data:image/png;base64,AAAA",
        },
        {"id": "prt_7", "type": "step-finish", "reason": "stop"},
    ]
    records = opencode.message_records(info, parts, 1)
    info_rec = records[0]
    assert isinstance(info_rec, SessionInfo) and info_rec.project == "/work/app"
    rows = [r for r in records if isinstance(r, MessageRecord)]
    assert [r.stable_id for r in rows] == [f"msg_2{s}" for s in ("", "#1", "#2", "#3", "#4", "#5")]
    assert [r.kind for r in rows] == [
        "thinking",
        KIND_TEXT,
        KIND_TOOL_CALL,
        KIND_TOOL_RESULT,
        KIND_TOOL_CALL,
        KIND_SYSTEM,
    ]
    assert rows[3].text == "done" and rows[3].parts[0].tool_name == "edit"
    assert "base64" not in rows[5].text  # data URLs never copied
    assert rows[0].raw and all(r.raw == b"" for r in rows[1:])
    assert json.loads(rows[0].raw)["parts"][1]["text"] == "think"
    assert (rows[0].tokens_in, rows[0].tokens_out) == (10, 20)
    assert all(r.replace and r.group_id == "msg_2" for r in rows)


def test_user_message_synthetic_and_compacted() -> None:
    info = {"id": "m", "sessionID": "s", **user(T0)}
    parts = [{"id": "p", **text("fix it")}, {"id": "q", **text("<file>"), "synthetic": True}]
    typed = opencode.message_records(info, parts, 1)
    prompt = typed[-1]
    assert isinstance(prompt, MessageRecord) and prompt.kind == KIND_PROMPT
    assert typed[0].first_prompt == "fix it"  # type: ignore[union-attr]
    only = opencode.message_records(info, [{"id": "q", **text("x"), "synthetic": True}], 1)
    assert only[-1].kind == KIND_SYSTEM  # type: ignore[union-attr]
    cleared = {"id": "t", **tool("read", {}, "big")}
    cleared["state"]["time"]["compacted"] = T0
    rows = opencode.message_records({"id": "a", "sessionID": "s", **assistant(T0)}, [cleared], 1)
    assert rows[-1].text == "[Old tool result content cleared]"  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------
# The JSON tree (real samples)


def test_tree_samples(tmp_path: Path, db_file: Path) -> None:
    shutil.copytree(CCL_TREE, tmp_path / "a" / "storage")
    shutil.copytree(GIT_AI_TREE, tmp_path / "b" / "storage")
    report = ingest(tmp_path / "a", tmp_path / "b")
    assert report.files_read == 2 and not report.lines_bad and not report.errors
    ccl = pages.session("test-session")
    assert (ccl.title, ccl.project, ccl.message_count) == ("Test Session", "/home/user/project", 2)
    assert [r[1] for r in visible("test-session")] == [KIND_PROMPT, KIND_TEXT]
    # No session file here: the session is known from its messages; the empty synthetic
    # text part (prt-004) shows nothing.
    git_ai = visible("test-session-123")
    assert [r[1] for r in git_ai] == [
        KIND_PROMPT,
        KIND_TEXT,
        KIND_TOOL_CALL,
        KIND_TOOL_RESULT,
        KIND_TEXT,
    ]
    assert git_ai[3][2] == "Edit applied successfully."
    assert ingest(tmp_path / "a", tmp_path / "b").files_unchanged == 2


def test_tree_follows_a_growing_message(tmp_path: Path, db_file: Path) -> None:
    storage = tmp_path / "oc" / "storage"
    write_tree(
        storage,
        "ses_1",
        [
            ("msg_1", user(T0), [("prt_1", text("go"))]),
            ("msg_2", assistant(T0 + 1), [("prt_2", text("working"))]),
        ],
    )
    ingest(tmp_path / "oc")
    seq = {m.text: m.seq for m in pages.messages_after(pages.session("ses_1").id)}
    # opencode writes the next part of the same message as a new file.
    part = storage / "part" / "msg_2" / "prt_3.json"
    part.write_text(json.dumps({"id": "prt_3", "messageID": "msg_2", **tool("ls", {}, "a b")}))
    report = ingest(tmp_path / "oc")
    assert report.messages_added == 2  # the call and its result; nothing else re-added
    rows = pages.messages_after(pages.session("ses_1").id)
    assert [m.kind for m in rows] == [KIND_PROMPT, KIND_TEXT, KIND_TOOL_CALL, KIND_TOOL_RESULT]
    assert {m.text: m.seq for m in rows}["working"] == seq["working"]


def test_parts_without_their_message_are_skipped_and_counted(tmp_path: Path, db_file: Path) -> None:
    storage = tmp_path / "oc" / "storage"
    write_tree(storage, "ses_1", [("msg_1", user(T0), [("prt_1", text("hi"))])])
    orphan = storage / "part" / "msg_gone" / "prt_9.json"
    orphan.parent.mkdir(parents=True)
    orphan.write_text(json.dumps({"id": "prt_9", "messageID": "msg_gone", **text("lost")}))
    report = ingest(tmp_path / "oc")
    assert report.lines_bad == {"part-without-message": 1}
    assert [r[2] for r in visible("ses_1")] == ["hi"]  # never forced in
    failures = pages.failures()
    assert failures[0].error == "rejected line: part-without-message"
    assert "msg_gone" in (failures[0].detail or "")
    log = Path(str(tmp_path / "logs" / "convo.log")).read_text()
    assert "prt_9.json skipped: its message msg_gone is missing" in log


# ---------------------------------------------------------------------------------------------
# Both generations of one install


def _install(data: Path) -> None:
    """A data folder after the upgrade: the database, and the JSON tree left behind."""
    conn = make_db(data / "opencode.db")
    add_session(conn, "ses_1", title="From the database")
    add_message(conn, "msg_1", "ses_1", user(T0))
    add_part(conn, "prt_1", "msg_1", "ses_1", text("hello (db)"), T0)
    add_message(conn, "msg_2", "ses_1", assistant(T0 + 1, "msg_1"))
    add_part(conn, "prt_2", "msg_2", "ses_1", text("answer (db)"), T0 + 1)
    conn.close()
    write_tree(
        data / "storage",
        "ses_1",
        [
            ("msg_1", user(T0), [("prt_1", text("hello (json)"))]),
            ("msg_0", user(T0 - 10), [("prt_0", text("older, only in json"))]),
            ("msg_2", assistant(T0 + 1, "msg_1"), [("prt_2", text("answer (json)"))]),
        ],
        session={
            "title": "From the tree",
            "directory": "/work/app",
            "projectID": "proj",
            "time": {"created": T0, "updated": T0},
        },
    )


@pytest.mark.parametrize("order", ["folder", "tree-first", "db-first"])
def test_both_generations_make_one_session_without_duplicates(
    tmp_path: Path, db_file: Path, order: str
) -> None:
    data = tmp_path / "opencode"
    _install(data)
    assert list(discover([data])) == [data / "opencode.db", data / "storage"]
    if order == "folder":
        ingest(data)
    elif order == "tree-first":
        ingest(data / "storage")
        ingest(data / "opencode.db")
    else:
        ingest(data / "opencode.db")
        ingest(data / "storage")
    with reading():
        sessions = connection().execute("SELECT COUNT(*) FROM session").fetchone()[0]
        ids = [r[0] for r in connection().execute("SELECT stable_id FROM message")]
    assert sessions == 1
    assert len(ids) == len(set(ids))
    texts = [r[2] for r in visible("ses_1")]
    assert "hello (db)" in texts and "answer (db)" in texts  # the database's copy wins
    assert "hello (json)" not in texts and "answer (json)" not in texts
    assert "older, only in json" in texts  # what only the tree has is kept
    assert pages.session("ses_1").title == "From the database"


def test_subagent_sessions_fold_under_their_parent(tmp_path: Path, db_file: Path) -> None:
    conn = make_db(tmp_path / "oc" / "opencode.db")
    add_session(conn, "ses_parent")
    add_session(conn, "ses_child", T0 + 5, parent="ses_parent", title="explore")
    for sid, mid in (("ses_parent", "msg_p"), ("ses_child", "msg_c")):
        add_message(conn, mid, sid, user(T0 + 5))
        add_part(conn, f"prt_{mid}", mid, sid, text("task"), T0 + 5)
    conn.close()
    ingest(tmp_path / "oc")
    top = pages.sessions()
    assert [s.native_id for s in top] == ["ses_parent"] and top[0].child_count == 1
    assert [c.native_id for c in pages.children(top[0].id)] == ["ses_child"]


def test_default_roots_and_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    xdg = tmp_path / "xdg"
    data = xdg / "opencode"
    _install(data)
    (data / "snapshot" / "x").mkdir(parents=True)
    (data / "snapshot" / "x" / "a.jsonl").write_text("{}\n")  # not a transcript
    (data / "storage" / "message" / "ses_1" / ".msg_3.json.123.tmp").write_text("{")
    monkeypatch.setenv("XDG_DATA_HOME", str(xdg))
    monkeypatch.delenv("GEMINI_CLI_HOME", raising=False)
    assert data in default_roots()
    assert list(discover(default_roots())) == [data / "opencode.db", data / "storage"]
    monkeypatch.setenv("OPENCODE_DATA_DIR", str(tmp_path / "elsewhere"))
    (tmp_path / "elsewhere").mkdir()
    assert tmp_path / "elsewhere" in default_roots() and data not in default_roots()
    # A file deep in the tree, or a database's -wal, stands for its source.
    inner = data / "storage" / "part" / "msg_1" / "prt_1.json"
    assert locate.source_for(inner) == data / "storage"
    assert locate.source_for(data / "opencode.db-wal") == data / "opencode.db"
    assert list(discover([inner])) == [data / "storage"]
