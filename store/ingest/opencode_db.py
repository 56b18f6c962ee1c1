"""Reading opencode: its SQLite database and its legacy JSON tree, incrementally, into the store.

Both are one source each (a database file; a `storage/` folder) and both feed the ingest driver's
writer (`store.ingest.writing.FileWriter`) with records from `store.ingest.parsers.opencode`, keyed
by opencode's own message ids, so a session present in both generations is one session with one
copy of each message. The database's records win: they are `replace` records, while the JSON
tree's are stored only where the database has nothing, once a database sits next to the tree
(after the upgrade the tree is a stale leftover, FORMATS.md §3).

The database is opencode's, written while we read: it is opened read-only (`mode=ro`) with a
short busy timeout, never written. A WAL database nobody has open (no `-wal`, no `-shm`) is opened
`immutable`, because a read-only open would create those files in opencode's folder. If the
read-only open fails (a writer holds an exclusive lock, or the sidecar files cannot be made in a
read-only folder), it is opened `immutable` when no journal exists, else a temporary copy of it
(with its `-wal` or `-journal`) is read. If even that fails the pass is skipped with a one-line
reason and tried again next time. Each pass reads the rows changed
since the last one: `time_updated` at or after the newest value seen before, minus a slack for
rows committed late (re-reading a row that did not change costs a comparison, not a write).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import orjson

from store import funnel, logs
from store.ingest.parsers import opencode
from store.ingest.parsers.common import scrub
from store.ingest.writing import FileWriter, IngestReport
from store.models import Source
from store.records import BadLine, Record

log = logs.get("opencode")

BUSY_TIMEOUT_S = 2.0
"""How long a read waits for opencode's lock before falling back (never long: it is live)."""
SLACK_MS = 10_000
"""Rows updated this long before the newest one seen are read again next pass."""
BATCH = 200
"""Messages loaded (with their parts) and stored per transaction."""
NO_LOWER_BOUND = -(1 << 62)


class Driver(Protocol):
    """What the readers of opencode need from the ingest driver that calls them."""

    report: IngestReport

    def source_row(
        self, path: Path, agent: str, known: Source | None, rewritten: bool
    ) -> Source | None: ...

    def write_records(
        self,
        writer: FileWriter,
        records: list[Record],
        end: tuple[int, int, str],
        *,
        final: bool = True,
    ) -> bool: ...


class Unavailable(Exception):
    """The database cannot be read now (locked, unreadable); the pass is retried later."""


# ------------------------------------------------------------------------------------------
# The database


def ingest_db(ing: Driver, path: Path, known: Source | None) -> None:
    """Read what changed in an opencode database since the last pass."""
    size, mtime, ino = fingerprint(path)
    if unchanged(ing, known, size, mtime):
        return
    try:
        with open_readonly(path) as (conn, how):
            started = begin(ing, path, known, ino)
            if started is None:
                return
            source, writer, state = started
            complete = _read_db(ing, conn, source, writer, state, how)
    except (Unavailable, sqlite3.Error) as err:
        # One line, and no change to the source: the next pass tries again.
        ing.report.files_skipped["db-busy"] += 1
        ing.report.errors.append(f"{path}: opencode database not readable now ({err}); will retry")
        log.warning("opencode database %s skipped: %s", path, err)
        return
    finish(source, size, mtime, complete)


def fingerprint(path: Path) -> tuple[int, int, int]:
    """(bytes, newest mtime, inode) of a database and its `-wal`: writes change one of them.

    The source row records the first two as its size and mtime; the drift check compares them
    with the same sums (`store.ingest.drift.stamp`)."""
    st = path.stat()
    size, mtime = st.st_size, st.st_mtime_ns
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        wst = wal.stat()
        size, mtime = size + wst.st_size, max(mtime, wst.st_mtime_ns)
    return size, mtime, st.st_ino


def unchanged(ing: Driver, known: Source | None, size: int, mtime: int) -> bool:
    if (
        known is not None
        and known.gone_since is None
        and (known.size, known.mtime_ns)
        == (
            size,
            mtime,
        )
    ):
        ing.report.files_unchanged += 1
        return True
    return False


