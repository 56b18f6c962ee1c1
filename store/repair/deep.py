"""`convo check --deep`: what the default check leaves out because it costs a read of every byte.

`PRAGMA integrity_check` compares every index with its table and walks every page, and then
every message's raw record is decompressed, so a record damaged inside a well-formed page (bytes
overwritten in place, the last overflow page of a long record zeroed: SQLite's own checks pass
both) is found. The records are read by id in batches of bounded size, so memory does not grow
with the store, and progress is reported per batch.

What it finds is a `DeepReport`, kept apart from `Findings`: `store.repair.checks` merges its
problems and notes into the report, and `extend` adds its steps to the planner's plan:

* `raw_unreadable` (a problem): records whose log file is still there; the plan re-reads those
  files from the start (the `reread` step), which writes the records again from the log.
* `raw_lost` (a note): records of a kept session whose log is gone (or of a row the rewritten log
  no longer has): nothing can bring them back; each is named, (session, seq), so the user knows
  exactly which messages cannot be exported as they were logged.
* integrity errors that the default check did not see: the store is planned for a rebuild, the
  way a damaged page is.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store.append import readable
from store.db import reading
from store.ingest.parsers.registry import PARSERS
from store.records import MessageRecord, ParseState
from store.repair.checker import Cancelled
from store.repair.findings import Problem
from store.repair.plans import Plan, Step, many

BATCH = 500
"""Raw records read per statement: memory is bounded by this many records, whatever the store."""
SHOWN = 10
"""(session, seq) pairs a one-line detail lists before it says how many more."""
LINES = 100
"""Errors `integrity_check` reports at most (it stops after so many)."""

ProgressFn = Callable[[str, int, int], None]
"""(what, done, total): the same shape as the other checks' progress."""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A message whose raw record is damaged: it does not decompress, or no longer gives the
    row's text."""

    id: int
    session_id: int
    seq: int
    source_id: int | None
    source_path: str | None
    recoverable: bool
    """Its log file is there and still holds it (the row is not stale): a re-read writes it
    again."""

    @property
    def name(self) -> str:
        return f"session {self.session_id} #{self.seq}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "session": self.session_id,
            "seq": self.seq,
            "log": self.source_path,
            "recoverable": self.recoverable,
        }


@dataclass(frozen=True)
class DeepReport:
    """What `--deep` found beyond the default check."""

    integrity: tuple[str, ...] = ()
    """`integrity_check`'s errors (empty: ok)."""
    unreadable: tuple[Unreadable, ...] = ()
    records: int = 0
    """Raw records decompressed."""

    @property
    def recoverable(self) -> tuple[Unreadable, ...]:
        return tuple(u for u in self.unreadable if u.recoverable)

    @property
    def lost(self) -> tuple[Unreadable, ...]:
        return tuple(u for u in self.unreadable if not u.recoverable)

    def problems(self) -> list[Problem]:
        rows = self.recoverable
        if not rows:
            return []
        return [
            Problem(
                "raw_unreadable",
                len(rows),
                _sessions(rows),
                f"stored log records damaged in place (they do not decompress or no longer give "
                f"their text): {names(rows)}; "
                "`convo repair --deep` re-reads them from their logs",
            )
        ]

    def notes(self) -> list[Problem]:
        rows = self.lost
        if not rows:
            return []
        return [
            Problem(
                "raw_lost",
                len(rows),
                _sessions(rows),
                f"stored log records damaged in place that cannot be recovered (their log "
                f"is gone or no longer holds them): {names(rows)}",
            )
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "integrity": list(self.integrity),
            "records": self.records,
            "unreadable": [u.to_json() for u in self.unreadable],
        }


def names(rows: Sequence[Unreadable], shown: int = SHOWN) -> str:
    """`session 3 #4, session 3 #9 ... (+7)`."""
    text = ", ".join(u.name for u in rows[:shown])
    return text + (f" ... (+{len(rows) - shown})" if len(rows) > shown else "")


def _sessions(rows: Sequence[Unreadable]) -> tuple[int, ...]:
    return tuple(sorted({u.session_id for u in rows}))


def run(
    conn: sqlite3.Connection,
    *,
    progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
    integrity: bool = True,
    batch: int = BATCH,
) -> DeepReport:
    """`integrity_check` (on a connection of its own, on another thread: SQLite lets go of the
    GIL meanwhile) while every raw record is decompressed on `conn`. Read only.

    Raises:
        Cancelled: `should_stop` returned True (polled between batches).
        sqlite3.DatabaseError: a page cannot be read and `integrity_check` found nothing.
    """
    tell = progress or (lambda _what, _done, _total: None)
    walk = _Integrity() if integrity else None
    if walk is not None:
        tell("integrity", 0, 1)
        walk.start()
    try:
        bad, done = _records(conn, tell, should_stop or (lambda: False), batch)
    except sqlite3.DatabaseError:
        if walk is None or not walk.result():
            raise
        return DeepReport(walk.result())  # the file is damaged: a rebuild
    except BaseException:
        if walk is not None:
            walk.interrupt()
            walk.join()
        raise
    errors = walk.result() if walk is not None else ()
    if errors:
        return DeepReport(errors)
    return DeepReport((), _describe(conn, bad), done)


