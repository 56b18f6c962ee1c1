"""One native message, several rows: the blocks of formats that keep a whole turn in one record.

Gemini CLI and opencode store one assistant message with its thoughts, prose, tool calls and tool
results together; the store (and the app) show one kind per row. So such a message becomes a
group of rows: block 0 has the message's own id as `stable_id` and carries the raw record, block
`i` has `<id>#<i>` and no raw (the raw is written out once, by block 0). All blocks share
`group_id = <id>`, so the UI can show them as one turn, and all are `replace` records, so a
message written again updates its rows in place (keeping their `seq`); the driver hides blocks a
re-written message no longer has.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.records import (
    KIND_META,
    KIND_TOOL_RESULT,
    PART_TOOL_RESULT,
    MessageRecord,
    PartRecord,
    block_id,
)


@dataclass(frozen=True, slots=True)
class Block:
    """What one row of a message shows."""

    role: str
    kind: str
    text: str
    parts: tuple[PartRecord, ...] = ()
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class Origin:
    """The fields every block of one native message shares."""

    session_key: str
    native_id: str
    raw: bytes
    line: int
    line_type: str
    timestamp: int | None = None
    model: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    replace: bool = True


def tool_result_block(result: str, name: str | None, call_id: str | None, failed: bool) -> Block:
    """The row that carries a tool's result (both Gemini and opencode nest it in the call)."""
    part = PartRecord(PART_TOOL_RESULT, result, tool_name=name, tool_id=call_id, is_error=failed)
    return Block("tool", KIND_TOOL_RESULT, result, (part,))


def records(origin: Origin, blocks: list[Block]) -> list[MessageRecord]:
    """The rows of one native message; a message with nothing to show keeps one hidden row."""
    if not blocks:
        blocks = [Block("meta", KIND_META, "", hidden=True)]
    out = []
    for i, block in enumerate(blocks):
        first = i == 0
        out.append(
            MessageRecord(
                session_key=origin.session_key,
                stable_id=block_id(origin.native_id, i),
                role=block.role,
                kind=block.kind,
                text=block.text,
                raw=origin.raw if first else b"",
                line=origin.line,
                timestamp=origin.timestamp,
                native_id=origin.native_id,
                group_id=origin.native_id,
                model=origin.model if block.role == "assistant" else None,
                # Token counts belong to the message: counted once, on its first row.
                tokens_in=origin.tokens_in if first else None,
                tokens_out=origin.tokens_out if first else None,
                parts=block.parts,
                hidden=block.hidden,
                line_type=origin.line_type,
                replace=origin.replace,
            )
        )
    return out
