"""Gemini CLI: the pure parser on real samples, and the store semantics its format needs
(upsert by id keeping seq, `$set`, `$rewindTo` hiding without losing, checkpoints, rewritten
legacy documents, `logs.json` prompts as a fallback)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from store import pages
from store.db import connection, reading
from store.ingest.driver import Ingester
from store.ingest.locate import default_roots as ingest_roots
from store.ingest.locate import discover
from store.ingest.parsers import claude, codex, gemini
from store.ingest.writing import IngestReport
from store.records import (
    FALLBACK_PREFIX,
    KIND_META,
    KIND_PROMPT,
    KIND_TEXT,
    KIND_THINKING,
    KIND_TOOL_CALL,
    KIND_TOOL_RESULT,
    MessageRecord,
    ParseState,
    Record,
    Rewind,
    SessionInfo,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
GEMINI = FIXTURES / "gemini"
CODEMIE = GEMINI / "codemie-ai__codemie-code/tests/integration/metrics/fixtures/gemini"
LEGACY = CODEMIE / "session-2026-01-16T11-01-file-ops-37b7abef.json"
PROMPT_LOG = CODEMIE / "logs.json"
SIMPLE = GEMINI / "git-ai-project__git-ai/tests/fixtures/gemini-session-simple.jsonl"
ONE_LINE_DOC = GEMINI / "iansherr__claude-code-log/test/fixtures/gemini/session-sample.jsonl"
POLY = GEMINI / "Sinity__polylogue/tests/fixtures/origin-capability/gemini-cli-session.json"


def lines_of(data: bytes) -> list[tuple[int, bytes]]:
    pieces = data.split(b"\n")
    if pieces and pieces[-1] == b"":
        pieces.pop()
    return list(enumerate(pieces, 1))


def parse_lines(path: Path, data: bytes | None = None) -> list[Record]:
    raw = path.read_bytes() if data is None else data
    return list(gemini.parse(lines_of(raw), ParseState(str(path))))


def parse_document(path: Path) -> list[Record]:
    return list(gemini.parse([(1, path.read_bytes())], ParseState(str(path))))


def messages(records: list[Record]) -> list[MessageRecord]:
    return [r for r in records if isinstance(r, MessageRecord)]


def ingest(*paths: Path) -> IngestReport:
    with reading():
        return Ingester().run(list(paths))


def rows(session: str, hidden: bool = True) -> list[tuple[int, str, str, int, str]]:
    """(seq, stable_id, kind, hidden, text) of a session's rows in seq order."""
    with reading():
        sid = connection().execute("SELECT id FROM session WHERE native_id = ?", (session,))
        found = sid.fetchone()
        assert found is not None, f"no session {session}"
        sql = "SELECT seq, stable_id, kind, hidden, text FROM message WHERE session_id = ?"
        sql += "" if hidden else " AND hidden = 0 AND stale = 0 AND kind NOT IN ('meta', 'event')"
        return list(connection().execute(sql + " ORDER BY seq", (found[0],)))


def count(session: str) -> int:
    with reading():
        row = (
            connection()
            .execute("SELECT message_count FROM session WHERE native_id = ?", (session,))
            .fetchone()
        )
    return int(row[0])


def jl(*objects: object) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objects)


META = {"sessionId": "s-1", "projectHash": "h", "startTime": "2026-05-01T10:00:00.000Z"}
USER = {"id": "u1", "timestamp": "2026-05-01T10:00:01.000Z", "type": "user", "content": "hi"}
ANSWER = {
    "id": "g1",
    "timestamp": "2026-05-01T10:00:02.000Z",
    "type": "gemini",
    "content": "Looking.",
    "model": "gemini-2.5-pro",
}
CALL = {"id": "c1", "name": "read_file", "args": {"path": "a.py"}}
RESULT = [{"functionResponse": {"id": "c1", "name": "read_file", "response": {"output": "x=1"}}}]


# ---------------------------------------------------------------------------------------------
# The pure parser on real samples


