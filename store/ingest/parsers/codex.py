"""OpenAI Codex CLI rollout parser: owns the mapping of `rollout-*.jsonl` lines to convo records.

Reads all three line-based generations (FORMATS.md §2): the current envelope
(`{"timestamp", "type", "payload"}`), the Rust "pre-envelope" files (a bare `{id, timestamp}`
header, `{"record_type": "state"}` markers and bare response items), and envelope files that
lack fields (`session_meta` without `id`: the id comes from the file name).

Every decodable line becomes exactly one `MessageRecord` (raw bytes kept, so nothing is lost and
a later parser can re-read it); undecodable lines become one `BadLine`. A `SessionInfo` precedes
the first record and follows whenever what is known about the session changes.

Codex writes prompts, answers and reasoning twice: as `response_item`s (the model-visible
history) and as `event_msg` mirrors. The response items are shown and the mirrors hidden, except
in files that have no response-item messages (yet): there the events are all there is, so they are
shown. Known limitation: in such a file, when an event is shown and its response-item twin comes
later, the twin is hidden only if it is among the next response items and its text is identical.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from store.ingest.parsers import common
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
    PART_IMAGE,
    PART_OTHER,
    PART_TEXT,
    PART_THINKING,
    PART_TOOL_CALL,
    PART_TOOL_RESULT,
    BadLine,
    MessageRecord,
    ParseState,
    PartRecord,
    Record,
    SessionInfo,
)

AGENT = "codex"

_ENVELOPE_TYPES = frozenset(
    {"session_meta", "response_item", "event_msg", "turn_context", "compacted"}
)
# Only these carry conversation lines that a sub-agent file may replay from its parent.
_REPLAYABLE = frozenset({"response_item", "event_msg"})
_UUID_TAIL = re.compile(
    r"(?:^|(?<=-))[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_SUFFIXES = (".jsonl.zst", ".jsonl", ".json.zst", ".json")
# Newer Codex reports the exit status as plain text at the head of a shell tool's output.
_EXIT_TEXT = re.compile(r"^(?:Exit code: |.*?Process exited with code )(-?\d+)", re.DOTALL)
# Plain-text tool outputs that only say "failed" in words (apply_patch in Codex 0.4x).
_FAILED_PREFIXES = ("apply_patch verification failed",)

# User-role text that Codex itself injects (codex-rs `contextual_user_message.rs` markers), with
# whether it is boilerplate to hide. None of it is a human prompt, so none of it titles a session.
_INJECTED: tuple[tuple[str, bool], ...] = (
    ("<environment_context>", False),
    ("# AGENTS.md instructions", False),
    ("<user_instructions>", False),
    ("<permissions instructions>", True),
    ("<skill>", False),
    ("<plugins>", True),
    ("<subagents>", True),
    ("<subagent_notification>", False),
    ("<turn_aborted>", True),  # the `turn_aborted` event already shows the abort
)
_SHELL_COMMAND = "<user_shell_command>"
_ECHO_LIMIT = 4
_STATE_VERSION = 1
_INFO_FIELDS = frozenset(
    {
        "parent_key",
        "project",
        "title",
        "first_prompt",
        "git_branch",
        "model",
        "started_at",
        "resumed_from_key",
    }
)


def sniff(obj: dict[str, Any]) -> bool:
    """Whether a decoded log line looks like a Codex rollout line.

    Args:
        obj: One decoded JSON object from the head of a file.

    Returns:
        True for envelope lines, the legacy `{id, timestamp}` header and `record_type: state`
        markers; False for Claude Code lines (they carry `sessionId` / `uuid`).
    """
    if "sessionId" in obj or "uuid" in obj:
        return False
    tag = obj.get("type")
    if isinstance(tag, str) and tag in _ENVELOPE_TYPES:
        return isinstance(obj.get("payload"), dict)
    if obj.get("record_type") == "state":
        return True
    return tag is None and "id" in obj and "timestamp" in obj


def parse(lines: Iterable[tuple[int, bytes]], state: ParseState) -> Iterator[Record]:
    """Turn rollout lines into records; never raises for any line content.

    Args:
        lines: `(1-based line number, raw bytes without the newline)` pairs, in file order.
        state: Carried between incremental passes over the same file; `state.data` is read at
            the start and rewritten after every line (it stays JSON-serialisable).

    Yields:
        `SessionInfo` (first, then on change), one `MessageRecord` per usable line, one
        `BadLine` per unusable line. Parsing a file in pieces yields what parsing it whole does.
    """
    st = _State.load(state.data, state.path)
    for number, raw in lines:
        records = _one_line(number, raw, st)
        # Saved before yielding, so a consumer that stops early never leaves stale state.
        st.save(state.data)
        yield from records


# ---------------------------------------------------------------------------------------------
# State carried across lines and passes.


@dataclass(slots=True)
class _State:
    key: str
    meta_seen: bool = False
    subagent: bool = False
    child_ts: int | None = None
    header_ts: int | None = None
    model: str | None = None
    has_resp: bool = False
    echo: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    sent_key: str | None = None
    dirty: bool = True

    @classmethod
    def load(cls, data: dict[str, Any], path: str) -> _State:
        """Rebuild from `ParseState.data`, tolerating missing or mistyped entries."""
        info = data.get("info")
        echo = data.get("echo")
        return cls(
            key=_str(data.get("key")) or _key_from_path(path),
            meta_seen=data.get("meta_seen") is True,
            subagent=data.get("subagent") is True,
            child_ts=_int(data.get("child_ts")),
            header_ts=_int(data.get("header_ts")),
            model=_str(data.get("model")),
            has_resp=data.get("has_resp") is True,
            echo=[e for e in echo if isinstance(e, str)] if isinstance(echo, list) else [],
            info={k: v for k, v in info.items() if k in _INFO_FIELDS}
            if isinstance(info, dict)
            else {},
            sent_key=_str(data.get("sent_key")),
            dirty=data.get("dirty") is not False,
        )

    def save(self, data: dict[str, Any]) -> None:
        data.update(
            v=_STATE_VERSION,
            key=self.key,
            meta_seen=self.meta_seen,
            subagent=self.subagent,
            child_ts=self.child_ts,
            header_ts=self.header_ts,
            model=self.model,
            has_resp=self.has_resp,
            echo=list(self.echo),
            info=dict(self.info),
            sent_key=self.sent_key,
            dirty=self.dirty,
        )

    def set(self, name: str, value: Any) -> None:
        """Record a session fact; a change makes the next line emit a fresh `SessionInfo`."""
        if value is not None and self.info.get(name) != value:
            self.info[name] = value
            self.dirty = True

    def session_info(self) -> SessionInfo | None:
        """A `SessionInfo` to emit now, if the key or any fact changed since the last one."""
        if not self.dirty and self.sent_key == self.key:
            return None
        self.dirty = False
        self.sent_key = self.key
        return SessionInfo(session_key=self.key, **self.info)

    def push_echo(self, role: str, text: str) -> None:
        """Remember a shown event mirror, so its response-item twin right after is hidden."""
        self.echo.append(common.digest(role, text))
        del self.echo[:-_ECHO_LIMIT]

    def take_echo(self, role: str, text: str) -> bool:
        """Whether a response item repeats a shown event mirror (then it is hidden)."""
        self.has_resp = True
        if not self.echo:
            return False
        mark = common.digest(role, text)
        if mark in self.echo:
            self.echo.remove(mark)
            return True
        # Twins are adjacent in practice; anything else means the echoes are stale.
        self.echo.clear()
        return False


def _key_from_path(path: str) -> str:
    """The session id in a file name (`rollout-<local time>-<uuid>.jsonl`), else the stem."""
    name = re.split(r"[\\/]", path)[-1]
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    match = _UUID_TAIL.search(name)
    if match is not None:
        return match.group(0)
    return name or path or "codex-session"


# ---------------------------------------------------------------------------------------------
# One line.


@dataclass(slots=True)
class _Msg:
    """What a handler decides about a line; the driver adds identity, time and session."""

    role: str
    kind: str
    text: str
    parts: tuple[PartRecord, ...] = ()
    hidden: bool = False
    tokens_in: int | None = None
    tokens_out: int | None = None


Handler = Callable[[dict[str, Any], _State], _Msg]


def _one_line(number: int, raw: bytes, st: _State) -> list[Record]:
    try:
        obj = common.load_line(raw)
        return _records(number, raw, obj, st)
    except common.LineError as err:
        if err.reason == "empty":
            return []
        return [BadLine(number, err.reason, common.snippet(raw))]
    except Exception as exc:  # never let one line stop a file: count it and go on
        return [BadLine(number, f"parse-error: {type(exc).__name__}", _safe_snippet(raw))]


def _safe_snippet(raw: Any) -> str:
    return common.snippet(raw) if isinstance(raw, bytes) else common.scrub(repr(raw)[:160])


def _records(number: int, raw: bytes, obj: dict[str, Any], st: _State) -> list[Record]:
    line_type, msg, ts, source = _decide(obj, st)
    _note_session(st, msg, ts)
    record = MessageRecord(
        session_key=st.key,
        stable_id=common.digest(raw),
        role=msg.role,
        kind=msg.kind,
        text=msg.text,
        raw=raw,
        line=number,
        timestamp=ts,
        native_id=_str(source.get("id")) or _str(source.get("call_id")),
        model=st.model if msg.role == "assistant" else None,
        tokens_in=msg.tokens_in,
        tokens_out=msg.tokens_out,
        parts=msg.parts,
        hidden=msg.hidden,
        line_type=line_type,
    )
    info = st.session_info()
    return [record] if info is None else [info, record]


def _decide(obj: dict[str, Any], st: _State) -> tuple[str, _Msg, int | None, dict[str, Any]]:
    """(line type, what the line says, its time, the object holding its ids) for one line."""
    tag = obj.get("type")
    tag = tag if isinstance(tag, str) else None
    payload = obj.get("payload")
    ts = common.iso_to_ms(obj.get("timestamp"))
    if tag is None or tag not in _TOP or not isinstance(payload, dict):
        line_type, msg = _bare(obj, tag, st)
        return line_type, msg, (ts if ts is not None else st.header_ts), obj
    if ts is None:  # third-party files put the time inside the payload only
        ts = common.iso_to_ms(payload.get("timestamp"))
    if tag not in _REPLAYABLE:
        return tag, _TOP[tag](payload, st), ts, payload
    # Judged before the handler runs: a replayed line must not alter what the child knows.
    replay = _is_replay(st, ts)
    msg = _TOP[tag](payload, st)
    msg.hidden = msg.hidden or replay
    return f"{tag}/{payload.get('type')}", msg, ts, payload


def _is_replay(st: _State, ts: int | None) -> bool:
    """A sub-agent file replays parent history stamped before the child's own start."""
    return st.subagent and st.child_ts is not None and ts is not None and ts < st.child_ts


