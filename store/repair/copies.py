"""Copies of message rows: a row stored again under a fresh primary key and a fresh stable id, so
no unique index sees it (an old insert path, or a tool that copied rows). Found without trusting
any index, and never confused with a block group (Gemini and opencode store one record as several
rows, one per block, all holding the same raw record).

A row is a copy when another row of the same session holds the same raw record and the same block
of it, and its own stable id is not one the record names: not one that re-parsing the raw record
yields, nor a block id (`<native id>#<i>`, see `store.records.block_id`) of its native id. A row
the record names is never a copy. The block of a row is its content (kind, role, text): a copy of
block 2 holds block 2's text. Rows with no log file (kept sessions) are compared the same way, by
raw record and block alone.

Cost: one `NOT INDEXED` scan grouped by (session, line, raw length); only the rows of groups of two
or more are read and re-parsed. Orphaned copies (`orphaned`) are looked for only when the checks
found orphans: one more scan, of the rows of their log files.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from store.append import decompress
from store.ingest.parsers.registry import PARSERS
from store.records import MessageRecord, ParseState, block_index
from store.repair.findings import RowCopies

_GROUPS = (
    "SELECT group_concat(id) FROM message NOT INDEXED WHERE raw IS NOT NULL "
    "GROUP BY session_id, line, length(raw) HAVING COUNT(*) > 1"
)


_COLUMNS = "id, session_id, source_id, line, stable_id, group_id, kind, role, text, raw"


def find(conn: sqlite3.Connection) -> tuple[RowCopies, ...]:
    """Every set of copies within a session, with the row kept and why."""
    agents, paths = _names(conn)
    out: list[RowCopies] = []
    for (members,) in conn.execute(_GROUPS).fetchall():
        rows = _rows(conn, [int(i) for i in str(members).split(",")])
        out += _copies(rows, agents, paths)
    return tuple(sorted(out, key=lambda c: c.keep))


def orphaned(conn: sqlite3.Connection, orphans: list[int]) -> tuple[RowCopies, ...]:
    """Which of `orphans` (ids of rows whose session row does not exist) are copies of a row of
    a session that does: see `_orphaned`."""
    if not orphans:
        return ()
    agents, paths = _names(conn)
    return tuple(sorted(_orphaned(conn, orphans, agents, paths), key=lambda c: c.keep))


def _names(conn: sqlite3.Connection) -> tuple[dict[int, str], dict[int, str]]:
    """Each session's agent and each source's path, by id."""
    return dict(conn.execute("SELECT id, agent FROM session")), dict(
        conn.execute("SELECT id, path FROM source")
    )


def _rows(conn: sqlite3.Connection, ids: list[int]) -> list[Any]:
    """The rows of `ids`, in id order (read by primary key, in bounded chunks)."""
    out: list[Any] = []
    for at in range(0, len(ids), 500):
        chunk = ids[at : at + 500]
        out += conn.execute(
            f"SELECT {_COLUMNS} FROM message WHERE id IN ({','.join('?' * len(chunk))})", chunk
        ).fetchall()
    return sorted(out, key=lambda r: int(r[0]))


def _orphaned(
    conn: sqlite3.Connection, ids: list[int], agents: dict[int, str], paths: dict[int, str]
) -> Iterator[RowCopies]:
    """Copies whose session row does not exist, of a row of a session that does (same log line,
    raw record and block): re-reading their log would bring them back under that session as a
    second copy, so they are deleted like any other copy. Orphans the record names are left to
    the orphan repair."""
    orphans = [
        row
        for chunk in range(0, len(ids), 500)
        for row in conn.execute(
            "SELECT id, source_id, line, length(raw) FROM message WHERE raw IS NOT NULL AND "
            f"source_id IS NOT NULL AND id IN ({','.join('?' * len(ids[chunk : chunk + 500]))})",
            ids[chunk : chunk + 500],
        )
    ]
    if not orphans:
        return
    by_key: dict[tuple[Any, ...], list[int]] = {}
    for mid, src, line, size in orphans:
        by_key.setdefault((src, line, size), []).append(int(mid))
    sources = sorted({o[1] for o in orphans})
    originals = conn.execute(
        "SELECT id, source_id, line, length(raw) FROM message NOT INDEXED "
        f"WHERE source_id IN ({','.join('?' * len(sources))}) "
        "AND session_id IN (SELECT id FROM session) ORDER BY id",
        sources,
    ).fetchall()
    for mid, src, line, size in originals:
        candidates = by_key.get((src, line, size))
        if not candidates:
            continue
        original, others = _rows(conn, [int(mid)])[0], _rows(conn, candidates)
        agent = agents.get(original[1])
        copied = tuple(
            int(r[0])
            for r in others
            if r[6:] == original[6:] and not _named(r, agent, paths.get(r[2]))
        )
        if copied:
            by_key[(src, line, size)] = [c for c in candidates if c not in copied]
            yield RowCopies(
                int(original[1]),
                int(original[0]),
                copied,
                "the row the log line names (the copy's session row is gone)",
            )


def _copies(rows: list[Any], agents: dict[int, str], paths: dict[int, str]) -> Iterator[RowCopies]:
    same: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:  # same raw record, same block
        same.setdefault((row[9], row[6], row[7], row[8]), []).append(row)
    for group in same.values():
        if len(group) < 2:
            continue
        named = [r for r in group if _named(r, agents.get(r[1]), paths.get(r[2]))]
        unnamed = [r for r in group if r not in named]
        if not unnamed:
            continue  # every row is one the record names: a block group, or distinct blocks
        keep = named[0] if named else unnamed[0]
        delete = tuple(r[0] for r in unnamed if r is not keep)
        if not delete:
            continue
        why = (
            "the row the log line names"
            if named
            else "the earliest stored row (the record names none of them)"
        )
        yield RowCopies(int(keep[1]), int(keep[0]), delete, why)


def _named(row: Any, agent: str | None, path: str | None) -> bool:
    """The raw record names this row: re-parsing it yields its stable id, or that id is a block
    id of its native id."""
    _id, _sid, _src, line, stable, group, *_rest, raw = row
    if group is not None and block_index(str(group), str(stable)) is not None:
        return True
    parse = PARSERS.get(agent or "")
    if parse is None:
        return False
    try:
        found = parse([(int(line or 1), decompress(raw))], ParseState(path or ""))
        return any(isinstance(r, MessageRecord) and r.stable_id == stable for r in found)
    except Exception:  # a record that cannot be read or parsed again names nothing
        return False
