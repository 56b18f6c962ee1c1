"""Codex CLI rollout parser: real sample files in, normalised records out (no database)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from store.ingest.parsers import codex
from store.records import (
    KIND_EVENT,
    KIND_META,
    KIND_PROMPT,
    KIND_SUMMARY,
    KIND_SYSTEM,
    KIND_TEXT,
    KIND_THINKING,
    KIND_TOOL_CALL,
    KIND_TOOL_RESULT,
    KIND_UNKNOWN,
    BadLine,
    MessageRecord,
    ParseState,
    Record,
    SessionInfo,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "codex"
ALL_FILES = sorted(FIXTURES.rglob("*.jsonl"))
POMODORO = FIXTURES / "yoavf__ai-sessions/examples/codex-pomodor-timer.jsonl"
SESSION = FIXTURES / "codemie-ai__codemie-code/tests/integration/session/fixtures/codex"
TURN_1 = SESSION / "turn-1.jsonl"
TURN_2 = SESSION / "turn-2.jsonl"
SPAWN = SESSION / "turn-spawn-skill.jsonl"
METRICS = FIXTURES / (
    "codemie-ai__codemie-code/tests/integration/metrics/fixtures/codex/sessions/2026/01/02"
)
REAL_077 = METRICS / "rollout-2026-01-02T18-39-45-019b7f94-51b4-7593-922e-ba12b5b73b52.jsonl"
ERRORS = METRICS / "rollout-2026-01-02T19-00-00-019b7f95-0000-7000-0000-000000000001.jsonl"
CCL = FIXTURES / "daaain__claude-code-log/test/test_data/codex"
SYNTHETIC = (
    CCL
    / "sessions/2026/01/02/rollout-2026-01-02T03-04-05-11111111-1111-4111-8111-111111111111.jsonl"
)
LEGACY = CCL / "sessions/rollout-44444444-4444-4444-8444-444444444444.jsonl"
ARCHIVED = CCL / "archived_sessions/rollout-55555555-5555-4555-8555-555555555555.jsonl"
NO_ID = FIXTURES / "iansherr__claude-code-log/test/fixtures/codex/sample-session.jsonl"


def split(data: bytes) -> list[tuple[int, bytes]]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return list(enumerate(lines, 1))


def run(path: Path | str, data: bytes | None = None) -> list[Record]:
    raw = Path(path).read_bytes() if data is None else data
    return list(codex.parse(split(raw), ParseState(str(path))))


def messages(records: list[Record]) -> list[MessageRecord]:
    return [r for r in records if isinstance(r, MessageRecord)]


def visible(records: list[Record], kind: str) -> list[MessageRecord]:
    return [m for m in messages(records) if m.kind == kind and not m.hidden]


def last_info(records: list[Record]) -> SessionInfo:
    infos = [r for r in records if isinstance(r, SessionInfo)]
    assert infos, "no SessionInfo emitted"
    return infos[-1]


def at(records: list[Record], number: int) -> MessageRecord:
    return next(m for m in messages(records) if m.line == number)


def line(obj: dict[str, object]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------------
# Every sample file.


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_line_is_one_record_and_raw_round_trips(path: Path) -> None:
    data = path.read_bytes()
    lines = split(data)
    records = run(path, data)
    per_line = [r for r in records if isinstance(r, MessageRecord | BadLine)]
    assert [r.line for r in per_line] == [n for n, _ in lines]
    by_line = dict(lines)
    for m in messages(records):
        assert m.raw == by_line[m.line]
        assert m.session_key
        m.text.encode("utf-8")
    assert b"\n".join(m.raw for m in messages(records)) + b"\n" == data
    assert isinstance(records[0], SessionInfo)


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_parsing_in_pieces_equals_parsing_whole(path: Path) -> None:
    lines = split(path.read_bytes())
    whole = list(codex.parse(lines, ParseState(str(path))))
    for cut in range(len(lines) + 1):
        state = ParseState(str(path))
        first = list(codex.parse(lines[:cut], state))
        # The state is persisted as JSON between passes.
        state = ParseState(str(path), json.loads(json.dumps(state.data)))
        assert first + list(codex.parse(lines[cut:], state)) == whole, cut


def test_turn_1_then_appended_turn_2_equals_turn_2_whole() -> None:
    one, two = TURN_1.read_bytes(), TURN_2.read_bytes()
    assert two.startswith(one)
    state = ParseState(str(TURN_2))
    first = list(codex.parse(split(one), state))
    rest = [(n, raw) for n, raw in split(two) if n > len(split(one))]
    second = list(codex.parse(rest, ParseState(state.path, json.loads(json.dumps(state.data)))))
    assert first + second == run(TURN_2)
    assert not any(isinstance(r, SessionInfo) for r in second)  # nothing new to say


def test_sniff() -> None:
    for path in ALL_FILES:
        first = json.loads(split(path.read_bytes())[0][1])
        assert codex.sniff(first), path.name
    assert codex.sniff({"record_type": "state"})
    assert not codex.sniff({"type": "user", "sessionId": "s", "uuid": "u", "timestamp": "t"})
    assert not codex.sniff({"type": "summary", "summary": "x", "leafUuid": "u"})
    assert not codex.sniff({"id": "x", "timestamp": "t", "sessionId": "s"})
    assert not codex.sniff({"type": "response_item", "payload": "not a dict"})


# ---------------------------------------------------------------------------------------------
# Double recording, injected context, first prompt.


def test_double_recorded_prompts_and_answers_show_once() -> None:
    records = run(POMODORO)
    prompts = visible(records, KIND_PROMPT)
    assert [p.line for p in prompts] == [3, 68, 91]
    assert all(p.line_type == "response_item/message" for p in prompts)
    assert len(visible(records, KIND_TEXT)) == 3
    assert len(visible(records, KIND_THINKING)) == 20
    events = [m for m in messages(records) if m.kind == KIND_EVENT]
    assert len(events) == 26 and all(m.hidden for m in events)
    assert len(visible(run(TURN_1), KIND_PROMPT)) == 1
    assert len(visible(run(TURN_2), KIND_PROMPT)) == 2


def test_event_before_its_response_item_twin_shows_once() -> None:
    records = run(SYNTHETIC)
    prompts = visible(records, KIND_PROMPT)
    assert [(p.line, p.text) for p in prompts] == [(3, "List the synthetic files.")]
    answers = visible(records, KIND_TEXT)
    assert [(a.line, a.line_type) for a in answers] == [(13, "response_item/message")]
    assert last_info(records).first_prompt == "List the synthetic files."


def test_events_are_shown_when_the_file_has_no_response_messages() -> None:
    records = run(ARCHIVED)
    assert [p.text for p in visible(records, KIND_PROMPT)] == ["Archived synthetic prompt."]
    assert last_info(records).first_prompt == "Archived synthetic prompt."


def test_injected_context_is_system_not_the_first_prompt() -> None:
    records = run(TURN_1)
    by_line = {m.line: m for m in messages(records)}
    env = by_line[4]
    assert env.text.startswith("<environment_context>")
    assert (env.kind, env.role, env.hidden) == (KIND_SYSTEM, "system", False)
    developer = by_line[3]
    assert (developer.kind, developer.role, developer.hidden) == (KIND_SYSTEM, "system", True)
    info = last_info(records)
    assert info.first_prompt == "Hello, Codex! Please explain what you do."
    assert info.model == "o4-mini" and info.project == "/home/user/project"
    assert info.git_branch == "main"
    agents_md = messages(run(REAL_077))[1]
    assert agents_md.text.startswith("# AGENTS.md instructions")
    assert agents_md.kind == KIND_SYSTEM
    assert last_info(run(REAL_077)).first_prompt == (
        "what is current repository about? summarize purpuse and explain goals"
    )


def test_developer_message_and_assistant_model() -> None:
    records = run(NO_ID)
    developer = messages(records)[2]
    assert (developer.role, developer.kind, developer.hidden) == ("system", KIND_SYSTEM, True)
    answers = visible(records, KIND_TEXT)
    assert [a.model for a in answers] == ["gpt-4o", "gpt-4o"]
    assert last_info(records).first_prompt is None


# ---------------------------------------------------------------------------------------------
# Session identity.


def test_session_meta_without_id_takes_the_file_name() -> None:
    assert last_info(run(NO_ID)).session_key == "sample-session"
    named = "/x/sessions/2026/01/02/rollout-2026-01-02T18-39-45-019b7f94-51b4-7593-922e-ba12b5b73b52.jsonl"  # noqa: E501
    records = run(named, NO_ID.read_bytes())
    assert {m.session_key for m in messages(records)} == {"019b7f94-51b4-7593-922e-ba12b5b73b52"}
    assert last_info(records).started_at == 1781863200000  # first line time, no payload time
    short = "rollout-44444444-4444-4444-8444-444444444444.jsonl.zst"
    assert last_info(run(short, NO_ID.read_bytes())).session_key == (
        "44444444-4444-4444-8444-444444444444"
    )


def test_legacy_pre_envelope_file() -> None:
    records = run(LEGACY)
    header, prompt, answer = messages(records)
    assert header.kind == KIND_META and header.hidden
    assert (prompt.kind, prompt.text, prompt.line_type) == (
        KIND_PROMPT,
        "Open the synthetic legacy session.",
        "message",
    )
    assert (answer.kind, answer.role) == (KIND_TEXT, "assistant")
    info = last_info(records)
    assert info.session_key == "44444444-4444-4444-8444-444444444444"
    assert prompt.timestamp == answer.timestamp == info.started_at == 1767503167000
    state_line = {"record_type": "state"}
    more = list(codex.parse([(1, line(state_line))], ParseState("rollout-x.jsonl")))
    assert messages(more)[0].kind == KIND_META and messages(more)[0].hidden


def test_unknown_top_level_type_is_kept_as_unknown() -> None:
    unknown = messages(run(SYNTHETIC))[-1]
    assert unknown.kind == KIND_UNKNOWN and not unknown.hidden
    assert unknown.line_type == "future_synthetic_record"
    assert unknown.text == "[unknown record type 'future_synthetic_record']"
    item = {
        "timestamp": "2026-01-01T00:00:00Z",
        "type": "response_item",
        "payload": {"type": "world_state", "x": 1},
    }
    rec = messages(list(codex.parse([(1, line(item))], ParseState("r.jsonl"))))[0]
    assert (rec.kind, rec.line_type) == (KIND_UNKNOWN, "response_item/world_state")


# ---------------------------------------------------------------------------------------------
# Sub-agents.


def test_sub_agent_spawn_in_the_parent() -> None:
    records = run(SPAWN)
    assert [p.text for p in visible(records, KIND_PROMPT)] == ["run a review"]
    calls = visible(records, KIND_TOOL_CALL)
    assert [c.parts[0].tool_name for c in calls] == ["exec_command", "spawn_agent", "wait_agent"]
    collab = [m for m in messages(records) if m.line_type.startswith("event_msg/collab_")]
    assert len(collab) == 2 and all(m.kind == KIND_SYSTEM and m.hidden for m in collab)
    info = last_info(records)
    assert (info.session_key, info.parent_key, info.model) == ("spawn-test-uuid", None, "gpt-5.4")


def _sub_agent_lines(with_source: bool) -> list[tuple[int, bytes]]:
    source = {"subagent": {"thread_spawn": {"parent_thread_id": "parent-uuid", "depth": 1}}}
    child = {"id": "child-uuid", "timestamp": "2026-05-12T10:00:05.000Z", "cwd": "/p"}
    if with_source:
        child["source"] = source
    objs: list[dict[str, object]] = [
        {"timestamp": "2026-05-12T10:00:05.100Z", "type": "session_meta", "payload": child},
        {
            "timestamp": "2026-05-12T10:00:05.100Z",
            "type": "session_meta",
            "payload": {"id": "parent-uuid", "timestamp": "2026-05-12T09:00:00.000Z", "cwd": "/p"},
        },
        {
            "timestamp": "2026-05-12T09:00:01.000Z",
            "type": "response_item",
            "payload": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "parent prompt"}],
            },
        },
        {
            "timestamp": "2026-05-12T09:00:02.000Z",
            "type": "event_msg",
            "payload": {"type": "agent_message", "message": "parent answer"},
        },
        {
            "timestamp": "2026-05-12T10:00:06.000Z",
            "type": "turn_context",
            "payload": {"model": "gpt-5.4-mini", "cwd": "/p"},
        },
        {
            "timestamp": "2026-05-12T10:00:06.100Z",
            "type": "response_item",
            "payload": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "review code"}],
            },
        },
        {
            "timestamp": "2026-05-12T10:00:07.000Z",
            "type": "response_item",
            "payload": {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "child answer"}],
            },
        },
    ]
    return [(n, line(o)) for n, o in enumerate(objs, 1)]


@pytest.mark.parametrize("with_source", [True, False])
def test_sub_agent_file_hides_replayed_parent_history(with_source: bool) -> None:
    path = "rollout-2026-05-12T12-00-05-child-uuid.jsonl"
    records = list(codex.parse(_sub_agent_lines(with_source), ParseState(path)))
    msgs = messages(records)
    assert {m.session_key for m in msgs} == {"child-uuid"}
    assert [m.kind for m in msgs[:2]] == [KIND_META, KIND_META]
    assert [m.hidden for m in msgs[2:4]] == [True, True]  # replayed, earlier than the child
    assert [(m.kind, m.text) for m in msgs if not m.hidden] == [
        (KIND_PROMPT, "review code"),
        (KIND_TEXT, "child answer"),
    ]
    info = last_info(records)
    assert info.first_prompt == "review code"
    assert info.parent_key == ("parent-uuid" if with_source else None)
    assert info.started_at == 1778580005000 and info.model == "gpt-5.4-mini"


def test_fork_names_its_origin() -> None:
    meta = {
        "timestamp": "2026-01-01T00:00:00Z",
        "type": "session_meta",
        "payload": {"id": "fork-id", "forked_from_id": "origin-id"},
    }
    info = last_info(list(codex.parse([(1, line(meta))], ParseState("r.jsonl"))))
    assert (info.session_key, info.resumed_from_key) == ("fork-id", "origin-id")


# ---------------------------------------------------------------------------------------------
# Tools, reasoning, events.


def test_old_json_in_string_output_is_unwrapped_with_exit_code() -> None:
    records = run(ERRORS)
    results = visible(records, KIND_TOOL_RESULT)
    assert [r.parts[0].is_error for r in results] == [False, True, False]
    failed = results[1]
    assert failed.text == "cat: nonexistent.txt: No such file or directory\n"
    assert failed.parts[0].tool_id == "call_failure_1"
    call = visible(records, KIND_TOOL_CALL)[1]
    assert call.text == '{"command":"cat nonexistent.txt"}'
    assert (call.parts[0].tool_name, call.parts[0].tool_id) == ("shell", "call_failure_1")


def test_tool_shapes_and_encrypted_reasoning() -> None:
    records = run(SYNTHETIC)
    assert all("SYNTHETIC_ENCRYPTED" not in m.text for m in messages(records))
    thinking = visible(records, KIND_THINKING)[0]
    assert thinking.text == "I will inspect the synthetic directory."
    custom = at(records, 8)
    assert custom.line_type == "response_item/custom_tool_call"
    assert custom.text.startswith("*** Begin Patch")
    listed = at(records, 9)
    assert (listed.kind, listed.text) == (KIND_TOOL_RESULT, "Done!")
    mcp_out = at(records, 11)
    assert mcp_out.text == '{"status":"ok"}' and not mcp_out.parts[0].is_error
    encrypted = visible(run(TURN_1), KIND_THINKING)[0]
    assert encrypted.text == "[encrypted reasoning]" and "gAAAA" not in encrypted.text
    patch_failed = at(run(POMODORO), 111)
    assert patch_failed.parts[0].is_error


def test_token_counts_and_duplicate_lines_share_a_stable_id() -> None:
    counts = [m for m in messages(run(ERRORS)) if m.line_type == "event_msg/token_count"]
    assert [(m.tokens_in, m.tokens_out) for m in counts] == [(5000, 100), (100, 20), (200, 60)]
    assert all(m.kind == KIND_META and m.hidden for m in counts)
    pomodoro = messages(run(POMODORO))
    assert len({m.stable_id for m in pomodoro}) == len(pomodoro)
    # Codex sometimes writes the same token_count line twice: one logical record.
    twice = [(1, counts[0].raw), (2, counts[0].raw)]
    first, second = messages(list(codex.parse(twice, ParseState(str(ERRORS)))))
    assert first.stable_id == second.stable_id and first.line != second.line


def test_runtime_events() -> None:
    objs = [
        {"type": "event_msg", "payload": {"type": "thread_name_updated", "thread_name": "Fix"}},
        {"type": "event_msg", "payload": {"type": "turn_aborted", "reason": "interrupted"}},
        {"type": "event_msg", "payload": {"type": "thread_rolled_back", "num_turns": 2}},
        {"type": "event_msg", "payload": {"type": "context_compacted"}},
        {"type": "event_msg", "payload": {"type": "error", "message": "boom"}},
        {"type": "event_msg", "payload": {"type": "task_started", "turn_id": "t"}},
        {"type": "compacted", "payload": {"message": "", "replacement_history": [{"x": 1}]}},
        {"type": "response_item", "payload": {"type": "ghost_snapshot", "ghost_commit": {}}},
    ]
    records = list(codex.parse([(n, line(o)) for n, o in enumerate(objs, 1)], ParseState("r")))
    shown = [(m.kind, m.text) for m in messages(records) if not m.hidden]
    assert shown == [
        (KIND_SYSTEM, "Turn aborted (interrupted)"),
        (KIND_SYSTEM, "Rolled back 2 turns"),
        (KIND_SYSTEM, "Context compacted"),
        (KIND_SYSTEM, "Error: boom"),
        (KIND_SUMMARY, "Context compacted"),
    ]
    assert last_info(records).title == "Fix"


# ---------------------------------------------------------------------------------------------
# Damage.


def test_malformed_line_in_the_middle_costs_one_line() -> None:
    lines = split(POMODORO.read_bytes())
    broken = [*lines[:50], (0, b'{"timestamp":"2025-10-21T20:05:00Z","type":"respo')]
    broken += lines[50:]
    renumbered = [(n, raw) for n, (_, raw) in enumerate(broken, 1)]
    records = list(codex.parse(renumbered, ParseState(str(POMODORO))))
    bad = [r for r in records if isinstance(r, BadLine)]
    assert [(b.line, b.reason) for b in bad] == [(51, "malformed-json")]
    assert bad[0].snippet.startswith('{"timestamp"')
    assert len(messages(records)) == len(lines)
    assert len(visible(records, KIND_PROMPT)) == 3


def test_garbage_never_raises() -> None:
    garbage = [
        b"",
        b"   ",
        b"42",
        b"[1, 2]",
        b'"text"',
        b"{",
        b"null",
        b'{"type": ["list"]}',
        b'{"type": "response_item", "payload": null}',
        b'{"type": "event_msg", "payload": {}}',
        b'{"type": "response_item", "payload": {"type": "message", "content": 7}}',
        b'{"type": "response_item", "payload": {"type": "function_call", "arguments": 1}}',
        b'{"type": "session_meta", "payload": {"id": 5, "git": "x", "source": []}}',
        b'{"type":"event_msg","payload":{"type":"token_count","info":{"last_token_usage":1}}}',
        b'{"type":"response_item","payload":{"type":"function_call_output","output":{"a":1}}}',
        b'{"type": "response_item", "payload": {"type": "reasoning", "summary": "x"}}',
    ]
    records = list(codex.parse(enumerate(garbage, 1), ParseState("")))
    lines = [r.line for r in records if isinstance(r, MessageRecord | BadLine)]
    assert lines == list(range(3, len(garbage) + 1))  # the two blank lines yield nothing
    reasons = [r.reason for r in records if isinstance(r, BadLine)]
    assert reasons == [
        "not-an-object",
        "not-an-object",
        "not-an-object",
        "malformed-json",
        "not-an-object",
    ]
    state = ParseState("r", {"key": 3, "info": "bad", "echo": {"x": 1}, "child_ts": "no"})
    assert messages(list(codex.parse([(1, garbage[-1])], state)))[0].session_key == "r"


def test_invalid_utf8_and_lone_surrogates_are_parsed() -> None:
    bad_utf8 = (
        b'{"timestamp":"2026-01-01T00:00:00Z","type":"response_item","payload":{"type":'
        b'"message","role":"user","content":[{"type":"input_text","text":"caf\xc3 ok"}]}}'
    )
    surrogate = (
        b'{"timestamp":"2026-01-01T00:00:01Z","type":"response_item","payload":{"type":'
        b'"function_call_output","call_id":"c","output":"half \\ud83d emoji"}}'
    )
    args = (
        b'{"type":"response_item","payload":{"type":"function_call","name":"x",'
        b'"arguments":"{\\"a\\":\\"\\\\ud83d\\"}","call_id":"d"}}'
    )
    records = list(codex.parse([(1, bad_utf8), (2, surrogate), (3, args)], ParseState("r")))
    msgs = messages(records)
    assert len(msgs) == 3
    for m in msgs:
        m.text.encode("utf-8")
        for p in m.parts:
            p.text.encode("utf-8")
    assert msgs[0].kind == KIND_PROMPT and msgs[0].text.startswith("caf")
    assert msgs[1].text == "half \ufffd emoji"


def test_huge_function_call_output_line() -> None:
    big = "x" * (5 * 1024 * 1024)
    obj = {
        "timestamp": "2026-01-01T00:00:00Z",
        "type": "response_item",
        "payload": {"type": "function_call_output", "call_id": "c", "output": big},
    }
    raw = line(obj)
    records = list(codex.parse([(1, raw)], ParseState("r")))
    (rec,) = messages(records)
    assert rec.kind == KIND_TOOL_RESULT and len(rec.text) == len(big) and rec.raw == raw
