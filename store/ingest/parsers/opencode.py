"""opencode parser: a session, or a message with its parts, to records (both storage generations).

Pure: the caller reads the rows (`store.ingest.opencode_db`, from `opencode.db` or the legacy JSON
tree `storage/{session,message,part}`) and hands over decoded objects in opencode's own "with parts"
shape: the message info (`id`, `sessionID`, `role`, `time`, ...) and its parts (`id`, `type`, ...),
ordered by part id (FORMATS.md §3.3).

A message becomes the rows of `store.ingest.parsers.blocks`, keyed by the opencode message id, so
the same message from the database and from the JSON tree is one row set. Its raw record is
`{"info": ..., "parts": [...]}` as compact JSON, which is what `opencode export` writes for a
message, so an exported session can be read back. A session becomes a `SessionInfo` (sub-agent
sessions name their parent) and a hidden `meta` row that keeps the session object itself.
"""

from __future__ import annotations

from typing import Any

import orjson

from store.ingest.parsers import common
from store.ingest.parsers.blocks import Block, Origin, records, tool_result_block
from store.records import (
    KIND_META,
    KIND_PROMPT,
    KIND_SUMMARY,
    KIND_SYSTEM,
    KIND_TEXT,
    KIND_THINKING,
    KIND_TOOL_CALL,
    PART_IMAGE,
    PART_OTHER,
    PART_TEXT,
    PART_THINKING,
    PART_TOOL_CALL,
    MessageRecord,
    PartRecord,
    Record,
    SessionInfo,
)

AGENT = "opencode"
SESSION_ROW = "session"
"""`stable_id` of the row that keeps a session's own object."""

_SKIPPED_PARTS = frozenset({"step-start", "step-finish", "snapshot"})
# Bookkeeping parts: their content is in the message info (tokens, cost) or in git.
_CLEARED = "[Old tool result content cleared]"
_OTHER_LIMIT = 2000


def session_records(obj: dict[str, Any], line: int, *, replace: bool = True) -> list[Record]:
    """A session object (a `session` row as a dict, or a `session/<p>/<id>.json` file)."""
    key = common.scrub(str(obj["id"]))
    parent = _str(obj.get("parent_id")) or _str(obj.get("parentID"))
    time = _dict(obj.get("time"))
    started = _ms(obj.get("time_created")) or _ms(time.get("created"))
    model = _dict(_json(obj.get("model")))
    title = _str(obj.get("title"))
    info = SessionInfo(
        session_key=key,
        parent_key=parent,
        project=_str(obj.get("directory")),
        title=common.first_line(common.scrub(title)) or None if title else None,
        model=_str(model.get("id")) or _str(model.get("modelID")),
        started_at=started,
    )
    row = MessageRecord(
        session_key=key,
        stable_id=SESSION_ROW,
        role="meta",
        kind=KIND_META,
        text=f"Session {title or key}",
        raw=orjson.dumps(obj),
        line=line,
        timestamp=started,
        native_id=key,
        hidden=True,
        line_type="session",
        replace=replace,
    )
    return [info, row]


def message_records(
    info: dict[str, Any], parts: list[dict[str, Any]], line: int, *, replace: bool = True
) -> list[Record]:
    """A message and its parts as a `SessionInfo` and the message's rows."""
    key = common.scrub(str(info["sessionID"]))
    role = info.get("role")
    time = _dict(info.get("time"))
    ts = _ms(time.get("created"))
    model = _str(info.get("modelID")) or _str(_dict(info.get("model")).get("modelID"))
    tokens = _dict(info.get("tokens"))
    origin = Origin(
        session_key=key,
        native_id=common.scrub(str(info["id"])),
        raw=orjson.dumps({"info": info, "parts": parts}),
        line=line,
        line_type=f"message/{role}" if isinstance(role, str) else "message",
        timestamp=ts,
        model=model,
        tokens_in=common.sql_int(tokens.get("input")),
        tokens_out=common.sql_int(tokens.get("output")),
        replace=replace,
    )
    blocks = [_user_block(parts)] if role == "user" else _assistant_blocks(info, parts)
    first = blocks[0] if blocks else None
    prompt = first.text if first is not None and first.kind == KIND_PROMPT else ""
    cwd = _str(_dict(info.get("path")).get("cwd"))
    session = SessionInfo(
        session_key=key,
        project=cwd,
        model=model,
        started_at=ts,
        first_prompt=common.first_line(prompt) or None,
    )
    return [session, *records(origin, blocks)]


