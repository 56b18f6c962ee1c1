"""Claude Code parser: owns the mapping of Claude Code JSONL transcript lines to records.

One line of `~/.claude/projects/**/*.jsonl` becomes exactly one `MessageRecord` (or one `BadLine`),
preceded by a `SessionInfo` whenever the line teaches something new about its session (see
FORMATS.md §1). The parser is pure: it reads only the lines it is given and `ParseState`; the
store decides what to do with the records. This module keys lines to sessions and learns session
facts; what one line's `MessageRecord` holds is `store.ingest.parsers.claude_message`.

Session keys: a line belongs to its own `sessionId`; lines without one (summaries, file-history
snapshots) belong to the file's first `sessionId` (else the file stem). Sub-agent lines carry the
*parent's* `sessionId`, so they are keyed `<sessionId>#agent-<agentId>` with the parent as
`parent_key`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from store.ingest.parsers.claude_message import (
    META_TYPES,
    TITLE_FIELDS,
    build_message,
    is_injected,
)
from store.ingest.parsers.common import LineError, first_line, load_line, snippet
from store.records import (
    KIND_PROMPT,
    PART_TEXT,
    BadLine,
    MessageRecord,
    ParseState,
    Record,
    SessionInfo,
)

AGENT = "claude"

# Top-level types of Codex rollout lines: a line with one of these is never Claude's.
_CODEX_TYPES = frozenset(
    {"session_meta", "response_item", "event_msg", "turn_context", "compacted"}
)
# Conversation lines carry the full envelope (uuid, parentUuid, sessionId, ...).
_CONVERSATION_TYPES = frozenset({"user", "assistant", "system", "progress", "attachment"})
_KNOWN_TYPES = _CONVERSATION_TYPES | META_TYPES | {"summary"}
_SYNTHETIC_MODEL = "<synthetic>"
_AGENT_FILE = re.compile(r"agent-(.+)")
_PATH_SEP = re.compile(r"[\\/]")
# Lines without a sessionId are held back until the file's first sessionId shows up; real files
# have one within their first ~20 lines, so past this many the file stem is used instead.
_MAX_PENDING = 256

_Pending = tuple[int, bytes, dict[str, Any] | BadLine]


def sniff(obj: dict[str, Any]) -> bool:
    """Tell whether a decoded line looks like a Claude Code transcript line.

    Args:
        obj: one decoded JSON object from the start of a file.

    Returns:
        True for Claude Code lines; False for Codex envelope lines, Gemini messages and anything
        else without Claude's envelope.
    """
    kind = obj.get("type")
    if not isinstance(kind, str) or kind in _CODEX_TYPES:
        return False
    if kind == "summary":
        return "leafUuid" in obj or "sessionId" in obj
    if kind == "file-history-snapshot":
        return "snapshot" in obj or "messageId" in obj
    has_ids = "sessionId" in obj or "uuid" in obj or "parentUuid" in obj
    if kind in ("user", "assistant"):
        # Gemini's logs.json rows have sessionId + type "user" but a string `message`.
        return has_ids and isinstance(obj.get("message"), dict)
    if kind in _KNOWN_TYPES:
        return has_ids
    # A line type newer than this parser still carries the full envelope.
    return "uuid" in obj and "sessionId" in obj and "payload" not in obj


def parse(lines: Iterable[tuple[int, bytes]], state: ParseState) -> Iterator[Record]:
    """Turn Claude Code transcript lines into records; never raises.

    Args:
        lines: `(1-based line number, raw bytes without the newline)` pairs, in file order.
        state: the file's parse state; `state.data` is read and updated (JSON-serialisable), so
            parsing a file in several pieces yields the same records as parsing it whole.

    Yields:
        `SessionInfo` (before the first `MessageRecord` of each session, then on every change),
        one `MessageRecord` or `BadLine` per non-blank line.
    """
    yield from _FileParser(state).run(lines)


class _FileParser:
    """One pass over (part of) one file; everything that must outlive it lives in `data`."""

    def __init__(self, state: ParseState) -> None:
        self.data = state.data
        sessions = self.data.get("sessions")
        if not isinstance(sessions, dict):
            sessions = self.data["sessions"] = {}
        self.sessions: dict[str, dict[str, Any]] = sessions
        stem = _PATH_SEP.split(state.path)[-1].removesuffix(".jsonl")
        self.stem = stem or "unknown"
        match = _AGENT_FILE.fullmatch(stem)
        self.file_agent = match.group(1) if match else None

    @property
    def default(self) -> str | None:
        value = self.data.get("session")
        return value if isinstance(value, str) else None

    def run(self, lines: Iterable[tuple[int, bytes]]) -> Iterator[Record]:
        """Yield the records of `lines`, holding back sessionless lines until a key is known."""
        pending: list[_Pending] = []
        for line_no, raw in lines:
            item = _decode(line_no, raw)
            if item is None:
                continue
            if self.default is None:
                sid = _session_id(item) if isinstance(item, dict) else None
                if sid is None and len(pending) < _MAX_PENDING:
                    pending.append((line_no, raw, item))
                    continue
                self.data["session"] = sid or self.stem
                yield from self._flush(pending)
            yield from self._emit(line_no, raw, item)
        if pending:
            # The pass ended before any sessionId: the stem is the session id for real
            # `<sessionId>.jsonl` files, and keeps later passes consistent with this one.
            self.data["session"] = self.stem
            yield from self._flush(pending)

    def _flush(self, pending: list[_Pending]) -> Iterator[Record]:
        for item in pending:
            yield from self._emit(*item)
        pending.clear()

    def _emit(self, line_no: int, raw: bytes, item: dict[str, Any] | BadLine) -> Iterator[Record]:
        if isinstance(item, BadLine):
            yield item
            return
        try:
            records = self._records(line_no, raw, item)
        except Exception as exc:  # one odd line must never cost the rest of the file
            records = [BadLine(line_no, f"parse-error: {type(exc).__name__}", snippet(raw))]
        yield from records

    def _records(self, line_no: int, raw: bytes, obj: dict[str, Any]) -> list[Record]:
        key, parent = self._session_key(obj)
        message = build_message(key, line_no, raw, obj)
        info = self._learn(key, parent, obj, message)
        return [message] if info is None else [info, message]

    def _session_key(self, obj: dict[str, Any]) -> tuple[str, str | None]:
        """The line's session key and, for sub-agent lines, the parent session's key."""
        sid = _session_id(obj) or self.default or self.stem
        agent = obj.get("agentId")
        if not (isinstance(agent, str) and agent):
            agent = None
        if self.file_agent is not None:
            agent = agent or self.file_agent
        elif obj.get("isSidechain") is not True:
            agent = None
        if agent is None:
            return sid, None
        return f"{sid}#agent-{agent}", sid

    def _learn(
        self, key: str, parent: str | None, obj: dict[str, Any], message: MessageRecord
    ) -> SessionInfo | None:
        """A `SessionInfo` if the line is the session's first or changes what it knows."""
        known = self.sessions.get(key)
        changes = _session_facts(obj, message, known or {})
        if known is not None and not changes:
            return None
        self.sessions[key] = {**(known or {}), **changes}
        return SessionInfo(session_key=key, parent_key=parent, **changes)