def begin(
    ing: Driver, path: Path, known: Source | None, ino: int
) -> tuple[Source, FileWriter, dict[str, Any]] | None:
    """The source row and writer for a pass, and the previous pass's state; None if the source
    row could not be written (the funnel has recorded why)."""
    previous = orjson.loads(known.state or "{}") if known is not None else {}
    # A database replaced by another file (same path, new inode) is read from the start.
    replaced = known is not None and previous.get("ino") not in (None, ino)
    source = ing.source_row(path, opencode.AGENT, known, replaced)
    if source is None:
        return None
    state = orjson.loads(source.state or "{}")
    state["ino"] = ino
    ing.report.files_read += 1
    ing.report.files_rewritten += int(replaced)
    return source, FileWriter(source, opencode.AGENT, ing.report), state


@contextmanager
def open_readonly(path: Path) -> Iterator[tuple[sqlite3.Connection, str]]:
    """A connection that reads `path` without writing to it or waiting long for its lock.

    Yields the connection and how it was opened: `read-only`, `immutable` or `copy`.

    Raises:
        Unavailable: not even a copy could be opened.
    """
    conn, how, scratch = _open(path)
    try:
        yield conn, how
    finally:
        conn.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _open(path: Path) -> tuple[sqlite3.Connection, str, str | None]:
    target = quote(str(path.resolve()))
    if _idle_wal(path):
        # Nobody has it open and everything is checkpointed: a read-only open would create the
        # -wal and -shm files in opencode's folder; `immutable` reads the same and writes none.
        try:
            return _connect(f"file:{target}?mode=ro&immutable=1"), "immutable", None
        except sqlite3.Error:
            pass
    try:
        return _connect(f"file:{target}?mode=ro"), "read-only", None
    except sqlite3.Error as err:
        first = err
    locked = "locked" in str(first) or "busy" in str(first)
    journals = [path.with_name(path.name + s) for s in ("-wal", "-journal")]
    if not locked and not any(j.exists() and j.stat().st_size for j in journals):
        # No journal: nothing uncommitted or un-checkpointed can be missed by ignoring locks.
        try:
            return _connect(f"file:{target}?mode=ro&immutable=1"), "immutable", None
        except sqlite3.Error:
            pass
    scratch = tempfile.mkdtemp(prefix="convo-opencode-")
    try:
        copy = Path(scratch) / path.name
        shutil.copyfile(path, copy)
        for journal in journals:
            if journal.exists():
                # SQLite recovers the copy from these: a -wal is replayed, a hot -journal
                # rolled back, so the copy holds the last committed state.
                shutil.copyfile(journal, copy.with_name(journal.name))
        return _connect(f"file:{quote(str(copy))}"), "copy", scratch
    except (OSError, sqlite3.Error) as err:
        shutil.rmtree(scratch, ignore_errors=True)
        raise Unavailable(f"{first}; reading a copy failed too: {err}") from None


def _idle_wal(path: Path) -> bool:
    """A WAL-mode database (header byte 18 is 2) with no `-wal` or `-shm` file beside it."""
    with path.open("rb") as fh:
        head = fh.read(20)
    sidecars = (path.with_name(path.name + s) for s in ("-wal", "-shm"))
    return len(head) == 20 and head[18] == 2 and not any(p.exists() for p in sidecars)


def _connect(uri: str) -> sqlite3.Connection:
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        conn.close()
        raise
    return conn


MESSAGES_SQL = """
SELECT id, time_created FROM message
WHERE time_updated >= ?1 OR id IN (SELECT message_id FROM part WHERE time_updated >= ?1)
ORDER BY time_created, id
"""
ORPHANS_SQL = """
SELECT id, message_id, data FROM part
WHERE time_updated >= ? AND message_id NOT IN (SELECT id FROM message) ORDER BY id
"""