class _Integrity(threading.Thread):
    """`PRAGMA integrity_check` on this thread's own read connection."""

    def __init__(self) -> None:
        super().__init__(name="convo-check-integrity", daemon=True)
        self._errors: tuple[str, ...] = ()
        self._failure: BaseException | None = None
        self._conn: sqlite3.Connection | None = None

    def run(self) -> None:
        try:
            with reading() as conn:
                self._conn = conn
                rows = [str(r[0]) for r in conn.execute(f"PRAGMA integrity_check({LINES})")]
            if rows != ["ok"]:
                self._errors = tuple(ln for r in rows for ln in r.splitlines() if ln[:3] != "***")
        except BaseException as err:  # handed to the caller's thread by `result`
            self._failure = err
        finally:
            self._conn = None

    def interrupt(self) -> None:
        conn = self._conn
        if conn is not None:
            try:
                conn.interrupt()
            except sqlite3.Error:  # it finished meanwhile
                return

    def result(self) -> tuple[str, ...]:
        self.join()
        if isinstance(self._failure, sqlite3.DatabaseError):
            return (" ".join(str(self._failure).split()),)
        if self._failure is not None:
            raise self._failure
        return self._errors


def _records(
    conn: sqlite3.Connection, tell: ProgressFn, stop: Callable[[], bool], batch: int
) -> tuple[list[int], int]:
    """(ids of the records that are damaged, records read), by id in batches. A record is damaged
    when it does not decompress, or when re-parsing it gives its row another text (a record
    damaged inside a well-formed page can still decompress: zstd frames here carry no checksum),
    or no longer names the row at all (some ids are derived from the content)."""
    bad: list[int] = []
    top = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM message").fetchone()[0])
    total = int(conn.execute("SELECT COUNT(*) FROM message NOT INDEXED").fetchone()[0])
    done = after = 0
    while True:
        if stop():
            raise Cancelled("check cancelled")
        tell("raw records", done, total)
        page = conn.execute(
            "SELECT m.id, m.raw, m.stable_id, m.text, m.line, src.agent, src.path FROM message "
            "AS m LEFT JOIN source AS src ON src.id = m.source_id "
            "WHERE m.id > ? AND m.id <= ? ORDER BY m.id LIMIT ?",
            (after, top, batch),
        ).fetchall()
        bad += [int(row[0]) for row in page if row[1] and _damaged(row)]
        done += len(page)
        if len(page) < batch:
            break
        after = page[-1][0]
    tell("raw records", done, total)
    return bad, done


REPARSED = ("claude", "codex")
"""Formats whose one line re-parses on its own into exactly the rows it gave (Gemini and
opencode records are whole documents or messages split into blocks: decompression only)."""


def _damaged(row: Any) -> bool:
    _id, blob, stable, text, line, agent, path = row
    raw = readable(blob)
    if raw is None:
        return True
    if agent not in REPARSED:
        return False
    try:
        found = [
            r
            for r in PARSERS[agent]([(int(line or 1), raw)], ParseState(str(path or "")))
            if isinstance(r, MessageRecord)
        ]
    except Exception:  # parsers do not raise; if one does, this check cannot tell
        return False
    again = next((r for r in found if r.stable_id == stable), None)
    if again is None:  # ids of these formats come from the record (some from its content)
        return bool(found)
    return again.text != (text or "")


def _describe(conn: sqlite3.Connection, ids: Sequence[int]) -> tuple[Unreadable, ...]:
    out = []
    for mid in ids:
        row = conn.execute(
            "SELECT m.id, m.session_id, m.seq, m.source_id, src.path, m.stale, src.gone_since "
            "FROM message AS m LEFT JOIN source AS src ON src.id = m.source_id WHERE m.id = ?",
            (mid,),
        ).fetchone()
        if row is None:
            continue
        path = row[4]
        there = path is not None and not row[5] and Path(path).is_file()
        out.append(Unreadable(int(row[0]), int(row[1]), int(row[2]), row[3], path, there))
    return tuple(sorted(out, key=lambda u: (u.session_id, u.seq, u.id)))


def extend(plan: Plan, deep: DeepReport | None) -> Plan:
    """`plan` with the steps `deep` needs, after every other fix: the logs of recoverable records
    re-read, then (as the planner does after any re-read) the sessions of those files renumbered
    and recounted. A plan that rebuilds the store needs nothing more."""
    if deep is None or plan.rebuild or not deep.recoverable:
        return plan
    rows = deep.recoverable
    sources = sorted({u.source_id for u in rows if u.source_id is not None})
    files = tuple(sorted({u.source_path for u in rows if u.source_path}))
    sessions = _sessions(rows)
    steps = (
        Step(
            "reread",
            ("raw_unreadable",),
            f"re-read {many(len(files), 'log file')} from the start to write "
            f"{many(len(rows), 'damaged record')} again ({names(rows)})",
            {"sources": sources, "orphans": []},
            sessions=sessions,
            files=files,
        ),
        Step(
            "renumber",
            (),
            f"renumber the sessions of {many(len(sources), 're-read file')}: seq = "
            "ROW_NUMBER() OVER (PARTITION BY session ORDER BY id), in batches",
            {"sessions": [], "sources": sources},
        ),
        Step(
            "recount",
            (),
            "recount the stored message count of the sessions touched",
            {"sessions": [], "sources": sources},
        ),
    )
    return Plan((*plan.steps, *steps))
