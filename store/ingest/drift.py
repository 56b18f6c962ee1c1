"""Drift between the store and the log files on disk: new, changed, short and gone files.

Only file metadata is read (stat, and a sniff of files the store has never seen), so the check
stays cheap with thousands of logs. Also: whether a stored copy of a record equals its line in the
log, which decides which copy of a duplicated message is kept.
"""

from __future__ import annotations

import os
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from store.append import decompress
from store.ingest import opencode_db, opencode_tree
from store.ingest.locate import (
    OPENCODE_DB,
    OPENCODE_TREE,
    SKIP_NAMES,
    default_roots,
    discover,
    source_kind,
)
from store.ingest.reading import sniff_agent
from store.records import Copy, LogDrift


@dataclass(frozen=True, slots=True)
class SourceRow:
    id: int
    path: str
    size: int
    mtime_ns: int
    gone_since: int | None
    ingested: int
    """Rows this file added to the store (`lines_ok + lines_unknown`)."""


def sources(conn: sqlite3.Connection) -> list[SourceRow]:
    rows = conn.execute(
        "SELECT id, path, size, mtime_ns, gone_since, lines_ok + lines_unknown "
        "FROM source ORDER BY id"
    ).fetchall()
    return [SourceRow(*r) for r in rows]


def sessions_of(conn: sqlite3.Connection, source_ids: Iterable[int]) -> dict[int, tuple[int, ...]]:
    """Session ids per source id (the session row's own source: the file that started it)."""
    wanted = sorted(set(source_ids))
    out: dict[int, list[int]] = defaultdict(list)
    for chunk in _chunks(wanted, 500):
        marks = ",".join("?" * len(chunk))
        for source_id, session_id in conn.execute(
            f"SELECT source_id, id FROM session WHERE source_id IN ({marks})", chunk
        ):
            out[source_id].append(session_id)
    return {k: tuple(v) for k, v in out.items()}


def _chunks(values: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def file_drift(
    conn: sqlite3.Connection, known: list[SourceRow], roots: Iterable[Path] | None = None
) -> tuple[list[LogDrift], list[LogDrift]]:
    """Log files out of step with the store, and gone files that are already marked.

    Args:
        known: the store's source rows.
        roots: folders to look for new logs in (walked); default: the agents' default folders.
            The folders of known sources are listed too (not walked), so a new log next to ones
            that were ingested is found.
    """
    drift: list[LogDrift] = []
    marked: list[LogDrift] = []
    for src in known:
        try:
            now = stamp(Path(src.path))
        except OSError:
            entry = LogDrift(src.path, "gone", src.id)
            (marked if src.gone_since is not None else drift).append(entry)
            continue
        if now != (src.size, src.mtime_ns) or src.gone_since:
            drift.append(LogDrift(src.path, "changed", src.id))
    seen = {s.path for s in known}
    for candidate in _candidates(known, roots):
        if str(candidate) not in seen and _is_log(candidate):
            drift.append(LogDrift(str(candidate), "new"))
        seen.add(str(candidate))  # a file under a root may sit next to a known one too
    by_source = sessions_of(conn, [d.source_id for d in drift + marked if d.source_id])
    attach = _with_sessions(by_source)
    return [attach(d) for d in drift], [attach(d) for d in marked]


def stamp(path: Path) -> tuple[int, int]:
    """(size, mtime ns) of a source as its row records them once it is read: a log file's own;
    the sums of an opencode database and its `-wal`; the file count and newest file of an
    opencode JSON tree. Comparing a tree's or a database's own stat instead would call every one
    of them changed, on every check.

    Raises:
        OSError: the source is gone or cannot be read.
    """
    kind = source_kind(path)
    if kind == OPENCODE_TREE:
        return opencode_tree.stamp(path)
    if kind == OPENCODE_DB:
        size, mtime, _ino = opencode_db.fingerprint(path)
        return size, mtime
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _with_sessions(by_source: dict[int, tuple[int, ...]]) -> Callable[[LogDrift], LogDrift]:
    def attach(d: LogDrift) -> LogDrift:
        if d.source_id is None:
            return d
        return LogDrift(
            d.path, d.reason, d.source_id, by_source.get(d.source_id, ()), d.expected, d.actual
        )

    return attach


def _candidates(known: list[SourceRow], roots: Iterable[Path] | None) -> Iterator[Path]:
    yield from discover(list(roots) if roots is not None else default_roots())
    folders = sorted({os.path.dirname(s.path) for s in known})
    for folder in folders:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            if name.endswith(".jsonl") and name not in SKIP_NAMES:
                yield Path(folder) / name


def _is_log(path: Path) -> bool:
    """A file an agent wrote (sniffed from its first lines), not some other JSONL file."""
    try:
        with path.open("rb") as fh:
            return sniff_agent(fh) is not None
    except OSError:
        return False


def short_sources(conn: sqlite3.Connection, known: list[SourceRow]) -> list[LogDrift]:
    """Files on disk whose ingested rows are not all in the store (a table scan)."""
    have = dict(
        conn.execute(
            "SELECT source_id, COUNT(*) FROM message NOT INDEXED "
            "WHERE source_id IS NOT NULL GROUP BY source_id"
        ).fetchall()
    )
    short = [s for s in known if have.get(s.id, 0) < s.ingested and os.path.isfile(s.path)]
    sessions = sessions_of(conn, [s.id for s in short])
    return [
        LogDrift(s.path, "short", s.id, sessions.get(s.id, ()), s.ingested, have.get(s.id, 0))
        for s in short
    ]


# ------------------------------------------------------------------------------------------
# Comparing stored records with their lines


def read_lines(path: str, wanted: set[int]) -> dict[int, bytes]:
    """The given 1-based lines of a file (without their newline); missing ones are left out."""
    found: dict[int, bytes] = {}
    if not wanted:
        return found
    last = max(wanted)
    try:
        with open(path, "rb") as fh:
            for number, line in enumerate(fh, 1):
                if number in wanted:
                    found[number] = line.rstrip(b"\n")
                if number >= last:
                    break
    except OSError:
        return {}
    return found


def matches(raw: bytes | None, line: bytes | None) -> bool | None:
    """Whether a stored (compressed) raw record equals a log line; None when either is unknown."""
    if raw is None or line is None:
        return None
    try:
        return decompress(raw) == line
    except Exception:  # an unreadable blob is simply not a match
        return False


def copies(conn: sqlite3.Connection, ids: list[int]) -> dict[int, Copy]:
    """The stored copies of duplicated messages, each compared with its line in the log."""
    paths = {s.id: s.path for s in sources(conn)}
    rows = []
    for chunk in _chunks(ids, 500):
        marks = ",".join("?" * len(chunk))
        rows += conn.execute(
            f"SELECT id, seq, source_id, line, raw FROM message WHERE id IN ({marks})", chunk
        ).fetchall()
    wanted: dict[str, set[int]] = {}
    for _id, _seq, src, line, _raw in rows:
        if src in paths and line:
            wanted.setdefault(paths[src], set()).add(line)
    lines = {path: read_lines(path, want) for path, want in wanted.items()}
    out = {}
    for mid, seq, src, line, raw in rows:
        path = paths.get(src)
        text = lines.get(path, {}).get(line) if path and line else None
        out[mid] = Copy(mid, seq, path, line, matches(raw, text))
    return out
