"""Renumbering and recounting sessions, in bounded batches, while appends and reads go on.

The new seq of a message is `ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY id)`: ids grow
in the order messages were stored, which is the order a healthy store's seq already has (the
append gives both, increasing, in one statement), so renumbering never reorders a healthy
session, and the check can verify the order on the (session, seq) index alone.

- Small sessions (up to a batch of rows) are renumbered several per transaction: rows that move
  first go to negative seq values below every existing one, then to their place, so the UNIQUE
  (session, seq) index never sees two rows on one value.
- A large session takes several transactions. Its id->rank map is built before the write lock is
  taken (a TEMP table, rebuilt on resume). Pass 1 moves rows, highest rank first, above every seq
  the session has (`base + rank`); pass 2 moves them, lowest first, to `rank`. Readers in between
  see the session in an order no worse than before, and an append meanwhile gets `MAX(seq) + 1`,
  above everything; such late rows are put after the rest at the end.
"""

from __future__ import annotations

import bisect
import sqlite3
from collections.abc import Iterable
from typing import Any

from store.db import connection
from store.models import db
from store.repair.fixes import VISIBLE, BaseStep, RowError, marks
from store.repair.job_types import Batch, JobCtx
from store.repair.reread import closure

# Joins with the TEMP maps are written `CROSS JOIN`, which makes SQLite loop over the map: a
# fresh temp table has no statistics, and the planner would otherwise scan all of `message`.
MAP = "temp.repair_seqmap"
"""id -> rank of the large session being renumbered."""
SMALL_MAP = "temp.repair_smallmap"
"""id -> rank of the rows of the small sessions of the next batch."""


class _Walk:
    """The sessions a job covers (all, or a list), walked by id after the job's cursor."""

    @staticmethod
    def targets(conn: sqlite3.Connection, params: dict[str, Any]) -> list[int] | None:
        if params.get("sessions") is None:
            return None
        sessions = set(params["sessions"])
        if params.get("sources"):
            sessions |= closure(conn, params["sources"])[1]
        return sorted(sessions)

    @staticmethod
    def next(conn: sqlite3.Connection, job: JobCtx, limit: int) -> list[tuple[int, int]]:
        """(session, rows) after the cursor: at least one session, about `limit` rows."""
        targets = job.params.get("targets")
        candidates: Iterable[tuple[int, int]]
        if targets is None:
            candidates = conn.execute(
                "SELECT session_id, COUNT(*) FROM message WHERE session_id > ? "
                "GROUP BY session_id ORDER BY session_id LIMIT ?",
                (job.cursor, limit),
            )
        else:
            start = bisect.bisect_right(targets, job.cursor)
            candidates = (
                (
                    sid,
                    conn.execute(
                        "SELECT COUNT(*) FROM message WHERE session_id = ?", (sid,)
                    ).fetchone()[0],
                )
                for sid in targets[start : start + limit]
            )
        picked: list[tuple[int, int]] = []
        rows = 0
        for sid, n in candidates:
            picked.append((int(sid), int(n)))
            rows += n
            if rows >= limit:
                break
        return picked


def _counts(conn: sqlite3.Connection, targets: list[int] | None) -> list[int]:
    if targets is None:
        return [r[0] for r in conn.execute("SELECT COUNT(*) FROM message GROUP BY session_id")]
    return [
        conn.execute("SELECT COUNT(*) FROM message WHERE session_id = ?", (t,)).fetchone()[0]
        for t in targets
    ]


