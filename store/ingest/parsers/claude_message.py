"""What one Claude Code transcript line becomes: its `MessageRecord` (kind, text, parts, identity).

Pure helpers of `store.ingest.parsers.claude`, which keys lines to sessions and learns session
facts; here a user line's content blocks, an assistant line's text/thinking/tool-use blocks and
token usage, and the system, queue and bookkeeping lines become one record each (FORMATS.md §1).
Images and documents become placeholders; terminal colour codes are stripped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from store.ingest.parsers.common import as_text, digest, dumps, iso_to_ms, sql_int
from store.records import (
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
    MessageRecord,
    PartRecord,
)

TITLE_FIELDS = {"summary": "summary", "ai-title": "aiTitle", "custom-title": "customTitle"}
"""Session metadata line type -> the field whose value becomes the session title (last one wins)."""
META_TYPES = frozenset(
    {
        "file-history-snapshot",
        "queue-operation",
        "progress",
        "attachment",
        "last-prompt",
        "permission-mode",
        "pr-link",
        "mode",
        "agent-color",
        "agent-setting",
        "agent-name",
        "tag",
        "ai-title",
        "custom-title",
    }
)
"""Harness bookkeeping line types: stored and exportable, hidden by default."""
# Envelope keys skipped when looking for the one interesting value of a metadata line.
_ENVELOPE_KEYS = frozenset(
    {
        "type",
        "uuid",
        "parentUuid",
        "logicalParentUuid",
        "sessionId",
        "timestamp",
        "cwd",
        "gitBranch",
        "version",
        "userType",
        "entrypoint",
        "slug",
        "isSidechain",
        "agentId",
        "leafUuid",
        "messageId",
        "requestId",
        "isMeta",
    }
)

# User text that a human did not type: slash-command expansions, hook and harness injections,
# interruption markers, teammate/async-agent reports (FORMATS.md §1.4, CCL dev-docs/messages.md).
_INJECTED_PREFIXES = (
    "<command-",
    "<local-command",
    "<system-reminder>",
    "Caveat:",
    "[Request interrupted",
    "<bash-",
    "<teammate-message",
    "<task-notification",
    "<ide_",
    "This session is being continued",
)
# Older Claude Code versions wrote the compaction summary without `isCompactSummary`.
_COMPACT_PREFIX = "This session is being continued"
_HIDDEN_SYSTEM_SUBTYPES = frozenset({"stop_hook_summary", "turn_duration"})
# Terminal colour codes in hook output and Bash results: noise for display and search.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")


def build_message(key: str, line_no: int, raw: bytes, obj: dict[str, Any]) -> MessageRecord:
    """The record of one decoded line (its `type` is a string), keyed to session `key`."""
    kind = obj["type"]
    uuid = obj.get("uuid")
    base: dict[str, Any] = {
        "session_key": key,
        "raw": raw,
        "line": line_no,
        "timestamp": iso_to_ms(obj.get("timestamp")),
        "native_id": uuid if isinstance(uuid, str) else None,
        "line_type": kind,
    }
    if kind == "user":
        return _user(base, obj)
    if kind == "assistant":
        return _assistant(base, obj)
    # Other lines have no content-based identity: exact duplicates collapse, nothing else.
    base["stable_id"] = digest(raw)
    if kind == "system":
        return _system(base, obj)
    if kind == "summary":
        return MessageRecord(
            role="meta", kind=KIND_SUMMARY, text=as_text(obj.get("summary")), **base
        )
    if kind == "queue-operation":
        return _queue_operation(base, obj)
    if kind in META_TYPES:
        return MessageRecord(
            role="meta", kind=KIND_META, text=_meta_text(obj, kind), hidden=True, **base
        )
    return MessageRecord(
        role="meta", kind=KIND_UNKNOWN, text=f"[unknown record type {kind!r}]", **base
    )


def _content_id(obj: dict[str, Any], message: dict[str, Any]) -> str:
    """Identity of a user/assistant line: same for replays and version-stutter duplicates (same
    timestamp and content, any uuid), distinct for the streamed blocks of one reply."""
    stamp = obj.get("timestamp")
    msg_id = message.get("id")
    return digest(
        obj["type"],
        stamp if isinstance(stamp, str) else dumps(stamp),
        msg_id if isinstance(msg_id, str) else "",
        dumps(message.get("content")),
    )


def _message_of(obj: dict[str, Any]) -> dict[str, Any]:
    message = obj.get("message")
    return message if isinstance(message, dict) else {}


def _user(base: dict[str, Any], obj: dict[str, Any]) -> MessageRecord:
    message = _message_of(obj)
    base["stable_id"] = _content_id(obj, message)
    parts = _user_parts(message.get("content"))
    text = _join(p.text for p in parts)
    if any(p.type == PART_TOOL_RESULT for p in parts):
        return MessageRecord(role="tool", kind=KIND_TOOL_RESULT, text=text, parts=parts, **base)
    kind, hidden = _classify_user(obj, parts)
    return MessageRecord(role="user", kind=kind, text=text, parts=parts, hidden=hidden, **base)


def _classify_user(obj: dict[str, Any], parts: tuple[PartRecord, ...]) -> tuple[str, bool]:
    """(kind, hidden) of a user line that holds no tool result."""
    texts = [p.text for p in parts if p.type == PART_TEXT]
    if obj.get("isCompactSummary") is True or (
        texts and texts[0].lstrip().startswith(_COMPACT_PREFIX)
    ):
        return KIND_SUMMARY, False
    if obj.get("isMeta") is True:
        return KIND_SYSTEM, True
    if texts and all(is_injected(t) for t in texts):
        return KIND_SYSTEM, False
    return KIND_PROMPT, False


def is_injected(text: str) -> bool:
    """Whether user text was injected by the harness rather than typed by the human."""
    return text.lstrip().startswith(_INJECTED_PREFIXES)


def _user_parts(content: Any) -> tuple[PartRecord, ...]:
    if isinstance(content, str):
        return (PartRecord(PART_TEXT, _clean(content)),)
    if not isinstance(content, list):
        text = as_text(content)
        return (PartRecord(PART_TEXT, _clean(text)),) if text else ()
    return tuple(_user_part(block) for block in content)


def _user_part(block: Any) -> PartRecord:
    if not isinstance(block, dict):
        return PartRecord(PART_TEXT, _clean(as_text(block)))
    kind = block.get("type")
    if kind == "text":
        return PartRecord(PART_TEXT, _clean(as_text(block.get("text"))))
    if kind == "tool_result":
        tool_id = block.get("tool_use_id")
        return PartRecord(
            PART_TOOL_RESULT,
            _clean(as_text(_without_binary(block.get("content")))),
            tool_id=tool_id if isinstance(tool_id, str) else None,
            is_error=bool(block.get("is_error")),
        )
    return _binary_or_other(block)


def _binary_or_other(block: dict[str, Any]) -> PartRecord:
    """Images and documents become placeholders (never base64 in text); the rest is JSON."""
    kind = block.get("type")
    if kind == "image":
        return PartRecord(PART_IMAGE, "[image]")
    if _is_binary(block):
        return PartRecord(PART_OTHER, f"[{kind}]")
    return PartRecord(PART_OTHER, dumps(block))


def _is_binary(block: dict[str, Any]) -> bool:
    source = block.get("source")
    return isinstance(source, dict) and "data" in source


def _without_binary(content: Any) -> Any:
    """Tool-result content with base64 blocks replaced by `[type]` placeholders."""
    if not isinstance(content, list):
        return content
    return [
        {"text": f"[{item.get('type')}]"} if isinstance(item, dict) and _is_binary(item) else item
        for item in content
    ]


def _assistant(base: dict[str, Any], obj: dict[str, Any]) -> MessageRecord:
    message = _message_of(obj)
    base["stable_id"] = _content_id(obj, message)
    content = message.get("content")
    if isinstance(content, list):
        blocks = content
    else:
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else []
    shown = [_assistant_part(block) for block in blocks if block is not None]
    parts = tuple(part for part, _ in shown)
    if any(p.type == PART_TOOL_CALL for p in parts):
        kind = KIND_TOOL_CALL
    elif parts and all(p.type == PART_THINKING for p in parts):
        kind = KIND_THINKING
    else:
        kind = KIND_TEXT
    model = message.get("model")
    msg_id = message.get("id")
    tokens_in, tokens_out = _tokens(message.get("usage"))
    return MessageRecord(
        role="assistant",
        kind=kind,
        text=_join(text for _, text in shown),
        parts=parts,
        group_id=msg_id if isinstance(msg_id, str) and msg_id else None,
        model=model if isinstance(model, str) and model else None,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        **base,
    )


def _assistant_part(block: Any) -> tuple[PartRecord, str]:
    """One content block as a part, plus its display text for the record's `text`."""
    if not isinstance(block, dict):
        part = PartRecord(PART_TEXT, _clean(as_text(block)))
        return part, part.text
    kind = block.get("type")
    if kind == "text":
        part = PartRecord(PART_TEXT, _clean(as_text(block.get("text"))))
    elif kind == "thinking":
        part = PartRecord(PART_THINKING, as_text(block.get("thinking")))
    elif kind == "redacted_thinking":
        part = PartRecord(PART_THINKING, "[redacted thinking]")
    elif kind == "tool_use":
        name, tool_id = block.get("name"), block.get("id")
        name = name if isinstance(name, str) else "?"
        part = PartRecord(
            PART_TOOL_CALL,
            dumps(block.get("input")),
            tool_name=name,
            tool_id=tool_id if isinstance(tool_id, str) else None,
        )
        return part, f"{name}: {part.text}"
    else:
        part = _binary_or_other(block)
    return part, part.text