def _note_session(st: _State, msg: _Msg, ts: int | None) -> None:
    info = st.info
    if "started_at" not in info and ts is not None:
        st.set("started_at", ts)
    if msg.kind == KIND_PROMPT and not msg.hidden and "first_prompt" not in info:
        st.set("first_prompt", common.first_line(msg.text) or None)


def _bare(obj: dict[str, Any], tag: str | None, st: _State) -> tuple[str, _Msg]:
    """Lines without an envelope: legacy header, state markers, bare response items."""
    if tag is None:
        if obj.get("record_type") == "state":
            return "record_type/state", _meta("State marker")
        if "id" in obj and "timestamp" in obj:
            return "session_header", _legacy_header(obj, st)
        return "(no type)", _unknown("(no type)")
    if tag in _RESPONSE and "payload" not in obj:
        return tag, _RESPONSE[tag](obj, st)
    return tag, _unknown(tag)


# ---------------------------------------------------------------------------------------------
# Top-level line types.


def _legacy_header(obj: dict[str, Any], st: _State) -> _Msg:
    ts = common.iso_to_ms(obj.get("timestamp"))
    st.header_ts = ts if ts is not None else st.header_ts
    if not st.meta_seen:
        st.meta_seen = True
        st.key = _str(obj.get("id")) or st.key
        st.set("started_at", ts)
        st.set("project", _str(obj.get("cwd")))
        st.set("git_branch", _str(_dict(obj.get("git")).get("branch")))
    return _meta("Session header")


