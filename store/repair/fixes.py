"""The repair steps the job runner executes, one bounded batch at a time (renumbering and
recounting are in `store.repair.renumber`).

Rows are deleted by primary key only (rule 3). Every deletion of a message also takes it off its
log file's tally (`lines_ok`/`lines_unknown`: the rows that file added), and every re-insertion
puts it back, so the check's "rows missing from the store" test stays exact. A fix that fails for
one row is undone by its savepoint, recorded, and the batch goes on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from peewee import PeeweeException

from store import funnel, logs, textindex
from store.db import connection
from store.ingest.driver import Ingester
from store.models import db
from store.records import HIDDEN_KINDS
from store.repair.job_types import Batch, JobCtx

log = logs.get("fixes")

RowError = (sqlite3.Error, PeeweeException)
"""What a single row's fix may raise; anything else is a bug and fails the batch."""
REFERENCES = {
    ("session", "parent_id"),
    ("session", "resumed_from_id"),
    ("session", "source_id"),
    ("message", "source_id"),
}
"""Nullable references `clear_refs` may clear."""
RECOVERED_TITLE = "Recovered messages (their session row was lost)"
VISIBLE = (
    "hidden = 0 AND stale = 0 AND kind NOT IN ("
    + ", ".join(f"'{k}'" for k in sorted(HIDDEN_KINDS))
    + ")"
)
"""The rows `session.message_count` counts (as `store.append.recount` does)."""


def marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


