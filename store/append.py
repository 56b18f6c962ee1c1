"""The sequence-owning append: the INSERT itself assigns `seq`, and upserts never change it.

Rule 1: a message's `seq` is computed by SQL inside the one statement that stores it
(`COALESCE(MAX(seq), 0) + 1` of its session under the write lock) and handed back by RETURNING.
Re-storing a message that exists (same session and `stable_id`) keeps its original `seq`.
These functions run inside a funnel transaction (`store.funnel.write`), on its connection.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Sequence

from store import logs
from store.db import connection
from store.records import MessageRecord, PartRecord, SessionInfo

log = logs.get("append")

APPEND_SQL = """
INSERT INTO message (session_id, seq, stable_id, native_id, group_id, role, kind, line_type,
                     timestamp, model, tokens_in, tokens_out, text, hidden, stale, source_id,
                     line, raw)
VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM message WHERE session_id = ?1),
        ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, ?14, ?15, ?16)
ON CONFLICT (session_id, stable_id) DO UPDATE SET stale = 0
RETURNING id, seq
"""
# On conflict the first stored copy is kept as it is (the earliest instance wins, so which copy
# was kept is explainable) and only un-marked stale; RETURNING then gives its original seq.

PART_SQL = """
INSERT INTO part (message_id, idx, type, text, tool_name, tool_id, is_error)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""

SESSION_SQL = """
INSERT INTO session (agent, native_id, parent_id, resumed_from_id, source_id, project, title,
                     first_prompt, git_branch, model, started_at, updated_at, message_count)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, COALESCE(?11, 0), 0)
ON CONFLICT (agent, native_id) DO UPDATE SET
    parent_id = COALESCE(excluded.parent_id, parent_id),
    resumed_from_id = COALESCE(excluded.resumed_from_id, resumed_from_id),
    source_id = COALESCE(source_id, excluded.source_id),
    project = COALESCE(excluded.project, project),
    title = COALESCE(excluded.title, title),
    first_prompt = COALESCE(first_prompt, excluded.first_prompt),
    git_branch = COALESCE(excluded.git_branch, git_branch),
    model = COALESCE(excluded.model, model),
    started_at = COALESCE(MIN(started_at, excluded.started_at), started_at, excluded.started_at)
RETURNING id
"""

PLACEHOLDER_SQL = """
INSERT INTO session (agent, native_id, source_id, updated_at, message_count)
VALUES (?, ?, ?, 0, 0)
ON CONFLICT (agent, native_id) DO UPDATE SET source_id = COALESCE(source_id, excluded.source_id)
RETURNING id
"""

RAW_LEVEL = 1
"""zlib level for raw records: level 1 is ~4x faster than the default for ~10% more bytes."""


def compress(raw: bytes) -> bytes:
    return zlib.compress(raw, RAW_LEVEL)


def decompress(blob: bytes | None) -> bytes:
    return zlib.decompress(blob) if blob else b""


def append(
    session_id: int,
    rec: MessageRecord,
    source_id: int | None = None,
    conn: sqlite3.Connection | None = None,
    *,
    blob: bytes | None = None,
) -> tuple[int, int]:
    """Store one message (or find it again) and return `(id, seq)` as the database has them.

    The caller must hold the write lock (run inside `funnel.write`). `blob` is the record's raw
    line already compressed (the ingest pipeline compresses off the writing thread).
    """
    c = conn or connection()
    row = c.execute(
        APPEND_SQL,
        (
            session_id,
            rec.stable_id,
            rec.native_id,
            rec.group_id,
            rec.role,
            rec.kind,
            rec.line_type,
            rec.timestamp,
            rec.model,
            rec.tokens_in,
            rec.tokens_out,
            rec.text,
            rec.hidden,
            source_id,
            rec.line,
            compress(rec.raw) if blob is None else blob,
        ),
    ).fetchone()
    return int(row[0]), int(row[1])


def insert_parts(
    message_id: int, text: str, parts: Sequence[PartRecord], conn: sqlite3.Connection | None = None
) -> None:
    """Insert the parts of a new message; a part whose text equals the message's is stored NULL."""
    if not parts:
        return
    c = conn or connection()
    single = len(parts) == 1
    c.executemany(
        PART_SQL,
        [
            (
                message_id,
                i,
                p.type,
                None if single and p.text == text else p.text,
                p.tool_name,
                p.tool_id,
                p.is_error,
            )
            for i, p in enumerate(parts)
        ],
    )


def add_part(
    message_id: int, idx: int, part: PartRecord, conn: sqlite3.Connection | None = None
) -> bool:
    """Attach one part to an existing message; a part whose message is gone is skipped.

    Returns False (and logs a warning) when the message does not exist: a child is never forced
    in without its parent, and replaying the same events gives the same result.
    """
    c = conn or connection()
    if c.execute("SELECT 1 FROM message WHERE id = ?", (message_id,)).fetchone() is None:
        log.warning("part %s of message %s skipped: the message is gone", idx, message_id)
        return False
    c.execute(
        PART_SQL,
        (message_id, idx, part.type, part.text, part.tool_name, part.tool_id, part.is_error),
    )
    return True


def upsert_session(
    agent: str,
    info: SessionInfo,
    parent_id: int | None,
    resumed_from_id: int | None,
    source_id: int | None,
    conn: sqlite3.Connection | None = None,
) -> int:
    """Create or enrich a session from what a log line said about it; returns its id."""
    c = conn or connection()
    row = c.execute(
        SESSION_SQL,
        (
            agent,
            info.session_key,
            parent_id,
            resumed_from_id,
            source_id,
            info.project,
            info.title,
            info.first_prompt,
            info.git_branch,
            info.model,
            info.started_at,
        ),
    ).fetchone()
    return int(row[0])


def ensure_session(
    agent: str, native_id: str, source_id: int | None = None, conn: sqlite3.Connection | None = None
) -> int:
    """The id of a session, creating an empty placeholder (filled in later) if it is unknown."""
    c = conn or connection()
    row = c.execute(PLACEHOLDER_SQL, (agent, native_id, source_id)).fetchone()
    return int(row[0])
