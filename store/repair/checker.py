"""The checks themselves: every known kind of damage in the store, found without trusting the index
being checked. `store.repair.checks.run` is the way in (it opens the read connection and
summarises).

Strategy (each step's cost on a 1,000,000-message, 1 GB store is in the bench report):
- `PRAGMA quick_check` for the pages themselves. It does not compare indexes with their tables,
  and `integrity_check`, which does, costs almost twice as much; so instead every index gets a
  fingerprint (count and a sum of a hash of its columns and rowid), computed once from the index
  (`INDEXED BY`) and once from its table (`NOT INDEXED`). A difference means the index drifted.
- Only an index whose fingerprint matches is used by later checks; otherwise they scan the table.
- One `NOT INDEXED` scan of the messages gives the table-side fingerprints and the totals that
  decide whether the slower per-session and per-file queries are needed at all.
- Sequence checks walk the (session, seq) index with a self-join on `seq + 1`: in a healthy store
  seq order is id order (the append assigns both increasing), so the check is index-only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peewee import DatabaseError

from store import textindex
from store.ingest import drift
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
    expected_indexes,
    fingerprint_sql,
    index_fp,
    text_columns,
)
from store.repair.fingerprints import table_fp as table_fp_of
from store.repair.fixes import VISIBLE
from store.repair.jobs import troubled
from store.repair.pagecheck import PageCheck

ProgressFn = Callable[[str, int, int], None]
"""Called with (step name, steps done, steps in all) before each step."""

PREVIEW_ROWS = 20_000
"""Rows of damaged sessions read for the plan's preview; larger repairs are summarised."""


class Cancelled(Exception):
    """The caller's `should_stop` asked the check to stop."""


@dataclass
class _Totals:
    """What the one table scan of `message` adds up."""

    rows: int = 0
    visible: int = 0
    stale: int = 0
    stale_sessions: tuple[int, ...] = ()
    sourced: int = 0
    bad_source: int = 0
    fingerprints: dict[str, tuple[int, int]] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------


class Checker:
    """One pass of checks on one connection (a read transaction per statement)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        roots: Iterable[Path] | None,
        logs: bool,
        progress: ProgressFn | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        self.conn = conn
        self.roots = roots
        self.logs = logs
        self.progress = progress
        self.should_stop = should_stop or (lambda: False)
        self.out: dict[str, Any] = {}
        self.trusted: dict[str, IndexSpec] = {}

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
            pages.join()
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
        totals = self._scan_messages([a for a in actual.values() if a.table == "message"])
        self.totals = totals
        drifted = []
        for spec in actual.values():
            table_fp = totals.fingerprints.get(spec.name) if spec.table == "message" else None
            if table_fp is None:
                table_fp = table_fp_of(self.conn, spec)
            if index_fp(self.conn, spec) == table_fp:
                self.trusted[spec.name] = spec
            else:
                drifted.append(spec.name)
        self.out["drifted_indexes"] = tuple(sorted(drifted))

    def _scan_messages(self, specs: list[IndexSpec]) -> _Totals:
        """The single table scan of `message`: totals plus its indexes' table-side fingerprints."""
        text = text_columns(self.conn, "message")
        fps = [fingerprint_sql(s, text) for s in specs]
        row = self.q(
            f"SELECT COUNT(*), SUM({VISIBLE}), SUM(stale), "
            "group_concat(DISTINCT CASE WHEN stale THEN session_id END), "
            "SUM(source_id IS NOT NULL), SUM(source_id NOT IN (SELECT id FROM source))"
            + "".join(f", {fp}" for fp in fps)
            + " FROM message NOT INDEXED"
        )[0]
        stale_sessions = tuple(sorted(int(s) for s in (row[3] or "").split(",") if s))
        prints = {s.name: (int(row[0]), int(row[6 + i] or 0)) for i, s in enumerate(specs)}
        return _Totals(
            int(row[0]),
            int(row[1] or 0),
            int(row[2] or 0),
            stale_sessions,
            int(row[4] or 0),
            int(row[5] or 0),
            prints,
        )

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
        issues = self._seq_by_index(index) if index else self._seq_by_scan()
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

    def _seq_by_scan(self) -> list[SeqIssue]:
        """Without a trustworthy unique (session, seq) index: one table scan in id order."""
        stats: dict[int, list[Any]] = {}
        for sid, seq, _id in self.conn.execute(
            "SELECT session_id, seq, id FROM message NOT INDEXED"
        ):
            st = stats.get(sid)
            if st is None:
                stats[sid] = [1, seq, seq, int(seq <= 0), seq, 0, {seq}]
                continue
            st[0] += 1
            st[1], st[2] = min(st[1], seq), max(st[2], seq)
            st[3] += seq <= 0
            st[5] += seq < st[4]
            st[4] = seq
            st[6].add(seq)
        issues = []
        for sid, (n, lo, hi, zero, _last, bad, seen) in sorted(stats.items()):
            if lo == 1 and hi == n and len(seen) == n and not bad:
                continue
            issues.append(
                SeqIssue(
                    sid,
                    n,
                    zero=zero,
                    repeated=n - len(seen),
                    disorder=bad,
                    gap=(lo, hi) != (1, len(seen)),
                )
            )
        return issues

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
        sound = not (self.out.get("duplicates") or self.out.get("orphan_messages"))
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
        still waiting to be indexed), and sound by FTS5's own integrity check."""
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
        error = textindex.integrity_error(self.conn)
        if error is not None:
            self.out["search_drift"] = f"FTS5 integrity check: {error}"

    def _jobs(self) -> None:
        found = troubled()
        self.out["dead_jobs"] = tuple(found.dead)
        self.out["failed_jobs"] = tuple(found.failed)
        self.out["paused_jobs"] = tuple(found.paused)