def test_sniff_tells_gemini_from_claude_and_codex() -> None:
    assert gemini.sniff(json.loads(SIMPLE.read_bytes().splitlines()[0]))
    assert gemini.sniff(json.loads(LEGACY.read_bytes()))
    assert gemini.sniff(json.loads(PROMPT_LOG.read_bytes())[0])
    assert gemini.sniff({"$set": {"lastUpdated": "x"}})
    for folder in ("claude-code", "codex"):
        for path in sorted((FIXTURES / folder).rglob("*.jsonl"))[:12]:
            first = json.loads(path.read_bytes().splitlines()[0])
            assert not gemini.sniff(first), path
    first = json.loads(SIMPLE.read_bytes().splitlines()[0])
    assert not claude.sniff(first) and not codex.sniff(first)


def test_jsonl_without_metadata_keys_by_file_stem() -> None:
    records = parse_lines(SIMPLE)
    infos = [r for r in records if isinstance(r, SessionInfo)]
    assert infos[0].session_key == "gemini-session-simple"
    assert infos[0].first_prompt == "add another hello bob console log to @index.ts"
    msgs = messages(records)
    prompt = next(m for m in msgs if m.kind == KIND_PROMPT)
    assert prompt.stable_id == "38b36361-d235-4a69-b8f5-8b7d9de94935" and prompt.replace
    calls = [m for m in msgs if m.kind == KIND_TOOL_CALL]
    assert [c.parts[0].tool_name for c in calls] == ["replace", "read_file", "replace", "read_file"]
    # No `result` and no `status` yet: a call without a result row.
    assert not [m for m in msgs if m.kind == KIND_TOOL_RESULT]
    # The trailing `$set` is kept as a hidden row with its raw bytes.
    last = msgs[-1]
    assert last.kind == KIND_META and last.hidden and last.raw.startswith(b'{"$set"')


def test_legacy_document_rows_tools_thoughts_tokens() -> None:
    records = parse_document(LEGACY)
    msgs = messages(records)
    assert {m.session_key for m in msgs} == {"37b7abef-713d-4522-85f0-8ff15a4e6d17"}
    # One metadata row holding the document without its messages.
    meta = msgs[0]
    assert meta.stable_id == "metadata" and b'"messages"' not in meta.raw
    firsts = [m for m in msgs if m.stable_id == m.group_id]
    assert len(firsts) == 14  # every message of the document
    results = [m for m in msgs if m.kind == KIND_TOOL_RESULT]
    assert results and results[0].text.startswith("Successfully updated the todo list")
    # Tokens are counted once per message, on its first row.
    answer = next(m for m in msgs if m.stable_id == "ad67282a-bb35-459a-9d13-9f36cdfe2c5c")
    assert (answer.tokens_in, answer.tokens_out) == (4749, 292)
    rest = [m for m in msgs if m.group_id == answer.stable_id and m is not answer]
    assert all(m.tokens_in is None for m in rest)
    # Only block 0 carries the raw record: the export writes each message once.
    assert all(m.raw == b"" for m in msgs if m.stable_id != m.group_id and m.kind != KIND_META)


def test_one_line_document_in_jsonl_and_string_results() -> None:
    msgs = messages(parse_lines(ONE_LINE_DOC))
    assert {m.session_key for m in msgs} == {"session-123"}
    thinking = [m for m in msgs if m.kind == KIND_THINKING]
    assert thinking[0].text.startswith("The user is asking a geography question")
    result = next(m for m in msgs if m.kind == KIND_TOOL_RESULT)
    assert result.text.startswith("Current population estimates")


def test_title_from_summary_and_list_content() -> None:
    records = parse_document(POLY)
    info = next(r for r in records if isinstance(r, SessionInfo))
    assert info.title == "Origin capability matrix"
    prompt = next(m for m in messages(records) if m.kind == KIND_PROMPT)
    assert prompt.text == "Prove the parser claim."


def test_prompt_log_rows_are_fallbacks() -> None:
    msgs = messages(parse_document(PROMPT_LOG))
    assert len(msgs) == 3
    assert all(m.fallback and m.stable_id.startswith(FALLBACK_PREFIX) for m in msgs)
    assert msgs[0].session_key == "5b959dae-8655-4cd1-b10f-720b8c336ea2"


def test_pieces_parse_like_the_whole() -> None:
    data = jl(META, USER, ANSWER, {"$rewindTo": "g1"}, {**ANSWER, "id": "g2"})
    whole = parse_lines(Path("chats/session-x.jsonl"), data)
    state = ParseState("chats/session-x.jsonl")
    numbered = lines_of(data)
    pieces = list(gemini.parse(numbered[:2], state)) + list(gemini.parse(numbered[2:], state))
    assert messages(pieces) == messages(whole)
    assert [r for r in pieces if isinstance(r, Rewind)] == [Rewind("s-1", "g1", 4)]


