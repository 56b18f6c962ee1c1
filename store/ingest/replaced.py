"""A log file replaced by another session's log (renamed over it, `mv b.jsonl a.jsonl`).

A rewritten file is re-read from the start and the rows it no longer has are kept, marked stale
(hidden). That is right when the file is still the same session's log (compacted, edited), but
when the re-read finds nothing at all of a session the file used to hold, that session's log is
gone, not rewritten: staling all of its rows would make it vanish from the list. Such a session is
moved, with its rows, to a source row of its own that stands for the replaced file, marked gone
(rule 4): it stays listed and shown like any session whose log disappeared, the check notes it as
kept, and a rebuild carries it over whole.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection

from store import funnel, logs

log = logs.get("ingest")


def replaced_path(path: str, when_ms: int) -> str:
    """The path a replaced log's source row is kept under: the file's, and when it was replaced
    (a path no file has, so the drift check sees it gone, and it is unique per replacement)."""
    return f"{path} (replaced at {when_ms})"


def detach_replaced(
    conn: sqlite3.Connection, source_id: int, path: str, agent: str, seen: Collection[int]
) -> list[int]:
    """Move the sessions of a re-read rewritten file that it no longer holds any of (none in
    `seen`, the sessions the re-read touched) to a gone source row; returns their ids.

    Runs inside the caller's transaction (the one that marks the remaining rows stale).
    """
    held = conn.execute(
        "SELECT m.session_id FROM message AS m WHERE m.source_id = ?1 "
        "AND m.session_id IN (SELECT s.id FROM session AS s WHERE s.source_id = ?1) "
        "GROUP BY m.session_id",
        (source_id,),
    ).fetchall()
    gone = sorted(sid for (sid,) in held if sid not in seen)
    if not gone:
        return []
    now = funnel.now_ms()
    new_id = int(
        conn.execute(
            "INSERT INTO source (path, agent, size, mtime_ns, offset, head_len, lines, lines_ok, "
            "lines_bad, lines_unknown, lines_dup, state, last_seen, gone_since) VALUES "
            "(?, ?, 0, 0, 0, 0, 0, 0, 0, 0, 0, '{}', ?, ?) RETURNING id",
            (replaced_path(path, now), agent, now, now),
        ).fetchone()[0]
    )
    marks = ",".join("?" * len(gone))
    ok, unknown = conn.execute(
        "SELECT COALESCE(SUM(kind <> 'unknown'), 0), COALESCE(SUM(kind = 'unknown'), 0) "
        f"FROM message WHERE source_id = ? AND session_id IN ({marks})",
        (source_id, *gone),
    ).fetchone()
    conn.execute(
        f"UPDATE message SET source_id = ? WHERE source_id = ? AND session_id IN ({marks})",
        (new_id, source_id, *gone),
    )
    conn.execute(f"UPDATE session SET source_id = ? WHERE id IN ({marks})", (new_id, *gone))
    # The rows moved with their tally, so "rows missing from the store" stays exact for both.
    conn.execute(
        "UPDATE source SET lines_ok = MAX(0, lines_ok - ?), "
        "lines_unknown = MAX(0, lines_unknown - ?) WHERE id = ?",
        (ok, unknown, source_id),
    )
    conn.execute(
        "UPDATE source SET lines_ok = ?, lines_unknown = ? WHERE id = ?", (ok, unknown, new_id)
    )
    log.info(
        "%s now holds another session's log: sessions %s kept, their log marked gone",
        path,
        ", ".join(map(str, gone)),
    )
    return gone