def _read_db(
    ing: Driver,
    conn: sqlite3.Connection,
    source: Source,
    writer: FileWriter,
    state: dict[str, Any],
    how: str,
) -> bool:
    """Store what changed since the previous pass; True when the pass got to its end."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    mark = state.get("watermark")
    low = mark - SLACK_MS if isinstance(mark, int) else NO_LOWER_BOUND
    sessions: list[dict[str, Any]] = []
    chosen: list[str] = []
    orphans: list[tuple[Any, ...]] = []
    newest = mark if isinstance(mark, int) else None
    # One short read transaction: the selection and the watermark come from one snapshot, so
    # a row committed after it has a later time_updated and is found next pass.
    conn.execute("BEGIN")
    try:
        for table in ("session", "message", "part"):
            if table in tables:
                top = conn.execute(f"SELECT MAX(time_updated) FROM {table}").fetchone()[0]
                if isinstance(top, int) and (newest is None or top > newest):
                    newest = top
        if "session" in tables:
            conn.row_factory = sqlite3.Row
            sessions = _sessions(conn, low)
            conn.row_factory = None
        if "message" in tables and "part" in tables:
            chosen = [r[0] for r in conn.execute(MESSAGES_SQL, (low,))]
            orphans = conn.execute(ORPHANS_SQL, (low,)).fetchall()
        elif "message" in tables:
            chosen = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM message WHERE time_updated >= ? ORDER BY time_created, id",
                    (low,),
                )
            ]
    finally:
        conn.row_factory = None
        conn.execute("COMMIT")
    line = source.lines
    records: list[Record] = []
    for row in sessions:
        line += 1
        records += opencode.session_records(row, line)
    has_parts = "part" in tables
    for start in range(0, len(chosen), BATCH):
        batch = chosen[start : start + BATCH]
        for info, parts in _load(conn, batch, has_parts):
            line += 1
            records += message_rows(info, parts, line, replace=True)
        if not ing.write_records(writer, records, (0, line, "{}"), final=False):
            return False
        records = []
    for part_id, message_id, data in orphans:
        line += 1
        log.warning("opencode part %s skipped: its message %s is missing", part_id, message_id)
        records.append(
            BadLine(
                line,
                "part-without-message",
                f"part {part_id} of message {message_id}: {_head(data)}",
            )
        )
    state.update(watermark=newest, read=how)
    end = (source.offset, line, orjson.dumps(state).decode())
    return ing.write_records(writer, records, end)


def _sessions(conn: sqlite3.Connection, low: int) -> list[dict[str, Any]]:
    try:
        rows = conn.execute(
            "SELECT * FROM session WHERE time_updated >= ? ORDER BY time_created, id", (low,)
        ).fetchall()
    except sqlite3.OperationalError:  # a reduced schema without the time columns
        rows = conn.execute("SELECT * FROM session ORDER BY id").fetchall()
    return [dict(r) for r in rows]


def _load(
    conn: sqlite3.Connection, ids: list[str], has_parts: bool
) -> Iterator[tuple[dict[str, Any] | BadLine, list[dict[str, Any]]]]:
    """The messages `ids` (in that order) in opencode's "with parts" shape."""
    marks = ",".join("?" * len(ids))
    rows = {
        r[0]: r
        for r in conn.execute(
            f"SELECT id, session_id, data FROM message WHERE id IN ({marks})", ids
        )
    }
    parts: dict[str, list[dict[str, Any]]] = {}
    if has_parts:
        for pid, mid, sid, data in conn.execute(
            f"SELECT id, message_id, session_id, data FROM part WHERE message_id IN ({marks}) "
            "ORDER BY message_id, id",
            ids,
        ):
            value = _object(data)
            if value is not None:  # an undecodable part is left out; its message stays
                parts.setdefault(mid, []).append(
                    {**value, "id": pid, "sessionID": sid, "messageID": mid}
                )
    for mid in ids:
        row = rows.get(mid)
        if row is None:
            continue  # deleted since the selection
        value = _object(row[2])
        if value is None:
            yield BadLine(0, "malformed-json", f"message {mid}: {_head(row[2])}"), []
            continue
        # opencode's own hydrate: the row's columns win over whatever the JSON repeats.
        yield {**value, "id": mid, "sessionID": row[1]}, parts.get(mid, [])


def message_rows(
    info: dict[str, Any] | BadLine, parts: list[dict[str, Any]], line: int, *, replace: bool
) -> list[Record]:
    if isinstance(info, BadLine):
        return [BadLine(line, info.reason, info.snippet)]
    try:
        return opencode.message_records(info, parts, line, replace=replace)
    except Exception as exc:  # one odd message must never cost the rest of the database
        return [BadLine(line, f"parse-error: {type(exc).__name__}", str(info.get("id")))]


def _object(data: Any) -> dict[str, Any] | None:
    try:
        value = orjson.loads(data)
    except (orjson.JSONDecodeError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def _head(value: Any, limit: int = 160) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return scrub(text[:limit])


def finish(source: Source, size: int, mtime: int, complete: bool) -> None:
    """Record the fingerprint that lets the next pass skip an unchanged source (if complete)."""

    def work() -> None:
        done = {"size": size, "mtime_ns": mtime, "offset": size} if complete else {}
        Source.update(**done, last_seen=funnel.now_ms(), gone_since=None).where(
            Source.id == source.id
        ).execute()

    funnel.write(work, funnel.Context("source", source_path=source.path))