def _tokens(usage: Any) -> tuple[int | None, int | None]:
    """(input incl. cache reads/writes, output) tokens of one line's `usage`, if it has one."""
    if not isinstance(usage, dict):
        return None, None
    tokens_in = (
        _int(usage.get("input_tokens"))
        + _int(usage.get("cache_creation_input_tokens"))
        + _int(usage.get("cache_read_input_tokens"))
    )
    return tokens_in, _int(usage.get("output_tokens"))


def _int(value: Any) -> int:
    return sql_int(value, floats=True) or 0


def _system(base: dict[str, Any], obj: dict[str, Any]) -> MessageRecord:
    subtype = obj.get("subtype")
    subtype = subtype if isinstance(subtype, str) and subtype else None
    if subtype:
        base["line_type"] = f"system/{subtype}"
    text = _clean(as_text(obj.get("content"))) or _system_text(subtype, obj)
    hidden = subtype in _HIDDEN_SYSTEM_SUBTYPES or obj.get("isMeta") is True
    return MessageRecord(role="system", kind=KIND_SYSTEM, text=text, hidden=hidden, **base)


def _system_text(subtype: str | None, obj: dict[str, Any]) -> str:
    """A short description of a system line that has no `content` of its own."""
    if subtype == "compact_boundary":
        return "Conversation compacted"
    if subtype == "stop_hook_summary":
        errors = obj.get("hookErrors")
        suffix = f", {len(errors)} error(s)" if isinstance(errors, list) and errors else ""
        return f"Stop hooks ran: {_int(obj.get('hookCount'))}{suffix}"
    if subtype == "turn_duration":
        return f"Turn took {_int(obj.get('durationMs')) / 1000:.1f} s"
    return f"[system {subtype}]" if subtype else "[system]"