def _session_meta(p: dict[str, Any], st: _State) -> _Msg:
    sid = _str(p.get("id"))
    if st.meta_seen:
        # A sub-agent file carries the parent's session_meta after its own: note it, keep ours.
        if sid is not None and sid != st.key:
            st.subagent = True
        return _meta(f"Session meta {sid or ''}".strip())
    st.meta_seen = True
    st.key = sid or st.key
    started = common.iso_to_ms(p.get("timestamp"))
    st.child_ts = started
    st.set("started_at", started)
    st.set("project", _str(p.get("cwd")))
    st.set("git_branch", _str(_dict(p.get("git")).get("branch")))
    spawn = _dict(_dict(_dict(p.get("source")).get("subagent")).get("thread_spawn"))
    parent = _str(spawn.get("parent_thread_id"))
    if parent is not None:
        st.subagent = True
        st.set("parent_key", parent)
    st.set("resumed_from_key", _str(p.get("forked_from_id")))
    return _meta("Session started")


def _turn_context(p: dict[str, Any], st: _State) -> _Msg:
    model = _str(p.get("model"))
    if model is not None:
        st.model = model
        st.set("model", model)
    st.set("project", _str(p.get("cwd")))
    return _meta(f"Turn context ({model})" if model else "Turn context")


def _compacted(p: dict[str, Any], st: _State) -> _Msg:
    # replacement_history is the whole model-visible history again: never inline it.
    text = common.scrub(_str(p.get("message")) or "Context compacted")
    return _Msg("system", KIND_SUMMARY, text, (PartRecord(PART_TEXT, text),))