def test_subagent_chat_names_its_parent() -> None:
    data = jl({**META, "sessionId": "child", "kind": "subagent"}, USER)
    records = parse_lines(Path("/x/chats/parent-id/child.jsonl"), data)
    info = next(r for r in records if isinstance(r, SessionInfo))
    assert (info.session_key, info.parent_key) == ("child", "parent-id")


# ---------------------------------------------------------------------------------------------
# Store semantics


@pytest.fixture
def chats(tmp_path: Path, db_file: Path) -> Path:
    folder = tmp_path / "gemini" / "tmp" / "proj" / "chats"
    folder.mkdir(parents=True)
    return folder


def test_real_samples_ingest_and_rerun_is_a_no_op(chats: Path) -> None:
    for path in (LEGACY, SIMPLE, ONE_LINE_DOC):
        shutil.copyfile(path, chats / path.name)
    shutil.copyfile(POLY, chats / "session-poly.json")
    shutil.copyfile(PROMPT_LOG, chats.parent / "logs.json")
    first = ingest(chats.parent)
    assert first.files_read == 5 and not first.lines_bad and not first.errors
    assert first.messages_added == 65  # 39 + 11 + 9 + 3 rows, 3 fallback prompts
    again = ingest(chats.parent)
    assert again.files_unchanged == 5 and again.messages_added == 0
    # logs.json's session has no chat file here: its prompts are the session.
    assert count("5b959dae-8655-4cd1-b10f-720b8c336ea2") == 3


def test_message_written_again_updates_in_place_and_keeps_seq(chats: Path) -> None:
    log = chats / "session-2026-05-01T10-00-s1.jsonl"
    log.write_bytes(jl(META, USER, ANSWER))
    ingest(chats)
    before = {r[1]: r[0] for r in rows("s-1")}
    # Gemini appends the same message again when its tool call and result arrive.
    done = {
        **ANSWER,
        "toolCalls": [{**CALL, "status": "success", "result": RESULT}],
        "tokens": {"input": 10, "output": 5},
    }
    with log.open("ab") as fh:
        fh.write(jl(done, {"$set": {"lastUpdated": "2026-05-01T10:00:09.000Z", "summary": "T"}}))
    report = ingest(chats)
    assert report.messages_updated == 1
    after = rows("s-1")
    assert {r[1]: r[0] for r in after}["g1"] == before["g1"]  # seq kept
    kinds = [r[2] for r in after if r[1].startswith("g1")]
    assert kinds == [KIND_TEXT, KIND_TOOL_CALL, KIND_TOOL_RESULT]
    assert next(r for r in after if r[1] == "g1#2")[4] == "x=1"
    assert pages.session("s-1").title == "T"
    assert count("s-1") == 4  # prompt, text, call, result


def test_rewind_hides_without_losing_and_rewritten_messages_show_again(chats: Path) -> None:
    log = chats / "session-2026-05-01T10-00-s1.jsonl"
    second = {**USER, "id": "u2", "content": "try again"}
    log.write_bytes(jl(META, USER, ANSWER, second, {**ANSWER, "id": "g2"}))
    ingest(chats)
    assert count("s-1") == 4
    with log.open("ab") as fh:
        fh.write(jl({"$rewindTo": "u2"}))
    ingest(chats)
    visible = [r[1] for r in rows("s-1", hidden=False)]
    assert visible == ["u1", "g1"]
    assert {"u2", "g2"} <= {r[1] for r in rows("s-1")}  # kept, hidden
    assert count("s-1") == 2
    # A new turn after the rewind, and the rewound answer written again with the same id.
    with log.open("ab") as fh:
        fh.write(jl({**USER, "id": "u3", "content": "other"}, {**ANSWER, "id": "g2"}))
    ingest(chats)
    visible = [r[1] for r in rows("s-1", hidden=False)]
    assert visible == ["u1", "g1", "g2", "u3"]  # g2 keeps its first seq
    assert count("s-1") == 4


def test_unknown_rewind_target_hides_everything(chats: Path) -> None:
    log = chats / "session-2026-05-01T10-00-s1.jsonl"
    log.write_bytes(jl(META, USER, ANSWER, {"$rewindTo": "nope"}))
    ingest(chats)
    assert rows("s-1", hidden=False) == [] and count("s-1") == 0