def _queue_operation(base: dict[str, Any], obj: dict[str, Any]) -> MessageRecord:
    operation = obj.get("operation")
    content = as_text(obj.get("content"))
    # `remove` is the human steering the agent mid-turn: the queued text is handed to the model
    # and never comes back as a user line, so it is shown. `enqueue` text later reappears as the
    # dequeued prompt (or as a `remove`), so showing it too would duplicate it.
    if operation == "remove" and content:
        return MessageRecord(role="user", kind=KIND_SYSTEM, text=content, **base)
    text = f"queue-operation {operation}: {content}" if content else f"queue-operation {operation}"
    return MessageRecord(role="meta", kind=KIND_META, text=text, hidden=True, **base)


def _meta_text(obj: dict[str, Any], kind: str) -> str:
    """A one-line description of a bookkeeping line, for search and export."""
    if kind == "file-history-snapshot":
        snapshot = obj.get("snapshot")
        files = snapshot.get("trackedFileBackups") if isinstance(snapshot, dict) else None
        return f"file-history-snapshot: {len(files) if isinstance(files, dict) else 0} file(s)"
    if kind == "progress":
        data = obj.get("data")
        data = data if isinstance(data, dict) else {}
        label = as_text(data.get("hookName") or data.get("type"))
        return f"progress: {label}" if label else "progress"
    if kind == "attachment":
        return _attachment_text(obj.get("attachment"))
    field = TITLE_FIELDS.get(kind)
    if field:
        return as_text(obj.get(field))
    for name, value in obj.items():
        if name not in _ENVELOPE_KEYS and isinstance(value, str | int | float) and value != "":
            return f"{kind}: {value}"
    return f"[{kind}]"


def _attachment_text(attachment: Any) -> str:
    if not isinstance(attachment, dict):
        return "attachment"
    kind = as_text(attachment.get("type"))
    label = f"attachment {kind}" if kind else "attachment"
    for name in ("content", "stdout", "stderr", "blockingError", "prompt"):
        detail = _clean(as_text(attachment.get(name)))
        if detail:
            return f"{label}: {detail}"
    return label


def _clean(text: str) -> str:
    return _ANSI.sub("", text) if "\x1b" in text else text


def _join(texts: Iterable[str]) -> str:
    return "\n\n".join(t for t in texts if t)
