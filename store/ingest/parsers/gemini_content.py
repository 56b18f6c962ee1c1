"""What one Gemini CLI message shows: its content, thoughts and tool calls as rows (blocks).

Pure helpers of `store.ingest.parsers.gemini`. Content is Gemini's `PartListUnion` (a string, a Part
or a list of Parts: text, thought text, `functionCall`, `functionResponse`, inline data); a tool
call is `{id, name, args, result, status, resultDisplay, ...}` whose `result` is usually
`[{"functionResponse": {"response": {"output": ...}}}]` (FORMATS.md §4.2).
"""

from __future__ import annotations

from typing import Any

from store.ingest.parsers import common
from store.ingest.parsers.blocks import Block, tool_result_block
from store.records import (
    KIND_PROMPT,
    KIND_SYSTEM,
    KIND_TEXT,
    KIND_THINKING,
    KIND_TOOL_CALL,
    PART_IMAGE,
    PART_OTHER,
    PART_TEXT,
    PART_THINKING,
    PART_TOOL_CALL,
    PART_TOOL_RESULT,
    PartRecord,
)

INJECTED = ("<session_context>", "<hook_context>")
"""User text the CLI injects, not a prompt (GEM sessionUtils.ts)."""
COMMANDS = ("/", "?")
"""A slash command or a help request: the human's, but not a prompt to title a session with."""
_FAILED = frozenset({"error"})
_UNFINISHED = frozenset({"scheduled", "validating", "executing", "awaiting_approval"})


def user_block(obj: dict[str, Any]) -> Block:
    shown = obj.get("displayContent")
    parts = _content_parts(shown if shown else obj.get("content"))
    text = "\n".join(p.text for p in parts if p.text)
    head = text.lstrip()
    if head.startswith(INJECTED) or head.startswith(COMMANDS):
        return Block("user", KIND_SYSTEM, text, tuple(parts))
    return Block("user", KIND_PROMPT, text, tuple(parts))


def gemini_blocks(obj: dict[str, Any]) -> list[Block]:
    blocks: list[Block] = []
    thoughts = [_thought(t) for t in _list(obj.get("thoughts"))]
    thoughts = [t for t in thoughts if t]
    if thoughts:
        text = "\n\n".join(thoughts)
        blocks.append(Block("assistant", KIND_THINKING, text, (PartRecord(PART_THINKING, text),)))
    parts = _content_parts(obj.get("content"))
    if any(p.text for p in parts):
        text = "\n".join(p.text for p in parts if p.text)
        blocks.append(Block("assistant", KIND_TEXT, text, tuple(parts)))
    for call in _list(obj.get("toolCalls")):
        if isinstance(call, dict):
            blocks += _tool_blocks(call)
    return blocks


def _tool_blocks(call: dict[str, Any]) -> list[Block]:
    name = common.scrub(_str(call.get("name")) or "tool")
    call_id = _str(call.get("id"))
    args = call.get("args")
    text = common.scrub(common.dumps(args)) if args is not None else ""
    out = [
        Block(
            "assistant",
            KIND_TOOL_CALL,
            text,
            (PartRecord(PART_TOOL_CALL, text, tool_name=name, tool_id=call_id),),
        )
    ]
    status = _str(call.get("status"))
    result = _result_text(call.get("result"))
    if not result:
        result = common.as_text(call.get("resultDisplay"))
    if not result and (status is None or status in _UNFINISHED):
        return out  # no result yet (or never): the call alone
    if not result:
        result = f"[{status}]"
    failed = status in _FAILED
    out.append(tool_result_block(result, name, call_id, failed))
    return out


def _result_text(result: Any) -> str:
    """A tool result (`PartListUnion`, usually `[{functionResponse: {response: {output}}}]`)."""
    if result is None:
        return ""
    if isinstance(result, str):
        return common.scrub(result)
    items = result if isinstance(result, list) else [result]
    texts = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("functionResponse"), dict):
            texts.append(_response_text(item["functionResponse"].get("response")))
        else:
            texts.append(common.as_text(item))
    return "\n".join(t for t in texts if t)


def _response_text(response: Any) -> str:
    if isinstance(response, dict):
        for key in ("output", "error", "content"):
            if key in response and response[key] is not None:
                return common.as_text(response[key])
    return common.as_text(response)


def _content_parts(content: Any) -> list[PartRecord]:
    """Message content (a string, a Part, or a list of Parts) as parts."""
    if content is None or content == "":
        return []
    items = content if isinstance(content, list) else [content]
    return [p for p in (_content_part(i) for i in items) if p is not None]


def _content_part(item: Any) -> PartRecord | None:
    if isinstance(item, str):
        return PartRecord(PART_TEXT, common.scrub(item)) if item else None
    if not isinstance(item, dict):
        return PartRecord(PART_OTHER, common.as_text(item))
    if isinstance(item.get("text"), str):
        kind = PART_THINKING if item.get("thought") is True else PART_TEXT
        return PartRecord(kind, common.scrub(item["text"]))
    call = item.get("functionCall")
    if isinstance(call, dict):
        text = common.scrub(common.dumps(call.get("args")))
        return PartRecord(
            PART_TOOL_CALL, text, tool_name=_str(call.get("name")), tool_id=_str(call.get("id"))
        )
    response = item.get("functionResponse")
    if isinstance(response, dict):
        return PartRecord(
            PART_TOOL_RESULT,
            _response_text(response.get("response")),
            tool_name=_str(response.get("name")),
            tool_id=_str(response.get("id")),
        )
    data = item.get("inlineData") or item.get("fileData")
    if isinstance(data, dict):
        # Inline data is base64 (often megabytes): never copy it into text.
        mime = _str(data.get("mimeType")) or "file"
        kind = PART_IMAGE if mime.startswith("image/") else PART_OTHER
        return PartRecord(kind, f"[{mime}]")
    return PartRecord(PART_OTHER, common.scrub(common.dumps(item)))


def _thought(item: Any) -> str:
    if not isinstance(item, dict):
        return common.as_text(item)
    subject = _str(item.get("subject"))
    body = _str(item.get("description")) or _str(item.get("summary")) or ""
    text = f"**{subject}** {body}".strip() if subject else body
    return common.scrub(text)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
