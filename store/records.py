"""Plain, frozen records that cross boundaries: parser output, and rows handed to the UI and CLI.

Parsers produce `SessionInfo`, `MessageRecord`, `Rewind` and `BadLine` from log lines; they never
touch the database. The store hands `SessionRow`, `MessageRow`, `FailureRow` pages to the UI; they
are plain data, so touching one can never run a query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Message kinds. A transcript shows these; `HIDDEN_KINDS` are stored (raw kept, exportable) but
# hidden by default because they are harness bookkeeping or mirrors of another record.
KIND_PROMPT = "prompt"  # a human prompt
KIND_TEXT = "text"  # assistant prose
KIND_THINKING = "thinking"  # reasoning / thinking blocks
KIND_TOOL_CALL = "tool_call"
KIND_TOOL_RESULT = "tool_result"
KIND_SYSTEM = "system"  # harness notes, injected context, compaction boundaries
KIND_SUMMARY = "summary"  # agent-written summaries / titles, compaction summaries
KIND_META = "meta"  # bookkeeping lines (snapshots, queue ops, permission mode, token counts...)
KIND_EVENT = "event"  # mirror of another record (Codex event_msg copies of response items)
KIND_UNKNOWN = "unknown"  # a line type this version does not know: kept raw and counted

VISIBLE_KINDS = frozenset(
    {
        KIND_PROMPT,
        KIND_TEXT,
        KIND_THINKING,
        KIND_TOOL_CALL,
        KIND_TOOL_RESULT,
        KIND_SYSTEM,
        KIND_SUMMARY,
        KIND_UNKNOWN,
    }
)
HIDDEN_KINDS = frozenset({KIND_META, KIND_EVENT})

# Part (content block) types.
PART_TEXT = "text"
PART_THINKING = "thinking"
PART_TOOL_CALL = "tool_call"
PART_TOOL_RESULT = "tool_result"
PART_IMAGE = "image"
PART_OTHER = "other"


@dataclass(frozen=True, slots=True)
class PartRecord:
    """One content block of a message."""

    type: str
    """One of the PART_* constants."""
    text: str = ""
    """Display text: prose, thinking, tool input as JSON, tool output (scrubbed UTF-8)."""
    tool_name: str | None = None
    tool_id: str | None = None
    """The call id that links a tool call to its result."""
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What a log line says about its session. Non-None fields are merged into the stored row.

    `title` is the agent's own title or summary (last one wins); `first_prompt` only fills an
    empty title slot. Times are UTC epoch milliseconds.
    """

    session_key: str
    """The agent's native session id (for sub-agent threads: `<parent>#agent-<id>`)."""
    parent_key: str | None = None
    """Native id of the session that spawned this one (sub-agents), if any."""
    project: str | None = None
    """The working directory found in the records."""
    title: str | None = None
    first_prompt: str | None = None
    git_branch: str | None = None
    model: str | None = None
    started_at: int | None = None
    resumed_from_key: str | None = None
    """Native id of the session this one continues or forks (Codex `forked_from_id`)."""


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One record (usually one log line) of a session, normalised.

    `stable_id` identifies the logical record within its session, so that re-reading a file, a
    replayed copy or a stutter duplicate upserts the same row (and keeps its `seq`) instead of
    adding another.
    """

    session_key: str
    stable_id: str
    role: str
    """user | assistant | system | tool | meta"""
    kind: str
    """One of the KIND_* constants."""
    text: str
    raw: bytes
    """The original line, byte for byte (without its newline)."""
    line: int
    """1-based line number in the source file (record index for non-line formats)."""
    timestamp: int | None = None
    """UTC epoch milliseconds, if the record has one."""
    native_id: str | None = None
    """The agent's own id of the record (Claude uuid, Codex item id), if any."""
    group_id: str | None = None
    """Records that belong to one logical turn (Claude streams one API message over several
    lines that share `message.id`): the UI shows them as one."""
    model: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    parts: tuple[PartRecord, ...] = ()
    hidden: bool = False
    """Stored and exportable, but not shown by default (mirrors, bookkeeping, replays)."""
    line_type: str = ""
    """The record's own type tag as the agent wrote it (e.g. `assistant`, `response_item/message`);
    for unknown kinds this is what is counted and shown."""
    replace: bool = False
    """Opt-in upsert by `stable_id` where the last copy wins: an existing row gets this record's
    content, parts, raw and hidden flag (never a new `seq`). For formats that re-write a record
    by id (Gemini JSONL, opencode). Off, the first stored copy is kept as it is."""
    fallback: bool = False
    """A stand-in (Gemini `logs.json` prompts): stored only while the session has no record from
    a real transcript, and hidden once one arrives. Its `stable_id` must start with
    `FALLBACK_PREFIX`, which is how the store finds such rows again."""


FALLBACK_PREFIX = "fallback:"