class Renumber(BaseStep):
    """seq = ROW_NUMBER() OVER (PARTITION BY session ORDER BY id), session by session."""

    def __init__(self) -> None:
        self.todo: tuple[Any, ...] = ("done",)
        self.map_for: tuple[int, int] | None = None

    def start(self, job: JobCtx) -> tuple[int, int]:
        conn = connection()
        targets = _Walk.targets(conn, job.params)
        job.params["targets"] = targets
        total = sum(_counts(conn, targets))
        top = conn.execute("SELECT COALESCE(MAX(session_id), 0) FROM message").fetchone()[0]
        return total, int(top)

    # -- before the write lock ---------------------------------------------------------------

    def prepare(self, job: JobCtx, limit: int) -> None:
        conn = connection()
        st = job.state
        if st.get("session"):
            self._ensure_map(conn, st["session"], st["map_max"])
            self.todo = ("large",)
            return
        found = _Walk.next(conn, job, limit)
        if not found:
            self.todo = ("done",)
        elif found[0][1] > limit:
            sid, n = found[0]
            top = conn.execute(
                "SELECT COALESCE(MAX(id), 0) FROM message WHERE session_id = ?", (sid,)
            ).fetchone()[0]
            self._ensure_map(conn, sid, top)
            self.todo = ("begin", sid, n, top, self._numbered(conn, sid, top), _down(conn, MAP))
        else:  # the small sessions up to the first large one (it gets batches of its own)
            first_large = next((i for i, (_, n) in enumerate(found) if n > limit), len(found))
            small = found[:first_large]
            self.todo = ("small", small, *self._small_map(conn, [s for s, _ in small]))

    def _ensure_map(self, conn: sqlite3.Connection, sid: int, top: int) -> None:
        if self.map_for == (sid, top):
            return
        conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {MAP.split('.')[1]} "
            "(rn INTEGER PRIMARY KEY, id INTEGER NOT NULL)"
        )
        conn.execute(f"DELETE FROM {MAP}")
        conn.execute(
            f"INSERT INTO {MAP} (rn, id) SELECT ROW_NUMBER() OVER (ORDER BY id), id "
            "FROM message WHERE session_id = ? AND id <= ?",
            (sid, top),
        )
        self.map_for = (sid, top)

    @staticmethod
    def _numbered(conn: sqlite3.Connection, sid: int, top: int) -> bool:
        """Whether a large session already has seq = rank, with no rows beyond the map."""
        wrong = conn.execute(
            f"SELECT COUNT(*) FROM {MAP} AS m CROSS JOIN message ON message.id = m.id "
            "WHERE message.seq <> m.rn"
        ).fetchone()[0]
        late = conn.execute(
            "SELECT COUNT(*) FROM message WHERE session_id = ? AND id > ?", (sid, top)
        ).fetchone()[0]
        return not wrong and not late

    @staticmethod
    def _small_map(conn: sqlite3.Connection, sids: list[int]) -> tuple[list[Any], int]:
        """Ranks of small sessions' rows, computed before the lock: the (rank, id, old seq) of
        each row that moves, in session and rank order, and the newest id they cover."""
        conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {SMALL_MAP.split('.')[1]} "
            "(id INTEGER PRIMARY KEY, rn INTEGER NOT NULL)"
        )
        conn.execute(f"DELETE FROM {SMALL_MAP}")
        top = conn.execute("SELECT COALESCE(MAX(id), 0) FROM message").fetchone()[0]
        conn.execute(
            f"INSERT INTO {SMALL_MAP} (id, rn) SELECT id, ROW_NUMBER() OVER (PARTITION BY "
            f"session_id ORDER BY id) FROM message WHERE session_id IN ({marks(sids)}) "
            "AND id <= ?",
            [*sids, top],
        )
        moves = conn.execute(
            f"SELECT m.rn, m.id, message.seq FROM {SMALL_MAP} AS m CROSS JOIN message ON "
            "message.id = m.id WHERE message.seq <> m.rn ORDER BY message.session_id, m.rn"
        ).fetchall()
        return moves, int(top)

    # -- inside the write lock ---------------------------------------------------------------

    def batch(self, job: JobCtx, limit: int) -> Batch:
        conn = connection()
        kind = self.todo[0]
        if kind == "done":
            return Batch(0, job.cursor, finished=True)
        if kind == "small":
            _, small, moves, top = self.todo
            sids = [s for s, _ in small]
            unfixed = self._small(conn, sids, moves, top) if moves else []
            return Batch(sum(n for _, n in small), small[-1][0], False, unfixed)
        if kind == "begin":
            _, sid, n, top, numbered, down = self.todo
            if numbered:
                return Batch(n, sid)
            self._begin(conn, job, sid, n, top, down)
        return self._large(conn, job, limit)

    def _small(
        self, conn: sqlite3.Connection, sids: list[int], moves: list[Any], top: int
    ) -> list[str]:
        mapped = _still_mapped(conn, sids, top)
        try:
            with db.atomic():
                if mapped and all(new < old for new, _id, old in moves):
                    _move_down(conn, moves)
                else:
                    _renumber_small(conn, sids, mapped)
            return []
        except RowError:
            pass  # find the session that cannot be renumbered; the others go through
        unfixed = []
        for sid in sids:
            try:
                with db.atomic():
                    _renumber_small(conn, [sid])
            except RowError as err:
                unfixed.append(f"session {sid}: {err}")
        return unfixed

    def _begin(
        self, conn: sqlite3.Connection, job: JobCtx, sid: int, n: int, top: int, down: bool
    ) -> None:
        if down:  # one pass, lowest rank first; rows stored meanwhile are above it all
            job.state = {"session": sid, "n": n, "map_max": top, "pass": 0, "next": 0}
            return
        high = conn.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM message WHERE session_id = ?", (sid,)
        ).fetchone()[0]
        base = max(int(high), n)
        # Rows stored since the map was built go above everything, in id order.
        conn.execute(
            "UPDATE message SET seq = ?1 + r.rn FROM (SELECT id, ROW_NUMBER() OVER "
            "(ORDER BY id) AS rn FROM message WHERE session_id = ?2 AND id > ?3) AS r "
            "WHERE message.id = r.id",
            (base + n, sid, top),
        )
        job.state = {"session": sid, "n": n, "map_max": top, "base": base, "pass": 1, "next": n}

    def _large(self, conn: sqlite3.Connection, job: JobCtx, limit: int) -> Batch:
        st = dict(job.state)
        sid, n = st["session"], st["n"]
        try:
            with db.atomic():
                finished = self._large_step(conn, st, limit)
        except RowError as err:
            job.state = {}
            return Batch(n - st.get("reported", 0), sid, unfixed=[f"session {sid}: {err}"])
        if finished:
            _settle_late_rows(conn, sid, n, st["map_max"])
            job.state = {}
            return Batch(n - st.get("reported", 0), sid)
        # Progress: the rows placed so far (half of them per pass when it takes two).
        placed = st["next"] if st["pass"] != 1 else (n - st["next"]) // 2
        placed = placed if st["pass"] != 2 else n // 2 + st["next"] // 2
        done = max(0, placed - st.get("reported", 0))
        st["reported"] = st.get("reported", 0) + done
        job.state = st
        return Batch(done, job.cursor)

    def _large_step(self, conn: sqlite3.Connection, st: dict[str, Any], limit: int) -> bool:
        """One batch of a large session's pass; True when the last pass is complete."""
        n = st["n"]
        if st["pass"] == 0:  # every row moves down: one pass, in rank order
            hi = min(n, st["next"] + limit)
            _move_down(conn, self._moves(conn, st["next"], hi))
            st["next"] = hi
            return bool(hi >= n)
        if st["pass"] == 1:  # highest rank first, above every existing seq
            lo = max(0, st["next"] - limit)
            self._move(conn, st["base"], lo, st["next"])
            st["next"], st["pass"] = lo, (2 if lo == 0 else 1)
            return False
        hi = min(n, st["next"] + limit)  # pass 2: lowest rank first, down to its place
        self._move(conn, 0, st["next"], hi)
        st["next"] = hi
        return bool(hi >= n)

    @staticmethod
    def _moves(conn: sqlite3.Connection, lo: int, hi: int) -> list[Any]:
        return conn.execute(
            f"SELECT m.rn, m.id, message.seq FROM {MAP} AS m CROSS JOIN message "
            "ON message.id = m.id WHERE m.rn > ? AND m.rn <= ? AND message.seq <> m.rn "
            "ORDER BY m.rn",
            (lo, hi),
        ).fetchall()

    @staticmethod
    def _move(conn: sqlite3.Connection, offset: int, lo: int, hi: int) -> None:
        conn.execute(
            f"UPDATE message SET seq = ? + m.rn FROM {MAP} AS m "
            "WHERE message.id = m.id AND m.rn > ? AND m.rn <= ?",
            (offset, lo, hi),
        )


