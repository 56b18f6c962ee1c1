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

This module decodes lines, dispatches them by type and handles the top-level session lines; the
state it carries is `codex_state`, payload handlers are `codex_items` (response items) and
`codex_events` (event mirrors and notices), all under `store.ingest.parsers`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from store.ingest.parsers import common
from store.ingest.parsers.codex_events import event_msg
from store.ingest.parsers.codex_items import (
    RESPONSE,
    Handler,
    Msg,
    meta_msg,
    response_item,
    unknown_msg,
)
from store.ingest.parsers.codex_state import State, as_dict, opt_str
from store.records import (
    KIND_PROMPT,
    KIND_SUMMARY,
    PART_TEXT,
    BadLine,
    MessageRecord,
    ParseState,
    PartRecord,
    Record,
)

AGENT = "codex"

_ENVELOPE_TYPES = frozenset(
    {"session_meta", "response_item", "event_msg", "turn_context", "compacted"}
)
# Only these carry conversation lines that a sub-agent file may replay from its parent.
_REPLAYABLE = frozenset({"response_item", "event_msg"})


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
    st = State.load(state.data, state.path)
    for number, raw in lines:
        records = _one_line(number, raw, st)
        # Saved before yielding, so a consumer that stops early never leaves stale state.
        st.save(state.data)
        yield from records


# ---------------------------------------------------------------------------------------------
# One line.


def _one_line(number: int, raw: bytes, st: State) -> list[Record]:
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


def _records(number: int, raw: bytes, obj: dict[str, Any], st: State) -> list[Record]:
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
        native_id=opt_str(source.get("id")) or opt_str(source.get("call_id")),
        model=st.model if msg.role == "assistant" else None,
        tokens_in=msg.tokens_in,
        tokens_out=msg.tokens_out,
        parts=msg.parts,
        hidden=msg.hidden,
        line_type=line_type,
    )
    info = st.session_info()
    return [record] if info is None else [info, record]


def _decide(obj: dict[str, Any], st: State) -> tuple[str, Msg, int | None, dict[str, Any]]:
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


def _is_replay(st: State, ts: int | None) -> bool:
    """A sub-agent file replays parent history stamped before the child's own start."""
    return st.subagent and st.child_ts is not None and ts is not None and ts < st.child_ts


def _note_session(st: State, msg: Msg, ts: int | None) -> None:
    info = st.info
    if "started_at" not in info and ts is not None:
        st.set("started_at", ts)
    if msg.kind == KIND_PROMPT and not msg.hidden and "first_prompt" not in info:
        st.set("first_prompt", common.first_line(msg.text) or None)


def _bare(obj: dict[str, Any], tag: str | None, st: State) -> tuple[str, Msg]:
    """Lines without an envelope: legacy header, state markers, bare response items."""
    if tag is None:
        if obj.get("record_type") == "state":
            return "record_type/state", meta_msg("State marker")
        if "id" in obj and "timestamp" in obj:
            return "session_header", _legacy_header(obj, st)
        return "(no type)", unknown_msg("(no type)")
    if tag in RESPONSE and "payload" not in obj:
        return tag, RESPONSE[tag](obj, st)
    return tag, unknown_msg(tag)


# ---------------------------------------------------------------------------------------------
# Top-level line types.


def _legacy_header(obj: dict[str, Any], st: State) -> Msg:
    ts = common.iso_to_ms(obj.get("timestamp"))
    st.header_ts = ts if ts is not None else st.header_ts
    if not st.meta_seen:
        st.meta_seen = True
        st.key = opt_str(obj.get("id")) or st.key
        st.set("started_at", ts)
        st.set("project", opt_str(obj.get("cwd")))
        st.set("git_branch", opt_str(as_dict(obj.get("git")).get("branch")))
    return meta_msg("Session header")


def _session_meta(p: dict[str, Any], st: State) -> Msg:
    sid = opt_str(p.get("id"))
    if st.meta_seen:
        # A sub-agent file carries the parent's session_meta after its own: note it, keep ours.
        if sid is not None and sid != st.key:
            st.subagent = True
        return meta_msg(f"Session meta {sid or ''}".strip())
    st.meta_seen = True
    st.key = sid or st.key
    started = common.iso_to_ms(p.get("timestamp"))
    st.child_ts = started
    st.set("started_at", started)
    st.set("project", opt_str(p.get("cwd")))
    st.set("git_branch", opt_str(as_dict(p.get("git")).get("branch")))
    spawn = as_dict(as_dict(as_dict(p.get("source")).get("subagent")).get("thread_spawn"))
    parent = opt_str(spawn.get("parent_thread_id"))
    if parent is not None:
        st.subagent = True
        st.set("parent_key", parent)
    st.set("resumed_from_key", opt_str(p.get("forked_from_id")))
    return meta_msg("Session started")


def _turn_context(p: dict[str, Any], st: State) -> Msg:
    model = opt_str(p.get("model"))
    if model is not None:
        st.model = model
        st.set("model", model)
    st.set("project", opt_str(p.get("cwd")))
    return meta_msg(f"Turn context ({model})" if model else "Turn context")


def _compacted(p: dict[str, Any], st: State) -> Msg:
    # replacement_history is the whole model-visible history again: never inline it.
    text = common.scrub(opt_str(p.get("message")) or "Context compacted")
    return Msg("system", KIND_SUMMARY, text, (PartRecord(PART_TEXT, text),))


_TOP: dict[str, Handler] = {
    "session_meta": _session_meta,
    "turn_context": _turn_context,
    "response_item": response_item,
    "event_msg": event_msg,
    "compacted": _compacted,
}