def _response_item(p: dict[str, Any], st: _State) -> _Msg:
    ptype = p.get("type")
    handler = _RESPONSE.get(ptype) if isinstance(ptype, str) else None
    if handler is None:
        return _unknown(f"response_item/{ptype}")
    return handler(p, st)


def _event_msg(p: dict[str, Any], st: _State) -> _Msg:
    ptype = p.get("type")
    handler = _EVENTS.get(ptype) if isinstance(ptype, str) else None
    if handler is None:
        return _other_event(p, st)
    return handler(p, st)


# ---------------------------------------------------------------------------------------------
# response_item payloads (also the bare items of legacy files).


def _message(p: dict[str, Any], st: _State) -> _Msg:
    role = _str(p.get("role")) or "user"
    text, parts = _content(p.get("content"))
    if role in ("developer", "system"):
        st.take_echo("system", text)
        return _Msg("system", KIND_SYSTEM, text, parts, hidden=True)
    if role == "assistant":
        return _Msg("assistant", KIND_TEXT, text, parts, hidden=st.take_echo("assistant", text))
    if text.startswith(_SHELL_COMMAND):
        # A `!command` the human ran: their action, but not a prompt to title the session with.
        return _Msg("user", KIND_SYSTEM, text, parts, hidden=st.take_echo("user", text))
    for prefix, boilerplate in _INJECTED:
        if text.startswith(prefix):
            st.take_echo("user", text)
            return _Msg("system", KIND_SYSTEM, text, parts, hidden=boilerplate)
    return _Msg("user", KIND_PROMPT, text, parts, hidden=st.take_echo("user", text))


def _reasoning(p: dict[str, Any], st: _State) -> _Msg:
    texts = _block_texts(p.get("summary")) or _block_texts(p.get("content"))
    # encrypted_content is opaque ciphertext: it is kept in raw, never shown.
    text = "\n\n".join(texts) or "[encrypted reasoning]"
    hidden = st.take_echo("assistant", text)
    return _Msg("assistant", KIND_THINKING, text, (PartRecord(PART_THINKING, text),), hidden)


def _function_call(p: dict[str, Any], st: _State) -> _Msg:
    name = _str(p.get("name")) or "function"
    return _tool_call(name, p, _json_text(p.get("arguments")))


def _custom_tool_call(p: dict[str, Any], st: _State) -> _Msg:
    name = _str(p.get("name")) or "custom_tool"
    return _tool_call(name, p, common.as_text(p.get("input")))


def _local_shell_call(p: dict[str, Any], st: _State) -> _Msg:
    action = p.get("action")
    return _tool_call("shell", p, "" if action is None else _json_text(action))


def _web_search_call(p: dict[str, Any], st: _State) -> _Msg:
    action = _dict(p.get("action"))
    query = _str(action.get("query"))
    text = query if query is not None else ("" if not action else common.dumps(action))
    return _tool_call("web_search", p, common.scrub(text))


def _tool_search_call(p: dict[str, Any], st: _State) -> _Msg:
    args = p.get("arguments", p.get("query"))
    return _tool_call(_str(p.get("name")) or "tool_search", p, _json_text(args))