def _down(conn: sqlite3.Connection, ranks: str) -> bool:
    """Whether no row of the map has to move up (then one pass in rank order is enough)."""
    return not conn.execute(
        f"SELECT EXISTS (SELECT 1 FROM {ranks} AS m CROSS JOIN message ON message.id = m.id "
        "WHERE message.seq < m.rn)"
    ).fetchone()[0]


def _move_down(conn: sqlite3.Connection, moves: list[Any]) -> None:
    """Rows that all move down, in rank order per session: each one's new slot was freed by
    an earlier one (or was free), so one write per row, and the order is right at every step."""
    conn.executemany("UPDATE message SET seq = ? WHERE id = ?", [(rn, mid) for rn, mid, _ in moves])


def _still_mapped(conn: sqlite3.Connection, sids: list[int], top: int) -> bool:
    """Whether the ranks built before the lock still cover every row of these sessions."""
    newest = conn.execute("SELECT COALESCE(MAX(id), 0) FROM message").fetchone()[0]
    if newest <= top:
        return True
    late = conn.execute(
        f"SELECT EXISTS (SELECT 1 FROM message WHERE session_id IN ({marks(sids)}) AND id > ?)",
        [*sids, top],
    ).fetchone()[0]
    return not late


def _renumber_small(conn: sqlite3.Connection, sids: list[int], mapped: bool = False) -> None:
    """Two statements: moved rows go below every existing seq, then to their rank. With
    `mapped`, the ranks come from the map built before the lock (only the writes hold it)."""
    low = conn.execute(
        f"SELECT MIN(seq) FROM message WHERE session_id IN ({marks(sids)})", sids
    ).fetchone()[0]
    off = max(0, -int(low or 0)) + 1
    ranks = (
        SMALL_MAP
        if mapped
        else "(SELECT id, ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY id) AS rn FROM "
        f"message WHERE session_id IN ({marks(sids)}))"
    )
    conn.execute(
        f"UPDATE message SET seq = -(r.rn + ?) FROM {ranks} AS r "
        "WHERE message.id = r.id AND message.seq <> r.rn",
        [off] if mapped else [off, *sids],
    )
    conn.execute(
        f"UPDATE message SET seq = -seq - ? WHERE session_id IN ({marks(sids)}) AND seq < -?",
        [off, *sids, off],
    )


