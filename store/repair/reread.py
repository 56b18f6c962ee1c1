"""Re-reading log files from the start, in one transaction, losing nothing.

The rows a file added are cleared by primary key and the file is ingested again, so the rows
come back in file order (a message that was lost comes back in its place). What the file no
longer has is put back, marked stale; messages of a session row that was lost come back under
that session if the log re-creates it, else under a recovered session.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from store import logs, textindex
from store.db import connection
from store.ingest.driver import Ingester
from store.repair.fixes import (
    BaseStep,
    chunks,
    ensure_recovered_session,
    forget,
    marks,
    recount_tally,
    retally,
)
from store.repair.job_types import Batch, JobCtx

log = logs.get("reread")


class Reread(BaseStep):
    """Re-read files from the start in one transaction: clear their rows by id, ingest the file
    again, and put back (marked stale) whatever the file no longer has.

    The files read are those given plus every other file feeding the same sessions, in source
    order, so the sessions come back in the order a fresh ingest gives them.
    """

    def start(self, job: JobCtx) -> tuple[int, int]:
        conn = connection()
        feeding, _sessions = closure(conn, job.params["sources"])
        readable = [sid for sid, path in _paths(conn, feeding) if Path(path).is_file()]
        job.params["group"] = sorted(readable)
        return 1, max(readable, default=0)

    def batch(self, job: JobCtx, limit: int) -> Batch:
        conn = connection()
        group = list(job.params.get("group") or [])
        orphans = list(job.params.get("orphans", []))
        stash = _Stash(conn, group, orphans)
        forget(conn, stash.ids)
        conn.execute(
            f"UPDATE source SET offset = 0, lines = 0, state = '{{}}', head_len = 0, "
            f"head_hash = NULL, size = -1 WHERE id IN ({marks(group)})",
            group,
        )
        report = Ingester().run([Path(p) for _, p in _paths(conn, group)])
        kept = stash.restore_missing()
        retally(conn, group)
        if kept:
            log.info("re-read kept %d rows the logs no longer have, marked stale", len(kept))
        return Batch(1, max(group, default=0), True, list(report.errors))


def closure(conn: sqlite3.Connection, given: Sequence[int]) -> tuple[set[int], set[int]]:
    """(files, sessions) a re-read of `given` files touches: their sessions, every other file
    feeding those sessions, and the sessions of those files."""

    def sessions_of(sources: Sequence[int]) -> set[int]:
        return {
            r[0]
            for chunk in chunks(list(sources))
            for r in conn.execute(
                f"SELECT DISTINCT session_id FROM message NOT INDEXED WHERE source_id IN "
                f"({marks(chunk)})",
                chunk,
            )
        }

    feeding = set(given)
    for chunk in chunks(sorted(sessions_of(sorted(feeding)))):
        feeding |= {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT source_id FROM message WHERE source_id IS NOT NULL AND "
                f"session_id IN ({marks(chunk)})",
                chunk,
            )
        }
    return feeding, sessions_of(sorted(feeding))


def _paths(conn: sqlite3.Connection, ids: Iterable[int]) -> list[tuple[int, str]]:
    wanted = sorted(ids)
    rows: list[tuple[int, str]] = []
    for chunk in chunks(wanted):
        rows += conn.execute(
            f"SELECT id, path FROM source WHERE id IN ({marks(chunk)}) ORDER BY id", chunk
        ).fetchall()
    return sorted(rows)


class _Stash:
    """The rows a re-read clears, held in memory until the transaction knows what came back."""

    def __init__(self, conn: sqlite3.Connection, group: list[int], orphans: list[int]) -> None:
        self.conn = conn
        found = (
            [
                r[0]
                for r in conn.execute(
                    f"SELECT id FROM message NOT INDEXED WHERE stale = 0 AND source_id IN "
                    f"({marks(group)})",
                    group,
                )
            ]
            if group
            else []
        )
        self.ids = sorted(set(found) | set(orphans))
        self.rows: list[sqlite3.Row] = []
        self.parts: dict[int, list[tuple[Any, ...]]] = {}
        self.columns: list[str] = []
        for chunk in chunks(self.ids):
            cur = conn.execute(f"SELECT * FROM message WHERE id IN ({marks(chunk)})", chunk)
            self.columns = [d[0] for d in cur.description]
            self.rows += cur.fetchall()
            for part in conn.execute(
                f"SELECT * FROM part WHERE message_id IN ({marks(chunk)})", chunk
            ):
                self.parts.setdefault(part[1], []).append(tuple(part))
        self.group = group

    def restore_missing(self) -> list[int]:
        """Re-insert (stale) the cleared rows that the re-read did not bring back."""
        col = {name: i for i, name in enumerate(self.columns)}
        back = self._stable_ids_of_group()
        restored = []
        for row in self.rows:
            sid, stable = row[col["session_id"]], row[col["stable_id"]]
            alive = self.conn.execute("SELECT 1 FROM session WHERE id = ?", (sid,)).fetchone()
            if (
                alive
                and self.conn.execute(
                    "SELECT 1 FROM message WHERE session_id = ? AND stable_id = ?", (sid, stable)
                ).fetchone()
            ):
                continue
            if not alive:
                if stable in back:
                    continue  # the session came back under a new row, with this message
                ensure_recovered_session(self.conn, sid, row[col["source_id"]])
            restored.append(self._reinsert(row, col))
        recount_tally(self.conn, restored)
        return restored

    def _stable_ids_of_group(self) -> set[str]:
        if not self.group:
            return set()
        return {
            r[0]
            for r in self.conn.execute(
                f"SELECT stable_id FROM message NOT INDEXED WHERE source_id IN "
                f"({marks(self.group)})",
                self.group,
            )
        }

    def _reinsert(self, row: sqlite3.Row, col: dict[str, int]) -> int:
        """Insert the row again under its old id if free (keeping its place), marked stale.

        Its seq is assigned by the INSERT, as every seq is (rule 1); renumbering follows.
        """
        values = dict(zip(self.columns, row, strict=True))
        values["stale"] = 1
        del values["seq"]
        if self.conn.execute("SELECT 1 FROM message WHERE id = ?", (values["id"],)).fetchone():
            del values["id"]
        names = list(values)
        sql = (
            f"INSERT INTO message (seq, {', '.join(names)}) VALUES ("
            "(SELECT COALESCE(MAX(seq), 0) + 1 FROM message WHERE session_id = :session_id), "
            f"{', '.join(':' + n for n in names)}) RETURNING id"
        )
        new_id = int(self.conn.execute(sql, values).fetchone()[0])
        textindex.added(self.conn, new_id, values.get("text") or "")
        for part in self.parts.get(row[col["id"]], []):
            self.conn.execute(
                "INSERT INTO part (message_id, idx, type, text, tool_name, tool_id, "
                "is_error) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (new_id, *part[2:]),
            )
        return new_id
