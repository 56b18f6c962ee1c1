"""Carrying over, into a freshly rebuilt store, the messages only the old store still has.

Runs in the rebuild's child process with the new store open. A message is carried when its
session (by agent and native id) and stable id are not in the new store: sessions whose log is
gone come back whole, in their old order; rows a log that still exists no longer has come back
marked stale. Messages whose session row cannot be read are kept under a recovered session.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from store import funnel, logs, textindex
from store.db import connection, reading
from store.models import db
from store.repair.fixes import RECOVERED_TITLE, VISIBLE, recount_tally
from store.repair.salvage import salvage

log = logs.get("carry")

SESSION_COLUMNS = (
    "id, agent, native_id, parent_id, resumed_from_id, source_id, project, title, "
    "first_prompt, git_branch, model, started_at, updated_at"
)
MESSAGE_COLUMNS = (
    "id, session_id, stable_id, native_id, group_id, role, kind, line_type, "
    "timestamp, model, tokens_in, tokens_out, text, hidden, stale, source_id, "
    "line, raw"
)
COMMIT_EVERY = 2000
INSERT_SQL = """
INSERT INTO message (session_id, seq, stable_id, native_id, group_id, role, kind, line_type,
                     timestamp, model, tokens_in, tokens_out, text, hidden, stale, source_id,
                     line, raw)
VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM message WHERE session_id = ?1),
        ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
