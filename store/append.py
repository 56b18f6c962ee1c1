"""The sequence-owning append: the INSERT itself assigns `seq`, and upserts never change it.

Rule 1: a message's `seq` is computed by SQL inside the one statement that stores it
(`COALESCE(MAX(seq), 0) + 1` of its session under the write lock) and handed back by RETURNING.
Re-storing a message that exists (same session and `stable_id`) keeps its original `seq`.
These functions run inside a funnel transaction (`store.funnel.write`), on its connection, and
keep the full-text index (`store.textindex`) in step in that same transaction.
"""

from __future__ import annotations

import sqlite3
import threading
import zlib
from collections.abc import Sequence

import zstandard

from store import logs, textindex
from store.db import connection
from store.records import (
    BLOCK_SEP,
    FALLBACK_PREFIX,
    MessageRecord,
    PartRecord,
    SessionInfo,
    block_index,
)

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

PartRow = tuple[int, int, str, str | None, str | None, str | None, bool]

RAW_LEVEL = 1
"""zstd level for raw records. On ~1 KB log lines zstd costs ~5 µs a record against ~16 µs for
zlib at any level, for the same size: compression was a third of ingest time."""
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_codecs = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    # Compressor objects are not safe to share between threads, and cheap to keep per thread.
    found: zstandard.ZstdCompressor | None = getattr(_codecs, "compressor", None)
    if found is None:
        found = _codecs.compressor = zstandard.ZstdCompressor(level=RAW_LEVEL)
    return found


def compress(raw: bytes) -> bytes:
    """A raw record, compressed for the `message.raw` column."""
    return _compressor().compress(raw)


def decompress(blob: bytes | None) -> bytes:
    """The raw record back, byte for byte (zstd; zlib blobs of early stores still read)."""
    if not blob:
        return b""
    if blob[:4] == _ZSTD_MAGIC:
        found: zstandard.ZstdDecompressor | None = getattr(_codecs, "decompressor", None)
        if found is None:
            found = _codecs.decompressor = zstandard.ZstdDecompressor()
        return found.decompress(blob)
    return zlib.decompress(blob)


def readable(blob: bytes | None) -> bytes | None:
    """The raw record back, or None when its stored bytes are damaged (they do not decompress)."""
    try:
        return decompress(blob)
    except (zstandard.ZstdError, zlib.error, TypeError, ValueError):
        return None


def _content(rec: MessageRecord) -> tuple[object, ...]:
    """The message columns an append writes and a replace rewrites, in the statements' order."""
    return (
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
    )


def append(
    session_id: int,
    rec: MessageRecord,
    source_id: int | None = None,
    conn: sqlite3.Connection | None = None,
    *,
    blob: bytes | None = None,
    index: bool = True,
) -> tuple[int, int]:
    """Store one message (or find it again) and return `(id, seq)` as the database has them.

    The caller must hold the write lock (run inside `funnel.write`). `blob` is the record's raw
    line already compressed (the ingest pipeline compresses off the writing thread). With
    `index=False` the caller indexes the new rows itself in the same transaction (the ingest
    writer does, a chunk at a time, with `textindex.added_new`).
    """
    c = conn or connection()
    row = c.execute(
        APPEND_SQL,
        (
            session_id,
            rec.stable_id,
            *_content(rec),
            source_id,
            rec.line,
            compress(rec.raw) if blob is None else blob,
        ),
    ).fetchone()
    if index:
        textindex.added(c, int(row[0]), rec.text)
    return int(row[0]), int(row[1])


def insert_parts(
    message_id: int, text: str, parts: Sequence[PartRecord], conn: sqlite3.Connection | None = None
) -> None:
    """Insert the parts of a new message; a part whose text equals the message's is stored NULL."""
    if parts:
        (conn or connection()).executemany(PART_SQL, part_rows(message_id, text, parts))


def part_rows(message_id: int, text: str, parts: Sequence[PartRecord]) -> list[PartRow]:
    """The `part` rows of a new message, for one `executemany` over many messages."""
    single = len(parts) == 1
    return [
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
    ]


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


# ---------------------------------------------------------------------------------------------
# Last-copy-wins upserts, rewinds and stand-ins (opt-in per record; see MessageRecord.replace).

FIND_SQL = (
    "SELECT id, seq, raw, hidden, stale, text FROM message WHERE session_id = ? AND stable_id = ?"
)

REPLACE_SQL = """
UPDATE message SET native_id = ?, group_id = ?, role = ?, kind = ?, line_type = ?, timestamp = ?,
                   model = ?, tokens_in = ?, tokens_out = ?, text = ?, hidden = ?, stale = 0,
                   source_id = ?, line = ?, raw = ?
WHERE id = ?
"""
# `seq` is not in the SET list on purpose (rule 1): a message written again keeps its place.

RECOUNT_SQL = """
UPDATE session SET message_count = (
    SELECT COUNT(*) FROM message
    WHERE session_id = ?1 AND hidden = 0 AND stale = 0 AND kind NOT IN ('meta', 'event'))
WHERE id = ?1
"""