def _tool_call(name: str, p: dict[str, Any], text: str) -> _Msg:
    call_id = _str(p.get("call_id")) or _str(p.get("id"))
    part = PartRecord(PART_TOOL_CALL, text, tool_name=common.scrub(name), tool_id=call_id)
    return _Msg("assistant", KIND_TOOL_CALL, text, (part,))


def _tool_output(p: dict[str, Any], st: _State) -> _Msg:
    text, is_error = _output_text(p.get("output"))
    call_id = _str(p.get("call_id")) or _str(p.get("id"))
    part = PartRecord(PART_TOOL_RESULT, text, tool_id=call_id, is_error=is_error)
    return _Msg("tool", KIND_TOOL_RESULT, text, (part,))


def _hidden_meta(label: str) -> Handler:
    def handle(p: dict[str, Any], st: _State) -> _Msg:
        return _meta(label)

    return handle


# ---------------------------------------------------------------------------------------------
# event_msg payloads.


def _mirror(role: str, kind: str, part_type: str, field_name: str) -> Handler:
    """An event that mirrors a response item: hidden, unless the file has no response items."""

    def handle(p: dict[str, Any], st: _State) -> _Msg:
        text = common.as_text(p.get(field_name))
        parts = (PartRecord(part_type, text),)
        if st.has_resp:
            return _Msg(role, KIND_EVENT, text, parts, hidden=True)
        st.push_echo(role, text)
        return _Msg(role, kind, text, parts)

    return handle


def _raw_reasoning(p: dict[str, Any], st: _State) -> _Msg:
    # The full reasoning stream mirrors `agent_reasoning`; showing both would double it.
    text = common.as_text(p.get("text"))
    return _Msg("assistant", KIND_EVENT, text, (PartRecord(PART_THINKING, text),), hidden=True)


def _token_count(p: dict[str, Any], st: _State) -> _Msg:
    usage = _dict(_dict(p.get("info")).get("last_token_usage"))
    tin, tout = _int(usage.get("input_tokens")), _int(usage.get("output_tokens"))
    text = "Token count" if tin is None and tout is None else f"Tokens: {tin} in, {tout} out"
    return _Msg("meta", KIND_META, text, hidden=True, tokens_in=tin, tokens_out=tout)


def _thread_name(p: dict[str, Any], st: _State) -> _Msg:
    name = _str(p.get("thread_name")) or _str(p.get("name"))
    if name:
        st.set("title", common.scrub(name))
    return _system(f"Thread renamed: {name}" if name else "Thread renamed", hidden=True)


def _turn_aborted(p: dict[str, Any], st: _State) -> _Msg:
    reason = _str(p.get("reason"))
    return _system(f"Turn aborted ({reason})" if reason else "Turn aborted")


def _rolled_back(p: dict[str, Any], st: _State) -> _Msg:
    n = _int(p.get("num_turns"))
    if n is None:
        return _system("Rolled back")
    return _system(f"Rolled back {n} turn" + ("" if n == 1 else "s"))


def _labelled(label: str) -> Handler:
    """A visible notice: `label`, plus the event's own message when it has one."""

    def handle(p: dict[str, Any], st: _State) -> _Msg:
        message = _str(p.get("message"))
        return _system(f"{label}: {message}" if message else label)

    return handle


def _other_event(p: dict[str, Any], st: _State) -> _Msg:
    # Bookkeeping (task_started, exec_command_end, collab_*...): mirrors or runtime chatter.
    ptype = p.get("type")
    label = ptype.replace("_", " ").capitalize() if isinstance(ptype, str) else "Event"
    message = _str(p.get("message"))
    return _system(f"{label}: {message}" if message else label, hidden=True)


# ---------------------------------------------------------------------------------------------
# Small tolerant helpers.


def _meta(text: str) -> _Msg:
    return _Msg("meta", KIND_META, text, hidden=True)


def _system(text: str, hidden: bool = False) -> _Msg:
    text = common.scrub(text)
    return _Msg("system", KIND_SYSTEM, text, (PartRecord(PART_TEXT, text),), hidden=hidden)


def _unknown(tag: str) -> _Msg:
    return _Msg("meta", KIND_UNKNOWN, common.scrub(f"[unknown record type {tag!r}]"))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _content(content: Any) -> tuple[str, tuple[PartRecord, ...]]:
    """Message content (string or list of blocks) as display text and parts."""
    if not isinstance(content, list):
        text = common.as_text(content)
        return text, ((PartRecord(PART_TEXT, text),) if text else ())
    parts: list[PartRecord] = []
    for block in content:
        parts.append(_block_part(block))
    text = "\n".join(p.text for p in parts if p.text)
    return text, tuple(parts)