RETURNING id
"""
"""Carried rows get their seq from the INSERT, as every row does (rule 1)."""


def carry_over(old: sqlite3.Connection, known: list[tuple[int, str]]) -> tuple[int, int]:
    """Copy what the logs lack from `old` into the open (new) store; (messages, sessions)."""
    with reading():
        carrier = _Carrier(old, dict(known))
        batch: list[tuple[Any, ...]] = []
        for row in salvage(old, "message", MESSAGE_COLUMNS):
            if not _whole(row):
                carrier.unreadable += 1
                continue
            batch.append(row)
            if len(batch) >= COMMIT_EVERY:
                carrier.offer(batch)
                batch = []
        carrier.offer(batch)
        carrier.finish()
    if carrier.unreadable:
        log.warning("%d message rows of the old store were unreadable garbage", carrier.unreadable)
    return len(carrier.carried), len(carrier.touched)


def _whole(row: tuple[Any, ...]) -> bool:
    """Whether a salvaged row is a message at all: a damaged page can read back as a row of NULLs
    (id 0, no session, no stable id), which no INSERT would take."""
    return bool(row[0]) and row[1] is not None and row[2] is not None and None not in row[5:7]


class _Carrier:
    def __init__(self, old: sqlite3.Connection, paths: dict[int, str]) -> None:
        self.old = old
        self.paths = paths
        self.sessions = {r[0]: r for r in salvage(old, "session", SESSION_COLUMNS)}
        self.new_session: dict[int, int] = {}
        self.new_source: dict[int, int | None] = {}
        self.carried: list[int] = []
        self.touched: set[int] = set()
        self.by_source: set[tuple[str, str]] | None = None
        self.unreadable = 0

    def offer(self, rows: list[tuple[Any, ...]]) -> None:
        """Carry the rows the new store lacks, in one transaction."""
        if not rows:
            return
        with db.atomic():
            conn = connection()
            for row in rows:
                if row[1] not in self.sessions and self._in_log(conn, row):
                    continue  # its session row is unreadable, but its log brought it back
                sid = self._session(conn, row[1], row[15])
                if conn.execute(
                    "SELECT 1 FROM message WHERE session_id = ? AND stable_id = ?", (sid, row[2])
                ).fetchone():
                    continue
                self._insert(conn, sid, row)

    def _in_log(self, conn: sqlite3.Connection, row: tuple[Any, ...]) -> bool:
        """Whether the new store has this record from the same log file (by path)."""
        if self.by_source is None:  # built once, only when session rows were lost
            self.by_source = set(
                conn.execute(
                    "SELECT s.path, m.stable_id FROM message AS m JOIN source AS s "
                    "ON s.id = m.source_id"
                ).fetchall()
            )
        path = self.paths.get(row[15]) if row[15] is not None else None
        return (path, row[2]) in self.by_source

    def _insert(self, conn: sqlite3.Connection, sid: int, row: tuple[Any, ...]) -> None:
        path = self.paths.get(row[15]) if row[15] is not None else None
        stale = 1 if path and Path(path).is_file() else row[14]  # the live log lacks it
        values = (sid, *row[2:14], stale, self._source(conn, row[15]), row[16], row[17])
        new_id = int(conn.execute(INSERT_SQL, values).fetchone()[0])
        textindex.added(conn, new_id, row[12] or "")
        for part in self._parts(row[0]):
            conn.execute(
                "INSERT INTO part (message_id, idx, type, text, tool_name, tool_id, "
                "is_error) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (new_id, *part),
            )
        self.carried.append(new_id)
        self.touched.add(sid)

    def _parts(self, message_id: int) -> list[tuple[Any, ...]]:
        try:
            return self.old.execute(
                "SELECT idx, type, text, tool_name, tool_id, is_error FROM "
                "part WHERE message_id = ? ORDER BY idx",
                (message_id,),
            ).fetchall()
        except sqlite3.Error:
            return []

    def _session(self, conn: sqlite3.Connection, old_id: int, source: int | None) -> int:
        found = self.new_session.get(old_id)
        if found is None:
            found = self._find_or_copy(conn, old_id, source)
            self.new_session[old_id] = found
        return found

    def _find_or_copy(self, conn: sqlite3.Connection, old_id: int, source: int | None) -> int:
        row = self.sessions.get(old_id)
        if row is None:  # the old session row is unreadable: keep its messages all the same
            agent, native = "unknown", f"recovered-{old_id}"
            fields: dict[str, Any] = {"title": RECOVERED_TITLE}
        else:
            agent, native = row[1], row[2]
            fields = dict(
                zip(
                    (
                        "project",
                        "title",
                        "first_prompt",
                        "git_branch",
                        "model",
                        "started_at",
                        "updated_at",
                    ),
                    row[6:],
                    strict=True,
                )
            )
        have = conn.execute(
            "SELECT id FROM session WHERE agent = ? AND native_id = ?", (agent, native)
        ).fetchone()
        if have is not None:
            return int(have[0])
        fields.update(
            agent=agent,
            native_id=native,
            source_id=self._source(conn, source),
            parent_id=self._existing(conn, row[3] if row else None),
            resumed_from_id=self._existing(conn, row[4] if row else None),
        )
        fields["updated_at"] = fields.get("updated_at") or 0
        names = list(fields)
        return int(
            conn.execute(
                f"INSERT INTO session ({', '.join(names)}, message_count) VALUES "
                f"({', '.join(':' + n for n in names)}, 0) RETURNING id",
                fields,
            ).fetchone()[0]
        )

    def _existing(self, conn: sqlite3.Connection, old_id: int | None) -> int | None:
        """The new id of an old session, if the new store has it (parent links)."""
        row = self.sessions.get(old_id) if old_id is not None else None
        if row is None:
            return None
        have = conn.execute(
            "SELECT id FROM session WHERE agent = ? AND native_id = ?", (row[1], row[2])
        ).fetchone()
        return int(have[0]) if have else None

    def _source(self, conn: sqlite3.Connection, old_id: int | None) -> int | None:
        if old_id is None or old_id not in self.paths:
            return None
        if old_id not in self.new_source:
            path = self.paths[old_id]
            have = conn.execute("SELECT id FROM source WHERE path = ?", (path,)).fetchone()
            self.new_source[old_id] = (
                int(have[0])
                if have
                else int(
                    conn.execute(
                        "INSERT INTO source (path, agent, size, mtime_ns, offset, head_len, "
                        "lines, lines_ok, lines_bad, lines_unknown, lines_dup, state, "
                        "gone_since) VALUES (?, ?, 0, 0, 0, 0, 0, 0, 0, 0, 0, '{}', ?) "
                        "RETURNING id",
                        (path, self._agent_of(old_id), funnel.now_ms()),
                    ).fetchone()[0]
                )
            )
        return self.new_source[old_id]

    def _agent_of(self, old_source: int) -> str:
        try:
            row = self.old.execute(
                "SELECT agent FROM source WHERE id = ?", (old_source,)
            ).fetchone()
        except sqlite3.Error:
            row = None
        return str(row[0]) if row else "unknown"

    def finish(self) -> None:
        """Tallies and counts for what was carried."""
        with db.atomic():
            conn = connection()
            recount_tally(conn, self.carried)
            for sid in sorted(self.touched):
                conn.execute(
                    "UPDATE session SET message_count = (SELECT COUNT(*) FROM message WHERE "
                    f"session_id = ?1 AND {VISIBLE}), updated_at = "
                    "MAX(updated_at, COALESCE((SELECT MAX(timestamp) FROM message WHERE "
                    "session_id = ?1), 0)) WHERE id = ?1",
                    (sid,),
                )
        if self.carried:
            log.info(
                "carried %d messages of %d sessions from the old store",
                len(self.carried),
                len(self.touched),
            )
