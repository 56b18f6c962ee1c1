"""The one `NOT INDEXED` scan of `message` that the checks share (`store.repair.checker`): the
totals that decide whether slower per-session and per-file queries are needed, the table-side
fingerprints of its indexes, and counts of distinct keys that prove a unique key holds no
duplicates (or copies of rows are possible) without a scan of their own."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from store.repair.findings import IndexSpec
from store.repair.fingerprints import fingerprint_sql, text_columns
from store.repair.fixes import VISIBLE


@dataclass
class Totals:
    """What the one table scan of `message` adds up."""

    rows: int = 0
    visible: int = 0
    stale: int = 0
    stale_sessions: tuple[int, ...] = ()
    sourced: int = 0
    bad_source: int = 0
    fingerprints: dict[str, tuple[int, int]] = field(default_factory=dict)
    with_raw: int = 0
    distinct: dict[str, int] = field(default_factory=dict)
    """Distinct keys of the integer unique indexes of `message`, counted from the table (and
    under "" those of rows that could be copies of each other)."""


def scan_messages(conn: sqlite3.Connection, specs: list[IndexSpec]) -> Totals:
    """The single table scan of `message`: totals plus its indexes' table-side fingerprints."""
    text = text_columns(conn, "message")
    fps = [fingerprint_sql(s, text) for s in specs]
    # Distinct keys of the unique indexes over integers (packed into one number: equal keys
    # give equal numbers, so as many numbers as rows proves the keys unique), and of the
    # (session, line, raw length) that copies of a row share (`store.repair.copies`).
    unique = [s for s in specs if s.unique and len(s.columns) <= 2 and not set(s.columns) & text]
    keys = [" * 4294967296 + ".join(f'"{c}"' for c in s.columns) for s in unique]
    keys.append(  # mixed modulo a prime, never overflowing: a collision only costs a scan
        "CASE WHEN raw IS NOT NULL THEN ((session_id * 1000003 + COALESCE(line, 0)) "
        "% 2147483647) * 2147483648 + length(raw) % 2147483648 END"
    )
    row = conn.execute(
        f"SELECT COUNT(*), SUM({VISIBLE}), SUM(stale), "
        "group_concat(DISTINCT CASE WHEN stale THEN session_id END), "
        "SUM(source_id IS NOT NULL), SUM(source_id NOT IN (SELECT id FROM source)), "
        "SUM(raw IS NOT NULL)"
        + "".join(f", {fp}" for fp in fps)
        + "".join(f", COUNT(DISTINCT {key})" for key in keys)
        + " FROM message NOT INDEXED"
    ).fetchone()
    stale_sessions = tuple(sorted(int(s) for s in (row[3] or "").split(",") if s))
    prints = {s.name: (int(row[0]), int(row[7 + i] or 0)) for i, s in enumerate(specs)}
    at = 7 + len(specs)
    distinct = {s.name: int(row[at + i]) for i, s in enumerate(unique)}
    distinct[""] = int(row[-1])  # copies are possible only when fewer than rows with raw
    return Totals(
        int(row[0]),
        int(row[1] or 0),
        int(row[2] or 0),
        stale_sessions,
        int(row[4] or 0),
        int(row[5] or 0),
        prints,
        int(row[6] or 0),
        distinct,
    )
