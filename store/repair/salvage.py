"""Reading what can still be read of an old, possibly damaged store file (for a rebuild).

The old file is opened read-only and read by rowid ranges; a range SQLite cannot read is halved
until the unreadable rows are isolated and skipped (and counted in the log), so a damaged page
costs the rows on it, never the whole table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from store import logs

log = logs.get("rebuild")

STEP = 5000
"""Rows read per range while salvaging."""


def open_old(path: Path) -> sqlite3.Connection | None:
    """The old store, read-only, if SQLite can read its schema at all."""
    for params in ("mode=ro", "immutable=1"):
        try:
            conn = sqlite3.connect(f"file:{quote(str(path))}?{params}", uri=True)
            # Tolerate a damaged schema (a root page past the end of a truncated file): SQLite
            # skips those checks while writable_schema is on; nothing is written (read-only).
            conn.execute("PRAGMA writable_schema = ON")
            conn.execute("SELECT name FROM sqlite_master").fetchall()
            return conn
        except sqlite3.Error:
            continue
    return None


def old_sources(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    return [(int(r[0]), str(r[1])) for r in salvage(conn, "source", "id, path")]


def salvage(
    conn: sqlite3.Connection, table: str, columns: str, where: str = "1"
) -> Iterator[tuple[Any, ...]]:
    """The rows of `table` that can still be read, in rowid order; damaged ranges are skipped."""
    top = _top_rowid(conn, table)
    pending = [(lo, min(lo + STEP - 1, top)) for lo in range(1, top + 1, STEP)]
    pending.reverse()
    lost = 0
    while pending:
        lo, hi = pending.pop()
        try:
            rows = conn.execute(
                f'SELECT {columns} FROM "{table}" WHERE rowid BETWEEN ? AND ? '
                f"AND ({where}) ORDER BY rowid",
                (lo, hi),
            ).fetchall()
        except sqlite3.Error:
            if lo < hi:  # halve the range until the unreadable rows are isolated
                mid = (lo + hi) // 2
                pending += [(mid + 1, hi), (lo, mid)]
            else:
                lost += 1
            continue
        yield from rows
    if lost:
        log.warning("%d row ids of %s in the old store could not be read", lost, table)


def _top_rowid(conn: sqlite3.Connection, table: str) -> int:
    """The table's largest rowid; when its last page is unreadable, a bound from the file size."""
    try:
        return int(conn.execute(f'SELECT COALESCE(MAX(rowid), 0) FROM "{table}"').fetchone()[0])
    except sqlite3.Error:
        pass
    try:
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    except sqlite3.Error:
        pages = 0
    return max(pages, 1) * 32  # no 4 KB page holds more rows of these tables