@dataclass(frozen=True, slots=True)
class Rewind:
    """The agent took back part of a session (Gemini `$rewindTo`): hide, never delete.

    Every message of the session from `to_stable_id` on (by `seq`) is marked hidden; an unknown
    or missing id hides them all (Gemini's own rule). A record stored later with `replace` sets
    its row's hidden flag back to its own, so a message written again after a rewind shows again.
    """

    session_key: str
    to_stable_id: str | None
    line: int


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that could not be used: malformed JSON, not an object, undecodable."""

    line: int
    reason: str
    """Short machine-friendly reason: `malformed-json`, `not-an-object`, `no-type`, ..."""
    snippet: str = ""
    """The first bytes of the line, scrubbed, for the failures screen."""


Record = SessionInfo | MessageRecord | BadLine | Rewind


@dataclass(slots=True)
class ParseState:
    """State a parser carries from one pass over a file to the next (persisted as JSON).

    Incremental ingest reads only the appended lines of a file; whatever a parser learnt from the
    earlier lines (the session id from a header line, a sub-agent's parent) lives here.
    """

    path: str
    data: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Rows handed to the UI and the CLI.


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: int
    agent: str
    native_id: str
    parent_id: int | None
    project: str | None
    title: str | None
    git_branch: str | None
    model: str | None
    started_at: int | None
    updated_at: int | None
    message_count: int
    child_count: int
    source_path: str | None
    gone_since: int | None
    """When the session's log file was last seen, if it has disappeared."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "agent": self.agent,
            "native_id": self.native_id,
            "parent_id": self.parent_id,
            "project": self.project,
            "title": self.title,
            "git_branch": self.git_branch,
            "model": self.model,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "message_count": self.message_count,
            "child_count": self.child_count,
            "source_path": self.source_path,
            "gone_since": self.gone_since,
        }


@dataclass(frozen=True, slots=True)
class PartRow:
    type: str
    text: str
    tool_name: str | None
    tool_id: str | None
    is_error: bool


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: int
    session_id: int
    seq: int
    role: str
    kind: str
    timestamp: int | None
    model: str | None
    text: str
    group_id: str | None
    hidden: bool
    tokens_in: int | None
    tokens_out: int | None
    line_type: str
    parts: tuple[PartRow, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "role": self.role,
            "kind": self.kind,
            "timestamp": self.timestamp,
            "model": self.model,
            "text": self.text,
            "group_id": self.group_id,
            "hidden": self.hidden,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "line_type": self.line_type,
            "parts": [
                {
                    "type": p.type,
                    "text": p.text,
                    "tool_name": p.tool_name,
                    "tool_id": p.tool_id,
                    "is_error": p.is_error,
                }
                for p in self.parts
            ],
        }


@dataclass(frozen=True, slots=True)
class FailureRow:
    id: int
    at: int
    kind: str
    """`commit` (a write that failed) or `line` (a rejected log line)."""
    event_id: str | None
    event_type: str | None
    session_key: str | None
    source_path: str | None
    line: int | None
    error: str
    detail: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "kind": self.kind,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "session": self.session_key,
            "source_path": self.source_path,
            "line": self.line,
            "error": self.error,
            "detail": self.detail,
        }


# ------------------------------------------------------------------------------------------
# What ingest reports to repair: log files out of step with the store, stored copies of a message


@dataclass(frozen=True, slots=True)
class LogDrift:
    """A log file the store is out of step with.

    reason: `new` (on disk, never ingested), `changed` (grown or rewritten since), `short` (the
    store has fewer of its rows than were ingested from it), `gone` (no longer on disk).
    """

    path: str
    reason: str
    source_id: int | None = None
    sessions: tuple[int, ...] = ()
    expected: int = 0
    actual: int = 0


@dataclass(frozen=True, slots=True)
class Copy:
    """One stored copy of a message that is stored more than once."""

    id: int
    seq: int
    source_path: str | None
    line: int | None
    matches_log: bool | None
    """True: the stored raw record equals that line of the log; False: it differs; None: the log
    (or that line) cannot be read."""


# ------------------------------------------------------------------------------------------
# Blocks: one native message stored as several rows (see `store.ingest.parsers.blocks`)

BLOCK_SEP = "#"
"""Separates a native message id from its block number in a `stable_id` (`<id>#<i>`)."""


def block_id(native_id: str, index: int) -> str:
    """The `stable_id` of block `index` of a native message."""
    return native_id if index == 0 else f"{native_id}{BLOCK_SEP}{index}"


def block_index(native_id: str, stable_id: str) -> int | None:
    """The block number a `stable_id` has within `native_id`'s group, or None if not one."""
    if stable_id == native_id:
        return 0
    head = native_id + BLOCK_SEP
    tail = stable_id[len(head) :] if stable_id.startswith(head) else ""
    return int(tail) if tail.isdigit() else None