def _block_part(block: Any) -> PartRecord:
    if isinstance(block, dict):
        text = block.get("text")
        if isinstance(text, str):
            return PartRecord(PART_TEXT, common.scrub(text))
        if block.get("type") in ("input_image", "image"):
            # image_url is often a multi-megabyte data URL: never copy it into text.
            return PartRecord(PART_IMAGE, "[image]")
        return PartRecord(PART_OTHER, common.scrub(common.dumps(block)))
    return PartRecord(PART_OTHER, common.as_text(block))


def _block_texts(blocks: Any) -> list[str]:
    if not isinstance(blocks, list):
        return []
    return [
        common.scrub(b["text"])
        for b in blocks
        if isinstance(b, dict) and isinstance(b.get("text"), str) and b["text"]
    ]


def _json_text(value: Any) -> str:
    """Tool arguments (a JSON string, usually) as compact JSON; undecodable text as is."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return common.scrub(common.dumps(value))
    head = value.lstrip()[:1]
    if head in ("{", "["):
        try:
            return common.scrub(common.dumps(orjson.loads(value)))
        except orjson.JSONDecodeError:
            pass
    return common.scrub(value)


def _output_text(output: Any) -> tuple[str, bool]:
    """A tool output as (text, is_error), unwrapping the old JSON-in-a-string envelope."""
    if isinstance(output, str):
        return _string_output(output)
    if isinstance(output, dict) and "content" in output:
        return common.as_text(output.get("content")), output.get("success") is False
    if isinstance(output, dict):
        return common.scrub(common.dumps(output)), False
    return common.as_text(output), False


def _string_output(output: str) -> tuple[str, bool]:
    stripped = output.strip()
    if stripped.startswith("{") and stripped.endswith("}") and '"output"' in stripped:
        try:
            decoded = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            decoded = None
        # Codex ≤ ~0.5x: `{"output": "...", "metadata": {"exit_code": 1, ...}}` as a string.
        if (
            isinstance(decoded, dict)
            and "output" in decoded
            and set(decoded) <= {"output", "metadata"}
        ):
            code = _int(_dict(decoded.get("metadata")).get("exit_code"))
            return common.as_text(decoded.get("output")), code not in (None, 0)
    match = _EXIT_TEXT.match(output[:400])
    is_error = match is not None and int(match.group(1)) != 0
    return common.scrub(output), is_error or output.startswith(_FAILED_PREFIXES)


# ---------------------------------------------------------------------------------------------
# Dispatch tables (after the handlers they name).

_RESPONSE: dict[str, Handler] = {
    "message": _message,
    "reasoning": _reasoning,
    "function_call": _function_call,
    "custom_tool_call": _custom_tool_call,
    "local_shell_call": _local_shell_call,
    "web_search_call": _web_search_call,
    "tool_search_call": _tool_search_call,
    "function_call_output": _tool_output,
    "custom_tool_call_output": _tool_output,
    "tool_search_output": _tool_output,
    "ghost_snapshot": _hidden_meta("Ghost snapshot"),
    "compaction": _hidden_meta("Compaction"),
    "context_compaction": _hidden_meta("Compaction"),
}

_EVENTS: dict[str, Handler] = {
    "user_message": _mirror("user", KIND_PROMPT, PART_TEXT, "message"),
    "agent_message": _mirror("assistant", KIND_TEXT, PART_TEXT, "message"),
    "agent_reasoning": _mirror("assistant", KIND_THINKING, PART_THINKING, "text"),
    "agent_reasoning_raw_content": _raw_reasoning,
    "token_count": _token_count,
    "thread_name_updated": _thread_name,
    "turn_aborted": _turn_aborted,
    "thread_rolled_back": _rolled_back,
    "context_compacted": _labelled("Context compacted"),
    "error": _labelled("Error"),
    "stream_error": _labelled("Stream error"),
    "warning": _labelled("Warning"),
}

_TOP: dict[str, Handler] = {
    "session_meta": _session_meta,
    "turn_context": _turn_context,
    "response_item": _response_item,
    "event_msg": _event_msg,
    "compacted": _compacted,
}