def _user_block(parts: list[dict[str, Any]]) -> Block:
    """A user message is one row: the typed text, plus what opencode attached to it."""
    out: list[PartRecord] = []
    typed = False
    compaction = False
    for part in parts:
        ptype = part.get("type")
        if ptype == "text" and isinstance(part.get("text"), str):
            if part.get("ignored") is True:
                continue
            typed = typed or part.get("synthetic") is not True
            out.append(PartRecord(PART_TEXT, common.scrub(part["text"])))
        elif ptype == "compaction":
            compaction = True
            out.append(PartRecord(PART_OTHER, "Context compaction"))
        elif ptype not in _SKIPPED_PARTS:
            out.append(_other_part(part))
    text = "\n\n".join(p.text for p in out if p.text)
    # Synthetic text (file contents opencode attached, tool reminders) is not a human prompt.
    kind = KIND_PROMPT if typed and not compaction else KIND_SYSTEM
    return Block("user", kind, text, tuple(out))


def _assistant_blocks(info: dict[str, Any], parts: list[dict[str, Any]]) -> list[Block]:
    summary = info.get("summary") is True
    blocks: list[Block] = []
    for part in parts:
        ptype = part.get("type")
        if ptype == "text" and isinstance(part.get("text"), str):
            text = common.scrub(part["text"])
            if text.strip():
                blocks.append(
                    Block(
                        "assistant",
                        KIND_SUMMARY if summary else KIND_TEXT,
                        text,
                        (PartRecord(PART_TEXT, text),),
                    )
                )
        elif ptype == "reasoning" and isinstance(part.get("text"), str):
            text = common.scrub(part["text"])
            if text.strip():
                blocks.append(
                    Block("assistant", KIND_THINKING, text, (PartRecord(PART_THINKING, text),))
                )
        elif ptype == "tool":
            blocks += _tool_blocks(part)
        elif ptype not in _SKIPPED_PARTS:
            other = _other_part(part)
            blocks.append(Block("assistant", KIND_SYSTEM, other.text, (other,)))
    error = _dict(info.get("error"))
    if error:
        name = _str(error.get("name")) or "Error"
        message = _str(_dict(error.get("data")).get("message"))
        text = common.scrub(f"{name}: {message}" if message else name)
        blocks.append(
            Block("system", KIND_SYSTEM, text, (PartRecord(PART_TEXT, text, is_error=True),))
        )
    if not blocks:
        blocks.append(Block("meta", KIND_META, "Assistant step", hidden=True))
    return blocks


def _tool_blocks(part: dict[str, Any]) -> list[Block]:
    name = common.scrub(_str(part.get("tool")) or "tool")
    call_id = _str(part.get("callID"))
    state = _dict(part.get("state"))
    args = state.get("input")
    text = common.scrub(common.dumps(args)) if args is not None else ""
    out = [
        Block(
            "assistant",
            KIND_TOOL_CALL,
            text,
            (PartRecord(PART_TOOL_CALL, text, tool_name=name, tool_id=call_id),),
        )
    ]
    status = state.get("status")
    if status == "completed":
        compacted = _dict(state.get("time")).get("compacted") is not None
        result = _CLEARED if compacted else common.as_text(state.get("output"))
        failed = False
    elif status == "error":
        result, failed = common.as_text(state.get("error")) or "[error]", True
    else:
        return out  # pending / running: no result yet
    out.append(tool_result_block(result, name, call_id, failed))
    return out


def _other_part(part: dict[str, Any]) -> PartRecord:
    """Files, patches, sub-tasks, retries...: one readable line; data URLs are never copied."""
    ptype = part.get("type")
    if ptype == "file":
        mime = _str(part.get("mime")) or "file"
        label = _str(part.get("filename")) or mime
        kind = PART_IMAGE if mime.startswith("image/") else PART_OTHER
        return PartRecord(kind, common.scrub(f"[{label}]"))
    if ptype == "patch":
        files = [f for f in part.get("files") or [] if isinstance(f, str)]
        return PartRecord(PART_OTHER, common.scrub("Patch: " + ", ".join(files)))
    if ptype == "subtask":
        agent = _str(part.get("agent")) or "agent"
        what = _str(part.get("description")) or _str(part.get("prompt")) or ""
        return PartRecord(PART_OTHER, common.scrub(f"Sub-task ({agent}): {what}"))
    if ptype == "agent":
        return PartRecord(PART_OTHER, common.scrub(f"Agent: {_str(part.get('name')) or '?'}"))
    if ptype == "retry":
        return PartRecord(
            PART_OTHER,
            common.scrub(f"Retry {part.get('attempt')}: {common.as_text(part.get('error'))}"),
        )
    text = common.scrub(common.dumps(part))
    return PartRecord(PART_OTHER, text[:_OTHER_LIMIT])


def _json(value: Any) -> Any:
    """A column that holds JSON text in the database and an object in the JSON tree."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    return value


def _ms(value: Any) -> int | None:
    return common.iso_to_ms(value) if isinstance(value, int | float | str) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