def test_checkpoint_replaces_all_messages(chats: Path) -> None:
    log = chats / "session-2026-05-01T10-00-s1.jsonl"
    masked = {**USER, "content": "hi (masked)"}
    log.write_bytes(jl(META, USER, ANSWER, {"$set": {"messages": [masked]}}))
    ingest(chats)
    visible = rows("s-1", hidden=False)
    assert [(r[1], r[4]) for r in visible] == [("u1", "hi (masked)")]
    assert visible[0][0] == 2  # the prompt's first seq (after the metadata row)


def test_rewritten_legacy_document(chats: Path) -> None:
    doc = chats / "session-2026-05-01T10-00-s1.json"
    body = {**META, "messages": [USER, {**ANSWER, "toolCalls": [CALL, {**CALL, "id": "c2"}]}]}
    doc.write_text(json.dumps(body, indent=2))
    ingest(chats)
    seqs = {r[1]: r[0] for r in rows("s-1")}
    assert {"g1#1", "g1#2"} <= set(seqs)
    # Rewritten whole: the answer now has one call (a row goes), a message was removed.
    body = {**META, "messages": [{**ANSWER, "toolCalls": [CALL]}]}
    doc.write_text(json.dumps(body, indent=2))
    report = ingest(chats)
    assert report.files_rewritten == 1
    visible = [r[1] for r in rows("s-1", hidden=False)]
    assert visible == ["g1", "g1#1"]
    assert {r[1]: r[0] for r in rows("s-1")}["g1"] == seqs["g1"]
    with reading():
        stale = connection().execute("SELECT stable_id FROM message WHERE stale = 1").fetchall()
    assert sorted(s[0] for s in stale) == ["g1#2", "u1"]  # kept, marked stale


def test_prompt_log_fills_only_sessions_without_a_chat(chats: Path) -> None:
    entry = {"messageId": 0, "type": "user", "timestamp": "2026-05-01T10:00:01.000Z"}
    log = [
        {**entry, "sessionId": "s-1", "message": "hi"},
        {**entry, "sessionId": "s-2", "message": "lost prompt"},
    ]
    (chats.parent / "logs.json").write_text(json.dumps(log))
    (chats / "session-2026-05-01T10-00-s1.jsonl").write_bytes(jl(META, USER, ANSWER))
    report = ingest(chats.parent)
    assert report.records_skipped["prompt-log-covered"] == 1
    assert [r[4] for r in rows("s-2", hidden=False)] == ["lost prompt"]
    assert [r[1] for r in rows("s-1", hidden=False)] == ["u1", "g1"]
    # The chat of s-2 shows up later: its own records win, the stand-in is hidden.
    (chats / "session-2026-05-01T10-00-s2.jsonl").write_bytes(
        jl({**META, "sessionId": "s-2"}, {**USER, "id": "u9", "content": "lost prompt"})
    )
    ingest(chats.parent)
    assert [r[1] for r in rows("s-2", hidden=False)] == ["u9"]
    assert count("s-2") == 1


def test_default_roots_and_exact_name_patterns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "profile"
    monkeypatch.setenv("GEMINI_CLI_HOME", str(home))
    project = home / ".gemini" / "tmp" / "proj"
    chats = project / "chats"
    (chats / "parent-id").mkdir(parents=True)
    names = [
        "chats/session-2026-01-01T10-00-a.json",  # legacy chat
        "chats/session-2026-01-01T10-00-a.jsonl",  # its migrated JSONL
        "chats/parent-id/child.jsonl",  # a sub-agent chat
        "chats/session-2026-01-01T10-00-a.jsonl.tmp-123",  # a rewrite in progress
        "chats/session-2026-01-01T10-00-b.json.unreadable-1",  # set aside by Gemini
        "checkpoint-mine.json",  # a /chat save, not a transcript
        "logs.json",
    ]
    for name in names:
        (project / name).write_text("{}")
    roots = ingest_roots()
    assert home / ".gemini" / "tmp" in roots
    found = list(discover([home / ".gemini" / "tmp"]))
    assert found == [
        chats / "session-2026-01-01T10-00-a.json",
        chats / "session-2026-01-01T10-00-a.jsonl",
        chats / "parent-id" / "child.jsonl",
        project / "logs.json",  # last: its prompts only fill sessions no chat has
    ]