def _decode(line_no: int, raw: bytes) -> dict[str, Any] | BadLine | None:
    """The line's JSON object, a `BadLine`, or None for a blank line."""
    try:
        obj = load_line(raw)
    except LineError as err:
        return None if err.reason == "empty" else BadLine(line_no, err.reason, snippet(raw))
    except Exception as exc:
        return BadLine(line_no, f"parse-error: {type(exc).__name__}", snippet(raw))
    if not isinstance(obj.get("type"), str):
        return BadLine(line_no, "no-type", snippet(raw))
    return obj


def _session_id(obj: dict[str, Any]) -> str | None:
    value = obj.get("sessionId")
    return value if isinstance(value, str) and value else None


def _session_facts(
    obj: dict[str, Any], message: MessageRecord, known: dict[str, Any]
) -> dict[str, Any]:
    """The session fields this line sets to a value different from what is `known`."""
    facts: dict[str, Any] = {}
    cwd = obj.get("cwd")
    if isinstance(cwd, str) and cwd and cwd != known.get("project"):
        facts["project"] = cwd
    branch = obj.get("gitBranch")
    if isinstance(branch, str) and branch and branch != known.get("git_branch"):
        facts["git_branch"] = branch
    model = message.model
    if model and model != _SYNTHETIC_MODEL and model != known.get("model"):
        facts["model"] = model
    started = known.get("started_at")
    # Timestamps are not monotonic (FORMATS.md §5.3): keep the earliest.
    if message.timestamp is not None and (started is None or message.timestamp < started):
        facts["started_at"] = message.timestamp
    title = _title(obj)
    if title and title != known.get("title"):
        facts["title"] = title
    if message.kind == KIND_PROMPT and "first_prompt" not in known:
        prompt = _prompt_line(message)
        if prompt:
            facts["first_prompt"] = prompt
    return facts


def _title(obj: dict[str, Any]) -> str | None:
    field = TITLE_FIELDS.get(obj["type"])
    value = obj.get(field) if field else None
    return first_line(value) if isinstance(value, str) and value.strip() else None


def _prompt_line(message: MessageRecord) -> str:
    """The first line of the first human-typed text block of a prompt."""
    for part in message.parts:
        if part.type == PART_TEXT and not is_injected(part.text):
            line = first_line(part.text)
            if line:
                return line
    return ""
