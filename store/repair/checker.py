"""The checks themselves: every known kind of damage in the store, found without trusting the index
being checked. `store.repair.checks.run` is the way in (it opens the read connection and
summarises).

Strategy (each step's cost on a 1,000,000-message, 1 GB store is in the bench report):
- `PRAGMA quick_check` for the pages themselves. It does not compare indexes with their tables,
  and `integrity_check`, which does, costs almost twice as much; so instead every index gets a
  fingerprint (count and a sum of a hash of its columns and rowid), computed once from the index
  (`INDEXED BY`) and once from its table (`NOT INDEXED`). A difference means the index drifted.
- A unique index whose fingerprint matches is also scanned for keys its table holds twice
  (`GROUP BY` the key, `NOT INDEXED`): an index whose schema says UNIQUE but whose b-tree was built
  non-unique passes `quick_check` and the fingerprint, and is reported drifted (`lying_indexes`).
- Only an index that passes both is used by later checks; otherwise they scan the table.
- Every step reads in one read transaction (one snapshot): a writer committing meanwhile cannot
  make an index look different from its table. FTS5's integrity check runs after it.
- One `NOT INDEXED` scan of the messages gives the table-side fingerprints and the totals that
  decide whether the slower per-session and per-file queries are needed at all.
- Sequence checks walk the (session, seq) index with a self-join on `seq + 1`: in a healthy store
  seq order is id order (the append assigns both increasing), so the check is index-only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from peewee import DatabaseError

from store import textindex
from store.ingest import drift
from store.repair import copies as row_copies
from store.repair.findings import (
    CountDrift,
    Dangling,
    DuplicateGroup,
    Findings,
    IndexMismatch,
    IndexSpec,
    OrphanMessage,
    SeqIssue,
    SeqRow,
)
from store.repair.fingerprints import (
    actual_indexes,
    duplicate_keys,
    expected_indexes,
    index_fp,
)
from store.repair.fingerprints import table_fp as table_fp_of
from store.repair.fixes import VISIBLE
from store.repair.jobs import troubled
from store.repair.pagecheck import PageCheck
from store.repair.seqscan import seq_by_scan
from store.repair.tablescan import scan_messages

ProgressFn = Callable[[str, int, int], None]
"""Called with (step name, steps done, steps in all) before each step."""

PREVIEW_ROWS = 20_000
"""Rows of damaged sessions read for the plan's preview; larger repairs are summarised."""


class Cancelled(Exception):
    """The caller's `should_stop` asked the check to stop."""


# ------------------------------------------------------------------------------------------


