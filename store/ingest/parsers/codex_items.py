"""What each Codex `response_item` payload becomes (`Msg`), with the handler tables they share.

Pure helpers of `store.ingest.parsers.codex`: messages (prompts, answers, injected context),
reasoning, tool calls of every flavour and their outputs, plus the `Msg` every line handler
returns and its small constructors. Legacy files hold the same items bare, without an envelope.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from store.ingest.parsers import common
from store.ingest.parsers.codex_state import State, as_dict, opt_int, opt_str
from store.records import (
    KIND_META,
    KIND_PROMPT,
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
    PartRecord,
)

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


@dataclass(slots=True)
class Msg:
    """What a handler decides about a line; the driver adds identity, time and session."""

    role: str
    kind: str
    text: str
    parts: tuple[PartRecord, ...] = ()
    hidden: bool = False
    tokens_in: int | None = None
    tokens_out: int | None = None


Handler = Callable[[dict[str, Any], State], Msg]
"""A line handler: a payload (or bare item) and the file's state in, what the line says out."""


def meta_msg(text: str) -> Msg:
    """A hidden bookkeeping line."""
    return Msg("meta", KIND_META, text, hidden=True)


def system_msg(text: str, hidden: bool = False) -> Msg:
    """A notice from Codex itself (one text part)."""
    text = common.scrub(text)
    return Msg("system", KIND_SYSTEM, text, (PartRecord(PART_TEXT, text),), hidden=hidden)


def unknown_msg(tag: str) -> Msg:
    """A line type this parser does not know (kept whole in raw)."""
    return Msg("meta", KIND_UNKNOWN, common.scrub(f"[unknown record type {tag!r}]"))


def response_item(p: dict[str, Any], st: State) -> Msg:
    """What a `response_item` payload says, by its `type` (see `RESPONSE`)."""
    ptype = p.get("type")
    handler = RESPONSE.get(ptype) if isinstance(ptype, str) else None
    if handler is None:
        return unknown_msg(f"response_item/{ptype}")
    return handler(p, st)


def _message(p: dict[str, Any], st: State) -> Msg:
    role = opt_str(p.get("role")) or "user"
    text, parts = _content(p.get("content"))
    if role in ("developer", "system"):
        st.take_echo("system", text)
        return Msg("system", KIND_SYSTEM, text, parts, hidden=True)
    if role == "assistant":
        return Msg("assistant", KIND_TEXT, text, parts, hidden=st.take_echo("assistant", text))
    if text.startswith(_SHELL_COMMAND):
        # A `!command` the human ran: their action, but not a prompt to title the session with.
        return Msg("user", KIND_SYSTEM, text, parts, hidden=st.take_echo("user", text))
    for prefix, boilerplate in _INJECTED:
        if text.startswith(prefix):
            st.take_echo("user", text)
            return Msg("system", KIND_SYSTEM, text, parts, hidden=boilerplate)
    return Msg("user", KIND_PROMPT, text, parts, hidden=st.take_echo("user", text))


def _reasoning(p: dict[str, Any], st: State) -> Msg:
    texts = _block_texts(p.get("summary")) or _block_texts(p.get("content"))
    # encrypted_content is opaque ciphertext: it is kept in raw, never shown.
    text = "\n\n".join(texts) or "[encrypted reasoning]"
    hidden = st.take_echo("assistant", text)
    return Msg("assistant", KIND_THINKING, text, (PartRecord(PART_THINKING, text),), hidden)


def _function_call(p: dict[str, Any], st: State) -> Msg:
    name = opt_str(p.get("name")) or "function"
    return _tool_call(name, p, _json_text(p.get("arguments")))


def _custom_tool_call(p: dict[str, Any], st: State) -> Msg:
    name = opt_str(p.get("name")) or "custom_tool"
    return _tool_call(name, p, common.as_text(p.get("input")))


def _local_shell_call(p: dict[str, Any], st: State) -> Msg:
    action = p.get("action")
    return _tool_call("shell", p, "" if action is None else _json_text(action))


def _web_search_call(p: dict[str, Any], st: State) -> Msg:
    action = as_dict(p.get("action"))
    query = opt_str(action.get("query"))
    text = query if query is not None else ("" if not action else common.dumps(action))
    return _tool_call("web_search", p, common.scrub(text))


def _tool_search_call(p: dict[str, Any], st: State) -> Msg:
    args = p.get("arguments", p.get("query"))
    return _tool_call(opt_str(p.get("name")) or "tool_search", p, _json_text(args))


def _tool_call(name: str, p: dict[str, Any], text: str) -> Msg:
    call_id = opt_str(p.get("call_id")) or opt_str(p.get("id"))
    part = PartRecord(PART_TOOL_CALL, text, tool_name=common.scrub(name), tool_id=call_id)
    return Msg("assistant", KIND_TOOL_CALL, text, (part,))


def _tool_output(p: dict[str, Any], st: State) -> Msg:
    text, is_error = _output_text(p.get("output"))
    call_id = opt_str(p.get("call_id")) or opt_str(p.get("id"))
    part = PartRecord(PART_TOOL_RESULT, text, tool_id=call_id, is_error=is_error)
    return Msg("tool", KIND_TOOL_RESULT, text, (part,))


def _hidden_meta(label: str) -> Handler:
    def handle(p: dict[str, Any], st: State) -> Msg:
        return meta_msg(label)

    return handle


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
            code = opt_int(as_dict(decoded.get("metadata")).get("exit_code"))
            return common.as_text(decoded.get("output")), code not in (None, 0)
    match = _EXIT_TEXT.match(output[:400])
    is_error = match is not None and int(match.group(1)) != 0
    return common.scrub(output), is_error or output.startswith(_FAILED_PREFIXES)


RESPONSE: dict[str, Handler] = {
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
"""`response_item` payload type -> its handler; legacy files hold these items bare."""
