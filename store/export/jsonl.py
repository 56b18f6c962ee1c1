"""A session's original log records, written back out from the store alone (`--format jsonl`).

Every message row keeps its raw record, zstd-compressed (`store.append.compress`), so a session
can be exported after its log file is gone. Rows are written in `seq` order (file order for a
session read from one file), one record per line:

* Claude Code and Codex: the original lines, byte for byte. A line that was stored once for
  several copies (stutter duplicates, replays: one row per `stable_id`) is written once; lines
  that could not be decoded were never stored, so they are not written.
* Gemini CLI: the last copy of each message (its row was updated in place), which Gemini's own
  loader reads to the same conversation; documents come out as their JSONL equivalent.
* opencode: one `{"info": ..., "parts": [...]}` line per message (opencode's own export shape),
  after a line with the session object.

Rows without raw bytes (the extra rows of a message split into blocks) write nothing. A record
whose stored bytes are damaged (they do not decompress) is skipped, its seq handed to the caller.
"""

from __future__ import annotations

from typing import BinaryIO

from store.append import readable
from store.db import reading

BATCH = 500
"""Rows read per page: a session of any size is streamed, never held whole."""

PAGE_SQL = """
SELECT seq, raw, stale FROM message WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?
"""


def write_jsonl(
    session_id: int,
    out: BinaryIO,
    *,
    include_stale: bool = False,
    skipped: list[int] | None = None,
) -> int:
    """Write a session's raw records to `out`, one per line; returns how many lines.

    Args:
        session_id: the session's row id.
        out: a binary stream (a file, or `sys.stdout.buffer`).
        include_stale: also write records that a rewritten log file no longer has.
        skipped: the seq of each record that cannot be read (damaged) is appended to it.
    """
    after = 0
    written = 0
    while True:
        with reading() as conn:
            rows = conn.execute(PAGE_SQL, (session_id, after, BATCH)).fetchall()
        for seq, blob, stale in rows:
            if (stale and not include_stale) or not blob:
                continue
            raw = readable(blob)
            if raw is None:
                if skipped is not None:
                    skipped.append(seq)
                continue
            if raw:
                out.write(raw)
                out.write(b"\n")
                written += 1
        if len(rows) < BATCH:
            return written
        after = rows[-1][0]
