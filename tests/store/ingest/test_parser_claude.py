"""Claude Code parser on the real sample transcripts (pure: no database, no UI)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest

from store.ingest.parsers import claude
from store.records import (
    KIND_META,
    KIND_PROMPT,
    KIND_SUMMARY,
    KIND_SYSTEM,
    KIND_THINKING,
    KIND_TOOL_CALL,
    KIND_TOOL_RESULT,
    KIND_UNKNOWN,
    PART_IMAGE,
    PART_TOOL_CALL,
    PART_TOOL_RESULT,
    BadLine,
    MessageRecord,
    ParseState,
    Record,
    SessionInfo,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
ROOT = FIXTURES / "claude-code"
CCL = ROOT / "daaain__claude-code-log/test/test_data"
CODEMIE = ROOT / "codemie-ai__codemie-code/tests/integration/session/fixtures/claude"
GITAI = ROOT / "git-ai-project__git-ai/tests/fixtures"

TURN_1 = CODEMIE / "incremental-simple/turn-1.jsonl"
TURN_2 = CODEMIE / "incremental-simple/turn-2.jsonl"
TURN_SID = "3fb74381-1bf4-475e-8c6f-442d872b1bcf"
FLAT_AGENT = CODEMIE / "-tmp-private/agent-36541525.jsonl"
FLAT_PARENT = "4c2ddfdc-b619-4525-8d03-1950fb1b0257"
NESTED_PARENT = "29ccd257-68b1-427f-ae5f-6524b7cb6f20"
NESTED_AGENT = (
    CCL / f"real_projects/-src-experiments-claude_p/{NESTED_PARENT}/subagents/agent-a2271d1.jsonl"
)
HOOKS_SESSION = CCL / "real_projects/-experiments-ideas/03eb5929-52b3-4b13-ada3-b93ae35806b8.jsonl"
CAVEAT_SESSION = (
    CCL
    / "real_projects/-Users-dain-workspace-claude-code-log-sample"
    / "326189cf-5676-4237-8cde-1ce80aae4a9f.jsonl"
)
ALL_FILES = sorted(ROOT.rglob("*.jsonl"))


def read(path: Path, keep_blank: bool = False) -> list[tuple[int, bytes]]:
    """A fixture as `(line number, raw bytes)` pairs, the way the ingester hands them over."""
    pairs = enumerate(path.read_bytes().split(b"\n"), 1)
    return [(i, line) for i, line in pairs if line or keep_blank]


def parse(
    lines: Iterable[tuple[int, bytes]], path: str | Path, state: ParseState | None = None
) -> list[Record]:
    return list(claude.parse(lines, state or ParseState(str(path))))


def messages(records: list[Record]) -> list[MessageRecord]:
    return [r for r in records if isinstance(r, MessageRecord)]


def bad_lines(records: list[Record]) -> list[BadLine]:
    return [r for r in records if isinstance(r, BadLine)]


def infos(records: list[Record], key: str | None = None) -> list[SessionInfo]:
    found = [r for r in records if isinstance(r, SessionInfo)]
    return [r for r in found if key is None or r.session_key == key]


def merged(records: list[Record], key: str) -> dict[str, Any]:
    """The session row the store would build: non-None fields of its SessionInfos, last wins."""
    row: dict[str, Any] = {}
    for info in infos(records, key):
        row.update({k: getattr(info, k) for k in info.__slots__ if getattr(info, k) is not None})
    return row


def line_of(path: Path, predicate: Any) -> bytes:
    """The first raw line of a fixture whose decoded object satisfies `predicate`."""
    for _, raw in read(path):
        if predicate(json.loads(raw)):
            return raw
    raise AssertionError(f"no matching line in {path.name}")


def with_changes(raw: bytes, **changes: Any) -> bytes:
    obj = json.loads(raw)
    obj.update(changes)
    return orjson.dumps(obj)


# ---------------------------------------------------------------------------------------------
# Every fixture


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_line_gives_one_record_with_its_raw_bytes(path: Path) -> None:
    lines = read(path, keep_blank=True)
    records = parse(lines, path)
    per_line = [r for r in records if not isinstance(r, SessionInfo)]
    non_blank = [(i, raw) for i, raw in lines if raw.strip()]
    assert [r.line for r in per_line] == [i for i, _ in non_blank]
    for record, (_, raw) in zip(per_line, non_blank, strict=True):
        assert isinstance(record, MessageRecord), record
        assert record.raw == raw
        record.text.encode("utf-8")
    ids = [(m.session_key, m.stable_id) for m in messages(records)]
    assert len(set(ids)) == len(ids), "distinct lines of a real file must not collide"


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_session_info_comes_before_its_first_message(path: Path) -> None:
    seen: set[str] = set()
    for record in parse(read(path), path):
        if isinstance(record, SessionInfo):
            seen.add(record.session_key)
        elif isinstance(record, MessageRecord):
            assert record.session_key in seen


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_first_line_sniffs_as_claude(path: Path) -> None:
    first = json.loads(read(path)[0][1])
    assert claude.sniff(first)


@pytest.mark.parametrize(
    "path", sorted((FIXTURES / "codex").rglob("*.jsonl")), ids=lambda p: p.name
)
def test_codex_lines_do_not_sniff_as_claude(path: Path) -> None:
    for _, raw in read(path)[:20]:
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            assert not claude.sniff(obj), raw[:120]


# ---------------------------------------------------------------------------------------------
# Incremental parsing


def test_turn_1_then_appended_lines_equals_turn_2_whole() -> None:
    whole = parse(read(TURN_2), TURN_2)
    state = ParseState(str(TURN_2))
    first = parse(read(TURN_1), TURN_2, state)
    assert TURN_2.read_bytes().startswith(TURN_1.read_bytes())
    # The state is persisted as JSON between passes.
    state = ParseState(str(TURN_2), json.loads(json.dumps(state.data)))
    rest = parse(read(TURN_2)[len(read(TURN_1)) :], TURN_2, state)
    assert first + rest == whole


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_any_split_point_gives_the_same_records(path: Path) -> None:
    lines = read(path)
    whole = parse(lines, path)
    # Until the first sessionId is seen, sessionless lines wait for it; a pass that ends before
    # it falls back to the file stem (see the next test), so splits start from there.
    first_sid = next(n for n, (_, raw) in enumerate(lines) if b'"sessionId"' in raw)
    for split in range(first_sid + 1, len(lines)):
        state = ParseState(str(path))
        head = parse(lines[:split], path, state)
        state = ParseState(str(path), json.loads(json.dumps(state.data)))
        assert head + parse(lines[split:], path, state) == whole, split


def test_split_before_first_session_id_in_uuid_named_file() -> None:
    path = f"/p/{TURN_SID}.jsonl"  # a real transcript is named after its session
    lines = read(TURN_2)
    whole = parse(lines, path)
    state = ParseState(path)
    head = parse(lines[:1], path, state)  # a lone summary line: no sessionId yet
    assert messages(head)[0].session_key == TURN_SID
    assert head + parse(lines[1:], path, state) == whole


# ---------------------------------------------------------------------------------------------
# Sessions


def test_streamed_reply_shares_group_id_but_not_stable_id() -> None:
    replies = [
        m for m in messages(parse(read(NESTED_AGENT), NESTED_AGENT)) if m.role == "assistant"
    ]
    groups: dict[str | None, list[MessageRecord]] = {}
    for m in replies:
        groups.setdefault(m.group_id, []).append(m)
    streamed = [g for g in groups.values() if len(g) > 1]
    assert streamed, "agent-a2271d1 streams replies over several lines"
    for group in streamed:
        assert len({m.stable_id for m in group}) == len(group)
        assert len({m.native_id for m in group}) == len(group)
    assert all(m.group_id and m.group_id.startswith("msg_") for m in replies)
    assert any(m.kind == KIND_TOOL_CALL for m in replies)
    call = next(m for m in replies if m.kind == KIND_TOOL_CALL)
    assert call.parts[0].type == PART_TOOL_CALL and call.parts[0].tool_id
    assert call.text.startswith(f"{call.parts[0].tool_name}: {{")
    assert call.model == "claude-haiku-4-5-20251001" and call.tokens_out is not None


@pytest.mark.parametrize(
    ("path", "key", "parent"),
    [
        (FLAT_AGENT, f"{FLAT_PARENT}#agent-36541525", FLAT_PARENT),
        (NESTED_AGENT, f"{NESTED_PARENT}#agent-a2271d1", NESTED_PARENT),
        (
            CCL / "sidechain_agent.jsonl",  # not named agent-*: isSidechain + agentId decide
            "88a8d761-7b9a-4bf1-a8ca-c1febe6bf358#agent-e1c84ba5",
            "88a8d761-7b9a-4bf1-a8ca-c1febe6bf358",
        ),
    ],
    ids=["flat", "nested", "sidechain"],
)
def test_sub_agent_key_and_parent(path: Path, key: str, parent: str) -> None:
    records = parse(read(path), path)
    assert {m.session_key for m in messages(records)} == {key}
    assert isinstance(records[0], SessionInfo)
    assert records[0].session_key == key and records[0].parent_key == parent


def test_agent_file_name_gives_the_agent_when_the_line_has_none() -> None:
    raw = with_changes(read(FLAT_AGENT)[0][1], agentId=None, isSidechain=None)
    records = parse([(1, raw)], "/x/agent-zz9.jsonl")
    assert messages(records)[0].session_key == f"{FLAT_PARENT}#agent-zz9"
    assert infos(records)[0].parent_key == FLAT_PARENT


def test_two_sessions_in_one_file() -> None:
    path = CCL / "dag_resume.jsonl"
    records = parse(read(path), path)
    keys = [m.session_key for m in messages(records)]
    assert keys == ["s1"] * 5 + ["s2"] * 3
    assert merged(records, "s1")["first_prompt"] == "Start"
    assert merged(records, "s2")["first_prompt"] == "Resume here"
    assert merged(records, "s2")["model"] == "claude-3-sonnet"


def test_summaries_at_top_and_mid_file_give_the_title() -> None:
    records = parse(read(TURN_1), TURN_1)
    assert {m.session_key for m in messages(records)} == {TURN_SID}
    summaries = [m for m in messages(records) if m.line_type == "summary"]
    assert len(summaries) == 15 and all(m.kind == KIND_SUMMARY for m in summaries)
    assert summaries[0].line == 1 and summaries[-1].line == 20
    row = merged(records, TURN_SID)
    assert row["title"] == "Claude Code Tools Overview"  # the last summary wins
    assert row["first_prompt"] == "show tools"
    assert row["project"] == "/Users/User/repo/codemie-ai/codemie-code"
    assert row["git_branch"] == "hooks"
    assert row["model"] == "claude-sonnet-4-5-20250929"


def test_ai_and_custom_titles_last_one_wins() -> None:
    base = read(CCL / "session_b.jsonl")
    lines = [
        *base,
        (10, b'{"type":"ai-title","aiTitle":"Machine title","sessionId":"session_b"}'),
        (11, b'{"type":"custom-title","customTitle":"My title","sessionId":"session_b"}'),
    ]
    records = parse(lines, "/x/session_b.jsonl")
    assert merged(records, "session_b")["title"] == "My title"
    tail = messages(records)[-2:]
    assert [(m.kind, m.hidden, m.text) for m in tail] == [
        (KIND_META, True, "Machine title"),
        (KIND_META, True, "My title"),
    ]


def test_session_info_is_not_repeated_when_nothing_changes() -> None:
    records = parse(read(NESTED_AGENT), NESTED_AGENT)
    assert len(infos(records)) == 2  # the first line, then the model of the first reply


# ---------------------------------------------------------------------------------------------
# Classification


def test_first_prompt_skips_meta_command_and_tool_result_lines() -> None:
    records = parse(read(CAVEAT_SESSION), CAVEAT_SESSION)
    users = {m.line: m for m in messages(records) if m.line_type == "user"}
    assert (users[5].kind, users[5].hidden) == (KIND_SYSTEM, True)  # isMeta caveat
    assert (users[6].kind, users[6].hidden) == (KIND_SYSTEM, False)  # <bash-input>
    assert users[7].kind == KIND_SYSTEM  # <bash-stdout>
    assert users[8].kind == KIND_PROMPT
    assert (users[11].role, users[11].kind) == ("tool", KIND_TOOL_RESULT)
    assert users[11].parts[0].type == PART_TOOL_RESULT and users[11].parts[0].tool_id
    key = "326189cf-5676-4237-8cde-1ce80aae4a9f"
    assert merged(records, key)["first_prompt"] == "please fix these"
    assert "\x1b" not in "".join(m.text for m in messages(records))  # hook colour codes


def test_slash_command_lines_and_hidden_bookkeeping() -> None:
    records = parse(read(HOOKS_SESSION), HOOKS_SESSION)
    by_line = {m.line: m for m in messages(records)}
    assert by_line[60].text.startswith("<command-name>/exit") and by_line[60].kind == KIND_SYSTEM
    assert by_line[61].kind == KIND_SYSTEM
    assert (by_line[16].line_type, by_line[16].hidden) == ("system/stop_hook_summary", True)
    assert all(
        m.hidden for m in messages(records) if m.line_type in ("progress", "file-history-snapshot")
    )
    thinking = by_line[5]
    assert thinking.kind == KIND_THINKING and thinking.group_id == by_line[7].group_id


def test_compaction_boundary_and_summary() -> None:
    path = CCL / "dag_compact_after_rewind.jsonl"
    by_line = {m.line: m for m in messages(parse(read(path), path))}
    assert by_line[9].line_type == "system/compact_boundary"
    assert by_line[9].text == "Conversation compacted" and not by_line[9].hidden
    assert (by_line[10].role, by_line[10].kind) == ("user", KIND_SUMMARY)


def test_unknown_line_type_is_kept_raw() -> None:
    raw = with_changes(read(CCL / "session_b.jsonl")[0][1], type="future-thing")
    record = messages(parse([(1, raw)], "/x/session_b.jsonl"))[0]
    assert (record.kind, record.role, record.hidden) == (KIND_UNKNOWN, "meta", False)
    assert record.line_type == "future-thing" and record.raw == raw
    assert record.text == "[unknown record type 'future-thing']"


def test_queue_operation_remove_is_the_user_steering() -> None:
    line = b'{"type":"queue-operation","operation":"remove","content":"use pytest","sessionId":"s"}'
    record = messages(parse([(1, line)], "/x/s.jsonl"))[0]
    assert (record.role, record.kind, record.hidden, record.text) == (
        "user",
        KIND_SYSTEM,
        False,
        "use pytest",
    )


def test_image_blocks_never_carry_base64() -> None:
    raw = with_changes(
        read(CCL / "session_b.jsonl")[0][1],
        message={
            "role": "user",
            "content": [
                {"type": "text", "text": "see screenshot"},
                {"type": "image", "source": {"type": "base64", "data": "QUJDREVG" * 100}},
            ],
        },
    )
    record = messages(parse([(1, raw)], "/x/s.jsonl"))[0]
    assert record.kind == KIND_PROMPT and record.parts[1].type == PART_IMAGE
    assert "QUJD" not in record.text and "[image]" in record.text


# ---------------------------------------------------------------------------------------------
# Identity


def test_stutter_duplicate_maps_to_the_same_stable_id() -> None:
    lines = read(NESTED_AGENT)
    raw = next(raw for _, raw in lines if b'"type":"assistant"' in raw)
    stutter = with_changes(raw, uuid="00000000-0000-4000-8000-000000000000")
    records = messages(parse([*lines, (len(lines) + 1, stutter)], NESTED_AGENT))
    original = next(m for m in records if m.raw == raw)
    copy = records[-1]
    assert copy.stable_id == original.stable_id and copy.native_id != original.native_id


def test_exact_duplicate_meta_lines_collapse() -> None:
    line = read(TURN_1)[0][1]
    records = messages(parse([(1, line), (2, line)], TURN_1))
    assert records[0].stable_id == records[1].stable_id


# ---------------------------------------------------------------------------------------------
# Damaged input


def test_malformed_line_in_the_middle_costs_one_line() -> None:
    lines = read(HOOKS_SESSION)
    middle = len(lines) // 2
    broken = [*lines[:middle], (999, b'{"type":"user","message":{"ro'), *lines[middle:]]
    records = parse(broken, HOOKS_SESSION)
    assert [(b.line, b.reason) for b in bad_lines(records)] == [(999, "malformed-json")]
    assert len(messages(records)) == len(lines)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"[1, 2]", "not-an-object"),
        (b'"massive error"', "not-an-object"),
        (b'{"sessionId":"s","uuid":"u"}', "no-type"),
        (b'{"type":5}', "no-type"),
        (b"\x00\xff garbage", "malformed-json"),
    ],
)
def test_unusable_lines_are_bad_lines(raw: bytes, reason: str) -> None:
    records = parse([(3, raw), (4, b""), (5, b"   ")], "/x/s.jsonl")
    assert [(r.line, r.reason) for r in bad_lines(records)] == [(3, reason)]
    assert len(records) == 1  # blank lines yield nothing


def test_invalid_utf8_and_lone_surrogate_are_replaced() -> None:
    raw = line_of(TURN_1, lambda o: o["type"] == "user")
    assert b"show tools" in raw
    for damaged in (
        raw.replace(b"show tools", b"show \xff\xfe tools"),
        raw.replace(b"show tools", b"show \\ud83d tools"),
    ):
        records = parse([(1, damaged)], TURN_1)
        record = messages(records)[0]
        assert record.kind == KIND_PROMPT and "\ufffd" in record.text
        record.text.encode("utf-8")
        merged(records, TURN_SID)["first_prompt"].encode("utf-8")


def test_huge_line_parses() -> None:
    raw = line_of(
        TURN_2, lambda o: o["type"] == "assistant" and o["message"]["content"][0]["type"] == "text"
    )
    obj = json.loads(raw)
    obj["message"]["content"][0]["text"] = "x" * 5_000_000
    huge = orjson.dumps(obj)
    record = messages(parse([(1, huge)], TURN_2))[0]
    assert len(record.text) == 5_000_000 and record.raw == huge


def test_truncated_stub_followed_by_a_record_is_salvaged() -> None:
    real = line_of(TURN_1, lambda o: o["type"] == "user")
    raw = b'{"type":"pr-link","prNu' + real
    record = messages(parse([(7, raw)], TURN_1))[0]
    assert (record.line, record.line_type, record.kind) == (7, "user", KIND_PROMPT)
    assert record.raw == raw


@pytest.mark.parametrize("value", [None, 5, "x", [], {}, [None, 3, "s", {"type": 1}], True])
def test_odd_shapes_never_raise(value: Any) -> None:
    lines = read(HOOKS_SESSION) + read(CCL / "hook_attachments.jsonl")
    for n, (_, raw) in enumerate(lines):
        obj = json.loads(raw)
        mutated = [orjson.dumps({**obj, key: value}) for key in obj if key != "type"]
        if isinstance(obj.get("message"), dict):
            mutated += [
                orjson.dumps({**obj, "message": {**obj["message"], k: value}})
                for k in obj["message"]
            ]
        records = parse(enumerate(mutated, 1), f"/x/{n}.jsonl")
        assert len(messages(records)) + len(bad_lines(records)) == len(mutated)
        assert not [b for b in bad_lines(records) if b.reason.startswith("parse-error")]


def test_file_without_any_session_id_uses_the_file_stem() -> None:
    summary = read(TURN_1)[0][1]
    lines = [(i, summary.replace(b"Cleared", str(i).encode())) for i in range(1, 301)]
    records = parse(lines, "/x/only-summaries.jsonl")
    assert {m.session_key for m in messages(records)} == {"only-summaries"}
    assert [m.line for m in messages(records)] == list(range(1, 301))
