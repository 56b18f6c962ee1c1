"""The `search_index` job: index the rows the full-text index lacks, one bounded batch at a time.

Rows wait in `search_backlog` (ids in (lo, hi]) after the schema gained the index or after a
rebuild emptied it. Each batch indexes the next rows by id and moves `lo` past them in the same
transaction, so an interrupted job resumes where it stopped and search works meanwhile (on what
is indexed so far). With `rebuild`, the first batch drops the index tables, whatever state they
are in, and makes them again, empty.
"""

from __future__ import annotations

from store import textindex
from store.db import connection, reading
from store.repair.fixes import BaseStep
from store.repair.job_types import Batch, JobCtx


class SearchIndex(BaseStep):
    def start(self, job: JobCtx) -> tuple[int, int]:
        with reading() as conn:
            if job.params.get("rebuild") or not textindex.present(conn):
                row = conn.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM message")
                total, top = row.fetchone()
                return int(total), int(top)
            return textindex.waiting_rows(conn), textindex.backlog(conn)[1]

    def batch(self, job: JobCtx, limit: int) -> Batch:
        conn = connection()
        if (job.params.get("rebuild") or not textindex.present(conn)) and not job.state.get("made"):
            if not textindex.recreate(conn):
                why = "this SQLite has no FTS5" if not textindex.fts5_available() else "off"
                return Batch(0, job.cursor, finished=True, unfixed=[f"no search index: {why}"])
            job.state["made"] = True
        lo, hi = textindex.backlog(conn)
        if hi <= lo:
            return Batch(0, job.cursor, finished=True)
        rows = conn.execute(
            "SELECT id, text FROM message WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
            (lo, hi, limit),
        ).fetchall()
        textindex.index_rows(conn, ((int(r[0]), str(r[1] or "")) for r in rows))
        last = int(rows[-1][0]) if rows else hi
        textindex.set_backlog(conn, last, hi)
        return Batch(len(rows), last, finished=last >= hi)