NEW, SAME, UPDATED = "new", "same", "updated"


def replace(
    session_id: int,
    rec: MessageRecord,
    source_id: int | None = None,
    conn: sqlite3.Connection | None = None,
    *,
    blob: bytes | None = None,
) -> tuple[int, int, str]:
    """Store a record whose last copy wins; returns `(id, seq, NEW | SAME | UPDATED)`.

    A new record is appended as usual (the caller inserts its parts). An existing one whose raw
    bytes and hidden flag are unchanged is left alone (SAME); otherwise its content, raw and
    hidden flag are overwritten in place, its parts deleted by the message's primary key and
    inserted again (UPDATED). Its `seq` never changes. Runs inside `funnel.write`.
    """
    c = conn or connection()
    blob = compress(rec.raw) if blob is None else blob
    row = c.execute(FIND_SQL, (session_id, rec.stable_id)).fetchone()
    if row is None:
        message_id, seq = append(session_id, rec, source_id, c, blob=blob)
        return message_id, seq, NEW
    message_id, seq = int(row[0]), int(row[1])
    if row[2] == blob and bool(row[3]) == rec.hidden and not row[4]:
        return message_id, seq, SAME
    c.execute(
        REPLACE_SQL,
        (
            *_content(rec),
            source_id,
            rec.line,
            blob,
            message_id,
        ),
    )
    textindex.changed(c, message_id, row[5], rec.text)
    c.execute("DELETE FROM part WHERE message_id = ?", (message_id,))
    insert_parts(message_id, rec.text, rec.parts, c)
    return message_id, seq, UPDATED


def rewind(
    session_id: int, to_stable_id: str | None, conn: sqlite3.Connection | None = None
) -> int:
    """Hide a session's messages from `to_stable_id` on (all of them if it is unknown).

    Hidden, not deleted: the raw records stay exportable. Returns how many rows were hidden.
    """
    c = conn or connection()
    start = 1
    if to_stable_id is not None:
        row = c.execute(
            "SELECT seq FROM message WHERE session_id = ? AND stable_id = ?",
            (session_id, to_stable_id),
        ).fetchone()
        start = int(row[0]) if row is not None else 1
    cur = c.execute(
        "UPDATE message SET hidden = 1 WHERE session_id = ? AND seq >= ? AND hidden = 0",
        (session_id, start),
    )
    return int(cur.rowcount)


def hide_blocks_after(
    session_id: int, group_id: str, keep: int, conn: sqlite3.Connection | None = None
) -> int:
    """Hide the rows `<group>#<i>` with `i >= keep` of a message that was written again with
    fewer rows (see `store.ingest.parsers.blocks`); returns how many were hidden."""
    c = conn or connection()
    head = group_id + BLOCK_SEP
    # A prefix range on the (session_id, stable_id) unique index: '#' + 1 is '$'.
    rows = c.execute(
        "SELECT id, stable_id FROM message WHERE session_id = ? AND stable_id > ? "
        "AND stable_id < ? AND hidden = 0",
        (session_id, head, group_id + chr(ord(BLOCK_SEP) + 1)),
    ).fetchall()
    extra = [r[0] for r in rows if (block_index(group_id, r[1]) or 0) >= keep]
    for message_id in extra:
        c.execute("UPDATE message SET hidden = 1 WHERE id = ?", (message_id,))
    return len(extra)


def recount(session_id: int, conn: sqlite3.Connection | None = None) -> None:
    """Set a session's `message_count` from its rows (after rows were hidden or shown again)."""
    (conn or connection()).execute(RECOUNT_SQL, (session_id,))


_FALLBACK_RANGE = "stable_id >= ? AND stable_id < ?"
# A prefix range on the (session_id, stable_id) unique index: `LIKE` would scan the session.
_FALLBACK_BOUNDS = (FALLBACK_PREFIX, FALLBACK_PREFIX[:-1] + chr(ord(FALLBACK_PREFIX[-1]) + 1))


def has_primary(session_id: int, conn: sqlite3.Connection | None = None) -> bool:
    """Whether the session holds a record that is not a fallback stand-in."""
    row = (
        (conn or connection())
        .execute(
            f"SELECT 1 FROM message WHERE session_id = ? AND NOT ({_FALLBACK_RANGE}) LIMIT 1",
            (session_id, *_FALLBACK_BOUNDS),
        )
        .fetchone()
    )
    return row is not None


def hide_fallbacks(session_id: int, conn: sqlite3.Connection | None = None) -> int:
    """Hide the fallback stand-ins of a session that now has real records; returns how many."""
    cur = (conn or connection()).execute(
        f"UPDATE message SET hidden = 1 WHERE session_id = ? AND {_FALLBACK_RANGE} AND hidden = 0",
        (session_id, *_FALLBACK_BOUNDS),
    )
    return int(cur.rowcount)