def _settle_late_rows(conn: sqlite3.Connection, sid: int, n: int, top: int) -> None:
    """Rows stored while a large session was renumbered follow it: n+1, n+2, ... in id order."""
    conn.execute(
        "UPDATE message SET seq = -(?1 + r.rn) FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) "
        "AS rn FROM message WHERE session_id = ?2 AND id > ?3) AS r WHERE message.id = r.id",
        (n, sid, top),
    )
    conn.execute("UPDATE message SET seq = -seq WHERE session_id = ? AND seq < 0", (sid,))


class Recount(BaseStep):
    """message_count = the session's visible messages (what the append path counts)."""

    def start(self, job: JobCtx) -> tuple[int, int]:
        conn = connection()
        targets = _Walk.targets(conn, job.params)
        job.params["targets"] = targets
        if targets is None:
            total, top = conn.execute(
                "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM session"
            ).fetchone()
            return int(total), int(top)
        return len(targets), max(targets, default=0)

    def batch(self, job: JobCtx, limit: int) -> Batch:
        conn = connection()
        want = max(1, limit // 50)  # a count reads every row of its session
        targets = job.params["targets"]
        if targets is None:
            picked = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM session WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
                    (job.cursor, job.max_id, want),
                )
            ]
            last = len(picked) < want
        else:
            start = bisect.bisect_right(targets, job.cursor)
            picked = targets[start : start + want]
            last = start + len(picked) >= len(targets)
        if picked:
            conn.execute(
                "UPDATE session SET message_count = (SELECT COUNT(*) FROM message AS m WHERE "
                f"m.session_id = session.id AND {VISIBLE}) WHERE id IN ({marks(picked)})",
                picked,
            )
        return Batch(len(picked), picked[-1] if picked else job.cursor, last)