class Checker:
    """One pass of checks on one connection, in one read transaction (one snapshot)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        roots: Iterable[Path] | None,
        logs: bool,
        progress: ProgressFn | None,
        should_stop: Callable[[], bool] | None,
        *,
        deep: bool = False,
    ) -> None:
        self.conn = conn
        self.deep = deep
        """Also FTS5's integrity check of the search index (it reads the whole index)."""
        self.roots = roots
        self.logs = logs
        self.progress = progress
        self.should_stop = should_stop or (lambda: False)
        self.out: dict[str, Any] = {}
        self.trusted: dict[str, IndexSpec] = {}
        self.fts_check = False

    def run(self) -> Findings:
        """Every step; the page check runs meanwhile on a second connection (`PageCheck`)."""
        steps: list[tuple[str, Callable[[], None]]] = [
            ("indexes", self._indexes),
            ("sequences", self._sequences),
            ("duplicates", self._duplicates),
            ("orphans", self._orphans),
            ("counts", self._counts),
            ("logs", self._logs),
            ("jobs", self._jobs),
            ("search", self._search),
        ]
        pages = PageCheck()
        pages.start()
        try:
            # One read transaction around every step: they all see one snapshot (WAL), so a
            # writer committing meanwhile cannot make an index and its table look different.
            self.conn.execute("BEGIN")
            for done, (name, step) in enumerate([("pages", PageCheck.nothing), *steps]):
                if self.should_stop():
                    pages.interrupt()
                    raise Cancelled("check cancelled")
                if self.progress is not None:
                    self.progress(name, done, len(steps) + 1)
                step()
        except (sqlite3.DatabaseError, DatabaseError):
            if not pages.result().corrupt:
                raise  # the pages are sound: the store cannot be read for another reason
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")  # nothing was written: this only ends the snapshot
            pages.join()
        if self.fts_check and not pages.result().corrupt:
            self._fts_integrity()
        found = pages.result()
        if found.corrupt:  # the file itself is damaged: the only fix is a rebuild
            return Findings(corrupt=found.corrupt)
        self.out["orphan_parts"] = found.orphan_parts
        return Findings(**self.out)

    def q(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.conn.execute(sql, params).fetchall()

    # -- indexes ----------------------------------------------------------------------------

    def _indexes(self) -> None:
        actual = actual_indexes(self.conn)
        mismatches = []
        for spec in expected_indexes():
            have = actual.get(spec.name) or next(
                (a for a in actual.values() if a.table == spec.table and a.columns == spec.columns),
                None,
            )
            if have is None or have.columns != spec.columns or have.unique != spec.unique:
                mismatches.append(IndexMismatch(spec, have))
        self.out["index_mismatches"] = tuple(mismatches)
        self.out["declared"] = tuple(expected_indexes())
        self.out["indexes"] = actual
        totals = scan_messages(self.conn, [a for a in actual.values() if a.table == "message"])
        self.totals = totals
        drifted = []
        lying: dict[str, int] = {}
        for spec in actual.values():
            table_fp = totals.fingerprints.get(spec.name) if spec.table == "message" else None
            if table_fp is None:
                table_fp = table_fp_of(self.conn, spec)
            if index_fp(self.conn, spec) != table_fp:
                drifted.append(spec.name)
            elif spec.unique and (extra := self._duplicate_keys(spec)):
                lying[spec.name] = extra  # says UNIQUE, holds equal keys: never write through it
                drifted.append(spec.name)
            else:
                self.trusted[spec.name] = spec
        self.out["drifted_indexes"] = tuple(sorted(drifted))
        self.out["lying_indexes"] = lying

    def _duplicate_keys(self, spec: IndexSpec) -> int:
        """Rows beyond the first of each key; for `message`, counted only when the one scan's
        distinct keys fall short of its rows (a NULL key counts there, never here)."""
        if self.totals.distinct.get(spec.name) == self.totals.rows:
            return 0
        return duplicate_keys(self.conn, spec)

    def _trusted_index(
        self, table: str, columns: tuple[str, ...], *, unique: bool = False
    ) -> str | None:
        for spec in self.trusted.values():
            if spec.table == table and spec.columns == columns and (spec.unique or not unique):
                return spec.name
        return None

    # -- sequences --------------------------------------------------------------------------

    def _sequences(self) -> None:
        index = self._trusted_index("message", ("session_id", "seq"), unique=True)
        issues = self._seq_by_index(index) if index else seq_by_scan(self.conn)
        self.out["seq_issues"] = tuple(issues)
        self.out["seq_rows"] = self._seq_rows([i.session_id for i in issues], index)

    def _seq_by_index(self, index: str) -> list[SeqIssue]:
        rows = self.q(
            f"SELECT a.session_id, COUNT(*), MIN(a.seq), MAX(a.seq), SUM(a.seq <= 0), "
            f"SUM(b.id < a.id) FROM message AS a INDEXED BY {index} "
            f"LEFT JOIN message AS b INDEXED BY {index} "
            "ON b.session_id = a.session_id AND b.seq = a.seq + 1 GROUP BY a.session_id "
            "HAVING MIN(a.seq) <> 1 OR MAX(a.seq) <> COUNT(*) OR SUM(b.id < a.id) > 0"
        )
        return [
            SeqIssue(sid, n, zero=int(zero), disorder=int(bad or 0), gap=(lo, hi) != (1, n))
            for sid, n, lo, hi, zero, bad in rows
        ]

    def _seq_rows(self, sessions: list[int], index: str | None) -> dict[int, tuple[SeqRow, ...]]:
        out: dict[int, tuple[SeqRow, ...]] = {}
        budget = PREVIEW_ROWS
        source = f"message INDEXED BY {index}" if index else "message NOT INDEXED"
        for sid in sessions:
            rows = self.q(
                f"SELECT id, session_id, seq FROM {source} WHERE session_id = ? LIMIT ?",
                (sid, budget + 1),
            )
            if len(rows) > budget:
                break
            budget -= len(rows)
            out[sid] = tuple(SeqRow(*r) for r in rows)
        return out

    # -- duplicates -------------------------------------------------------------------------

    def _duplicates(self) -> None:
        possible = self.totals.distinct.get("") != self.totals.with_raw
        self.out["row_copies"] = row_copies.find(self.conn) if possible else ()
        if self._trusted_index("message", ("session_id", "stable_id"), unique=True):
            return  # a unique index that agrees with its table admits no copies
        groups = self.q(
            "SELECT session_id, stable_id, group_concat(id) FROM message NOT INDEXED "
            "GROUP BY session_id, stable_id HAVING COUNT(*) > 1"
        )
        ids = [int(i) for g in groups for i in str(g[2]).split(",")]
        copies = drift.copies(self.conn, ids)
        self.out["duplicates"] = tuple(
            DuplicateGroup(
                sid, stable, tuple(copies[int(i)] for i in sorted(str(members).split(","), key=int))
            )
            for sid, stable, members in groups
        )

    # -- orphans ----------------------------------------------------------------------------

    def _orphans(self) -> None:
        index = self._trusted_index("message", ("session_id", "seq"))
        source = f"message INDEXED BY {index}" if index else "message NOT INDEXED"
        found = self.q(
            f"SELECT id, session_id, source_id FROM {source} "
            "WHERE session_id NOT IN (SELECT id FROM session)"
        )
        copies = row_copies.orphaned(self.conn, [int(r[0]) for r in found])
        self.out["row_copies"] = (*self.out.get("row_copies", ()), *copies)
        copied = {i for c in copies for i in c.delete}
        found = [r for r in found if r[0] not in copied]  # deleted as copies instead
        paths = {s.id: s.path for s in drift.sources(self.conn)}
        self.out["orphan_messages"] = tuple(
            OrphanMessage(
                mid, sid, src, paths.get(src), bool(paths.get(src)) and Path(paths[src]).is_file()
            )
            for mid, sid, src in found
        )
        self.out["dangling"] = tuple(self._dangling())

    def _dangling(self) -> list[Dangling]:
        columns = {r[0]: r[3] for r in self.q("PRAGMA foreign_key_list(session)")}
        out = []
        for _table, rowid, _parent, fkid in self.q("PRAGMA foreign_key_check(session)"):
            column = columns[fkid]
            target = self.q(f'SELECT "{column}" FROM session WHERE id = ?', (rowid,))[0][0]
            out.append(Dangling("session", int(rowid), column, int(target)))
        if self.totals.bad_source:
            out += [
                Dangling("message", int(mid), "source_id", int(src))
                for mid, src in self.q(
                    "SELECT id, source_id FROM message NOT INDEXED "
                    "WHERE source_id NOT IN (SELECT id FROM source)"
                )
            ]
        return out

    # -- counts -----------------------------------------------------------------------------

    def _counts(self) -> None:
        t = self.totals
        self.out["stale_rows"] = t.stale
        self.out["stale_sessions"] = t.stale_sessions
        self.out["sessions_total"] = int(self.q("SELECT COUNT(*) FROM session")[0][0])
        stored = int(self.q("SELECT COALESCE(SUM(message_count), 0) FROM session")[0][0])
        orphans = {o.session_id for o in self.out.get("orphan_messages", ())}
        if stored != t.visible or orphans:
            self.out["count_drift"] = tuple(
                CountDrift(*r)
                for r in self.q(
                    "SELECT s.id, s.message_count, COALESCE(c.n, 0) FROM session AS s LEFT JOIN "
                    f"(SELECT session_id, SUM({VISIBLE}) AS n FROM message NOT INDEXED "
                    "GROUP BY session_id) AS c ON c.session_id = s.id "
                    "WHERE s.message_count <> COALESCE(c.n, 0)"
                )
            )

    # -- logs and jobs ----------------------------------------------------------------------

    def _logs(self) -> None:
        known = drift.sources(self.conn)
        # Only when the totals disagree (or rows were damaged) is each file counted.
        sound = not (
            self.out.get("duplicates")
            or self.out.get("row_copies")
            or self.out.get("orphan_messages")
        )
        in_store = self.totals.sourced - self.totals.bad_source
        short = (
            drift.short_sources(self.conn, known)
            if not sound or in_store != sum(s.ingested for s in known)
            else []
        )
        if not self.logs:
            self.out["logs"] = tuple(short)
            return
        found, marked = drift.file_drift(self.conn, known, self.roots)
        self.out["logs"] = tuple(short + found)
        self.out["gone_marked"] = tuple(marked)

    def _search(self) -> None:
        """The full-text index: there if it should be, as many rows as the table (less those
        still waiting to be indexed), and with `deep`, sound by FTS5's own integrity check (it
        reads the whole index: several times `quick_check` on a large store)."""
        if not textindex.wanted():
            return
        if not textindex.present(self.conn):
            self.out["search_missing"] = True
            return
        waiting = textindex.waiting_rows(self.conn)
        self.out["search_waiting"] = waiting
        indexed = textindex.indexed_rows(self.conn)
        expected = self.totals.rows - waiting
        if indexed != expected:
            self.out["search_drift"] = f"{indexed:,} rows indexed of {expected:,}"
            return
        self.fts_check = self.deep  # after the snapshot: FTS5's check is written as an INSERT

    def _fts_integrity(self) -> None:
        """FTS5's own integrity check, one statement (one consistent view of its own), run after
        the read transaction: inside it, a write that committed meanwhile would make it fail
        with `database is locked`. A store still busy after the wait says nothing either way."""
        error = textindex.integrity_error(self.conn)
        if error is not None and "locked" not in error and "busy" not in error:
            self.out["search_drift"] = f"FTS5 integrity check: {error}"

    def _jobs(self) -> None:
        found = troubled()
        self.out["dead_jobs"] = tuple(found.dead)
        self.out["failed_jobs"] = tuple(found.failed)
        self.out["paused_jobs"] = tuple(found.paused)