def chunks(values: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def forget(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Delete messages by id (their parts cascade and their index entries go first), taking them
    off their files' tallies."""
    for chunk in chunks(list(ids)):
        textindex.removing(conn, chunk)
        conn.execute(
            "UPDATE source SET lines_ok = MAX(0, lines_ok - c.ok), "
            "lines_unknown = MAX(0, lines_unknown - c.unknown) FROM "
            "(SELECT source_id, SUM(kind <> 'unknown') AS ok, SUM(kind = 'unknown') AS unknown "
            f"FROM message WHERE id IN ({marks(chunk)}) AND source_id IS NOT NULL "
            "GROUP BY source_id) AS c WHERE source.id = c.source_id",
            chunk,
        )
        conn.execute(f"DELETE FROM message WHERE id IN ({marks(chunk)})", chunk)


def recount_tally(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Put re-inserted messages back on their files' tallies."""
    for chunk in chunks(list(ids)):
        conn.execute(
            "UPDATE source SET lines_ok = lines_ok + c.ok, lines_unknown = lines_unknown + "
            "c.unknown FROM (SELECT source_id, SUM(kind <> 'unknown') AS ok, "
            f"SUM(kind = 'unknown') AS unknown FROM message WHERE id IN ({marks(chunk)}) "
            "AND source_id IS NOT NULL GROUP BY source_id) AS c WHERE source.id = c.source_id",
            chunk,
        )


def retally(conn: sqlite3.Connection, sources: Sequence[int]) -> None:
    """Set files' tallies from the rows they have in the store (after a re-read), in one scan."""
    ids = list(sources)
    if not ids:
        return
    conn.execute(
        f"UPDATE source SET lines_ok = 0, lines_unknown = 0 WHERE id IN ({marks(ids)})", ids
    )
    conn.execute(
        "UPDATE source SET lines_ok = c.ok, lines_unknown = c.unknown FROM (SELECT source_id, "
        "SUM(kind <> 'unknown') AS ok, SUM(kind = 'unknown') AS unknown FROM message NOT INDEXED "
        f"WHERE source_id IN ({marks(ids)}) GROUP BY source_id) AS c "
        "WHERE source.id = c.source_id",
        ids,
    )


def ensure_recovered_session(
    conn: sqlite3.Connection, session_id: int, source_id: int | None
) -> None:
    """Re-create a lost session row under its old id, so its messages are kept and shown."""
    conn.execute(
        "INSERT INTO session (id, agent, native_id, source_id, title, updated_at, message_count) "
        "VALUES (?1, COALESCE((SELECT agent FROM source WHERE id = ?2), 'unknown'), "
        "'recovered-' || ?1, (SELECT id FROM source WHERE id = ?2), ?3, "
        "COALESCE((SELECT MAX(timestamp) FROM message WHERE session_id = ?1), 0), 0) "
        "ON CONFLICT DO NOTHING",
        (session_id, source_id, RECOVERED_TITLE),
    )


class BaseStep:
    """A step done in one batch; subclasses override what they need."""

    transactional = True

    def start(self, job: JobCtx) -> tuple[int, int]:
        return 1, 0

    def prepare(self, job: JobCtx, limit: int) -> None:
        return None

    def batch(self, job: JobCtx, limit: int) -> Batch:
        self.once(connection(), job.params)
        return Batch(1, 1, finished=True)

    def once(self, conn: sqlite3.Connection, params: dict[str, Any]) -> None:
        raise NotImplementedError


# ------------------------------------------------------------------------------------------
# Indexes


class Reindex(BaseStep):
    def once(self, conn: sqlite3.Connection, params: dict[str, Any]) -> None:
        conn.execute(f'REINDEX "{params["index"]}"')


class DropIndex(BaseStep):
    """Drop an index that cannot be rebuilt yet, and keep its non-unique stand-in meanwhile."""

    def once(self, conn: sqlite3.Connection, params: dict[str, Any]) -> None:
        conn.execute(f'DROP INDEX IF EXISTS "{params["index"]}"')
        if params.get("standin"):
            conn.execute(_create_sql(params["standin"], if_not_exists=True))


class CreateIndex(BaseStep):
    """Drop what stands in its way, create the declared index; all or nothing."""

    def once(self, conn: sqlite3.Connection, params: dict[str, Any]) -> None:
        for name in params.get("drop", []):
            conn.execute(f'DROP INDEX IF EXISTS "{name}"')
        conn.execute(_create_sql(params["spec"], if_not_exists=False))


class VerifyFailed(Exception):
    """`PRAGMA integrity_check` still finds a problem after the steps that should have fixed it."""


class Verify(BaseStep):
    """`PRAGMA integrity_check` of the tables whose unique indexes were rebuilt: the check that
    compares every index entry with its row (the default check only fingerprints them). What it
    still finds fails the job, with the first problems as its reason."""

    transactional = False

    def batch(self, job: JobCtx, limit: int) -> Batch:
        conn = connection()
        found: list[str] = []
        for table in job.params["tables"]:
            rows = conn.execute(f'PRAGMA integrity_check("{table}")').fetchall()
            found += [str(r[0]) for r in rows if r[0] != "ok"]
        if found:
            more = f" (+{len(found) - 3} more)" if len(found) > 3 else ""
            raise VerifyFailed("integrity check after repair: " + "; ".join(found[:3]) + more)
        return Batch(1, 1, finished=True)


def _create_sql(spec: dict[str, Any], *, if_not_exists: bool) -> str:
    kind = "UNIQUE INDEX" if spec["unique"] else "INDEX"
    guard = " IF NOT EXISTS" if if_not_exists else ""
    cols = ", ".join(f'"{c}"' for c in spec["columns"])
    return f'CREATE {kind}{guard} "{spec["name"]}" ON "{spec["table"]}" ({cols})'


# ------------------------------------------------------------------------------------------
# Rows


class Dedupe(BaseStep):
    """Groups [place, keep, [delete...]], walked by `place` (the earliest copy's id)."""

    def start(self, job: JobCtx) -> tuple[int, int]:
        groups = job.params["groups"]
        return len(groups), max((g[0] for g in groups), default=0)

    def batch(self, job: JobCtx, limit: int) -> Batch:
        todo = [g for g in job.params["groups"] if g[0] > job.cursor]
        now, rest = todo[: max(1, limit // 4)], todo[max(1, limit // 4) :]
        conn = connection()
        unfixed = []
        for place, keep, delete in now:
            try:
                with db.atomic():
                    self._one(conn, place, keep, delete)
            except RowError as err:
                unfixed.append(f"message #{place}: {err}")
        return Batch(len(now), now[-1][0] if now else job.cursor, not rest, unfixed)

    @staticmethod
    def _one(conn: sqlite3.Connection, place: int, keep: int, delete: list[int]) -> None:
        if keep != place:
            # The kept content moves into the earliest copy's id and seq: same place, log's copy.
            row = conn.execute("SELECT seq FROM message WHERE id = ?", (place,)).fetchone()
            if row is not None:
                forget(conn, [place])
                conn.execute("UPDATE part SET message_id = ? WHERE message_id = ?", (place, keep))
                conn.execute(
                    "UPDATE message SET id = ?, seq = ? WHERE id = ?", (place, row[0], keep)
                )
        forget(conn, [i for i in delete if i != place])


class DeleteParts(BaseStep):
    def start(self, job: JobCtx) -> tuple[int, int]:
        return len(job.params["ids"]), max(job.params["ids"], default=0)

    def batch(self, job: JobCtx, limit: int) -> Batch:
        todo = [i for i in job.params["ids"] if i > job.cursor]
        now = todo[:limit]
        if now:
            connection().execute(f"DELETE FROM part WHERE id IN ({marks(now)})", now)
        return Batch(len(now), now[-1] if now else job.cursor, len(todo) <= limit)


class ClearRefs(BaseStep):
    """Clear every dangling reference of a row in one statement: SQLite checks a self-reference
    (`session.parent_id`) on any UPDATE of its row, so clearing `source_id` alone while
    `parent_id` still dangles is rejected, and would be on every run."""

    def once(self, conn: sqlite3.Connection, params: dict[str, Any]) -> None:
        rows: dict[tuple[str, int], list[str]] = {}
        for table, row_id, column in params["refs"]:
            if (table, column) not in REFERENCES:
                raise ValueError(f"not a clearable reference: {table}.{column}")
            columns = rows.setdefault((table, int(row_id)), [])
            if column not in columns:
                columns.append(column)
        for (table, row_id), columns in rows.items():
            sets = ", ".join(f'"{c}" = NULL' for c in columns)
            conn.execute(f'UPDATE "{table}" SET {sets} WHERE id = ?', (row_id,))


class Adopt(BaseStep):
    """Messages whose session and log are both gone are kept under a recovered session."""

    def once(self, conn: sqlite3.Connection, params: dict[str, Any]) -> None:
        for session_id, source_id in params["sessions"]:
            ensure_recovered_session(conn, session_id, source_id)


class MarkGone(BaseStep):
    def once(self, conn: sqlite3.Connection, params: dict[str, Any]) -> None:
        ids = list(params["sources"])
        conn.execute(
            f"UPDATE source SET gone_since = ? WHERE id IN ({marks(ids)}) AND gone_since IS NULL",
            [funnel.now_ms(), *ids],
        )


# ------------------------------------------------------------------------------------------
# Log files


class Ingest(BaseStep):
    """Ingest new or changed files, one per batch (ingest commits its own chunks)."""

    transactional = False

    def start(self, job: JobCtx) -> tuple[int, int]:
        return len(job.params["paths"]), 0

    def batch(self, job: JobCtx, limit: int) -> Batch:
        paths = job.params["paths"]
        report = Ingester().run([Path(paths[job.cursor])])
        return Batch(1, job.cursor + 1, job.cursor + 1 >= len(paths), list(report.errors))
