"""What each Codex `event_msg` payload becomes (`Msg`): mirrors, token counts and notices.

Pure helpers of `store.ingest.parsers.codex`. Codex mirrors prompts, answers and reasoning as
events; a mirror is hidden when the file has response items (they are shown instead) and shown,
with an echo mark for its twin, when it does not. Other events are notices or bookkeeping.
"""

from __future__ import annotations

from typing import Any

from store.ingest.parsers import common
from store.ingest.parsers.codex_items import Handler, Msg, system_msg
from store.ingest.parsers.codex_state import State, as_dict, opt_int, opt_str
from store.records import (
    KIND_EVENT,
    KIND_META,
    KIND_PROMPT,
    KIND_TEXT,
    KIND_THINKING,
    PART_TEXT,
    PART_THINKING,
    PartRecord,
)


def event_msg(p: dict[str, Any], st: State) -> Msg:
    """What an `event_msg` payload says, by its `type` (see `EVENTS`); others are hidden notices."""
    ptype = p.get("type")
    handler = EVENTS.get(ptype) if isinstance(ptype, str) else None
    if handler is None:
        return _other_event(p, st)
    return handler(p, st)


def _mirror(role: str, kind: str, part_type: str, field_name: str) -> Handler:
    """An event that mirrors a response item: hidden, unless the file has no response items."""

    def handle(p: dict[str, Any], st: State) -> Msg:
        text = common.as_text(p.get(field_name))
        parts = (PartRecord(part_type, text),)
        if st.has_resp:
            return Msg(role, KIND_EVENT, text, parts, hidden=True)
        st.push_echo(role, text)
        return Msg(role, kind, text, parts)

    return handle


def _raw_reasoning(p: dict[str, Any], st: State) -> Msg:
    # The full reasoning stream mirrors `agent_reasoning`; showing both would double it.
    text = common.as_text(p.get("text"))
    return Msg("assistant", KIND_EVENT, text, (PartRecord(PART_THINKING, text),), hidden=True)


def _token_count(p: dict[str, Any], st: State) -> Msg:
    usage = as_dict(as_dict(p.get("info")).get("last_token_usage"))
    tin, tout = opt_int(usage.get("input_tokens")), opt_int(usage.get("output_tokens"))
    text = "Token count" if tin is None and tout is None else f"Tokens: {tin} in, {tout} out"
    return Msg("meta", KIND_META, text, hidden=True, tokens_in=tin, tokens_out=tout)


def _thread_name(p: dict[str, Any], st: State) -> Msg:
    name = opt_str(p.get("thread_name")) or opt_str(p.get("name"))
    if name:
        st.set("title", common.scrub(name))
    return system_msg(f"Thread renamed: {name}" if name else "Thread renamed", hidden=True)


def _turn_aborted(p: dict[str, Any], st: State) -> Msg:
    reason = opt_str(p.get("reason"))
    return system_msg(f"Turn aborted ({reason})" if reason else "Turn aborted")


def _rolled_back(p: dict[str, Any], st: State) -> Msg:
    n = opt_int(p.get("num_turns"))
    if n is None:
        return system_msg("Rolled back")
    return system_msg(f"Rolled back {n} turn" + ("" if n == 1 else "s"))


def _labelled(label: str) -> Handler:
    """A visible notice: `label`, plus the event's own message when it has one."""

    def handle(p: dict[str, Any], st: State) -> Msg:
        message = opt_str(p.get("message"))
        return system_msg(f"{label}: {message}" if message else label)

    return handle


def _other_event(p: dict[str, Any], st: State) -> Msg:
    # Bookkeeping (task_started, exec_command_end, collab_*...): mirrors or runtime chatter.
    ptype = p.get("type")
    label = ptype.replace("_", " ").capitalize() if isinstance(ptype, str) else "Event"
    message = opt_str(p.get("message"))
    return system_msg(f"{label}: {message}" if message else label, hidden=True)


EVENTS: dict[str, Handler] = {
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
"""`event_msg` payload type -> its handler."""
