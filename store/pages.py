"""Keyset pages: sessions by (sort key, id), messages by `seq`, failures by id. No OFFSET anywhere.

Every function opens its own unit of work (`reading()`), returns plain records, and is cheap at
any depth: each page is one index range scan.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from store.db import reading
from store.errors import NotFound
from store.records import FailureRow, MessageRow, PartRow, SessionRow

SORTS = {"updated": "s.updated_at", "size": "s.message_count"}
"""Session orders: newest activity first, or largest first."""


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """What the session list shows. Empty fields do not filter."""

    text: str = ""
    """Matched (case-insensitive, anywhere) against title, first prompt and project."""
    agent: str | None = None
    project: str | None = None
    top_level: bool = True
    """Fold sub-agent threads under the session that spawned them."""
    include_gone: bool = True
    """Show sessions whose log file has disappeared."""
    sort: str = "updated"


SessionCursor = tuple[int, int]
"""(sort value, id) of the last row of the previous page."""

_SESSION_COLUMNS = """
    s.id, s.agent, s.native_id, s.parent_id, s.project, s.title, s.first_prompt, s.git_branch,
    s.model, s.started_at, s.updated_at, s.message_count,
    (SELECT COUNT(*) FROM session AS c WHERE c.parent_id = s.id) AS child_count,
    src.path, src.gone_since
"""


def _session_row(r: Sequence[Any]) -> SessionRow:
    return SessionRow(
        id=r[0],
        agent=r[1],
        native_id=r[2],
        parent_id=r[3],
        project=r[4],
        title=r[5] or r[6],
        git_branch=r[7],
        model=r[8],
        started_at=r[9],
        updated_at=r[10],
        message_count=r[11],
        child_count=r[12],
        source_path=r[13],
        gone_since=r[14],
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def sessions(
    after: SessionCursor | None = None, limit: int = 200, flt: SessionFilter | None = None
) -> list[SessionRow]:
    """One page of sessions in the filter's order, after `after` (exclusive)."""
    flt = flt or SessionFilter()
    key = SORTS.get(flt.sort)
    if key is None:
        raise ValueError(f"unknown sort {flt.sort!r} (known: {', '.join(SORTS)})")
    where, params = _session_where(flt)
    if after is not None:
        where.append(f"({key}, s.id) < (?, ?)")
        params += [after[0], after[1]]
    sql = (
        f"SELECT {_SESSION_COLUMNS} FROM session AS s "
        "LEFT JOIN source AS src ON src.id = s.source_id "
        f"WHERE {' AND '.join(where) or '1'} ORDER BY {key} DESC, s.id DESC LIMIT ?"
    )
    with reading() as conn:
        rows = conn.execute(sql, [*params, limit]).fetchall()
    return [_session_row(r) for r in rows]


def _session_where(flt: SessionFilter) -> tuple[list[str], list[Any]]:
    # Placeholders (a parent known only from its sub-agents' files) and files holding nothing
    # but bookkeeping lines are not worth a row.
    where = [
        "(s.message_count > 0 OR EXISTS (SELECT 1 FROM session AS k WHERE k.parent_id = s.id))"
    ]
    params: list[Any] = []
    if flt.top_level:
        where.append("s.parent_id IS NULL")
    if flt.agent:
        where.append("s.agent = ?")
        params.append(flt.agent)
    if flt.project:
        where.append("s.project = ?")
        params.append(flt.project)
    if not flt.include_gone:
        where.append("(src.gone_since IS NULL)")
    if flt.text:
        where.append(
            "(s.title LIKE ? ESCAPE '\\' OR s.first_prompt LIKE ? ESCAPE '\\' "
            "OR s.project LIKE ? ESCAPE '\\')"
        )
        params += [_like(flt.text)] * 3
    return where, params


def cursor_of(row: SessionRow, sort: str = "updated") -> SessionCursor:
    """The keyset cursor that continues after `row`."""
    value = row.message_count if sort == "size" else (row.updated_at or 0)
    return (value, row.id)


def children(session_id: int) -> list[SessionRow]:
    """The sub-agent threads a session spawned, oldest first."""
    sql = (
        f"SELECT {_SESSION_COLUMNS} FROM session AS s "
        "LEFT JOIN source AS src ON src.id = s.source_id "
        "WHERE s.parent_id = ? ORDER BY s.started_at, s.id"
    )
    with reading() as conn:
        return [_session_row(r) for r in conn.execute(sql, (session_id,)).fetchall()]


def session(ref: int | str) -> SessionRow:
    """A session by numeric id, native id, or a unique prefix of its native id.

    Raises:
        NotFound: no session, or the prefix matches several.
    """
    base = (
        f"SELECT {_SESSION_COLUMNS} FROM session AS s "
        "LEFT JOIN source AS src ON src.id = s.source_id WHERE "
    )
    with reading() as conn:
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            row = conn.execute(base + "s.id = ?", (int(ref),)).fetchone()
            if row is not None:
                return _session_row(row)
        text = str(ref)
        rows = conn.execute(base + "s.native_id = ?", (text,)).fetchall()
        if not rows:
            rows = conn.execute(
                base + "s.native_id LIKE ? ESCAPE '\\' LIMIT 50", (_like(text)[1:],)
            ).fetchall()
            # A prefix of a session's id also prefixes its sub-agent threads (`<id>#agent-..`):
            # the session itself is meant.
            top = [r for r in rows if "#" not in r[2]]
            if len(top) == 1:
                rows = top
    if len(rows) == 1:
        return _session_row(rows[0])
    if not rows:
        raise NotFound(f"no session {text!r}")
    raise NotFound(f"{text!r} matches more than one session; give more of its id")


def session_count(flt: SessionFilter | None = None) -> int:
    """How many sessions the filter shows (for the list's header)."""
    flt = flt or SessionFilter()
    where, params = _session_where(flt)
    sql = (
        "SELECT COUNT(*) FROM session AS s LEFT JOIN source AS src ON src.id = s.source_id "
        f"WHERE {' AND '.join(where)}"
    )
    with reading() as conn:
        return int(conn.execute(sql, params).fetchone()[0])


# ------------------------------------------------------------------------------------------
# Messages

_MESSAGE_COLUMNS = (
    "id, session_id, seq, role, kind, timestamp, model, text, group_id, hidden, "
    "tokens_in, tokens_out, line_type"
)


def _message_rows(conn: sqlite3.Connection, rows: list[Any]) -> list[MessageRow]:
    if not rows:
        return []
    ids = [r[0] for r in rows]
    parts: dict[int, list[PartRow]] = {}
    marks = ",".join("?" * len(ids))
    for message_id, ptype, ptext, tname, tid, err in conn.execute(
        f"SELECT message_id, type, text, tool_name, tool_id, is_error FROM part "
        f"WHERE message_id IN ({marks}) ORDER BY message_id, idx",
        ids,
    ):
        parts.setdefault(message_id, []).append(PartRow(ptype, ptext, tname, tid, bool(err)))
    out = []
    for r in rows:
        own = parts.get(r[0], [])
        fixed = tuple(
            p if p.text is not None else PartRow(p.type, r[7], p.tool_name, p.tool_id, p.is_error)
            for p in own
        )
        out.append(
            MessageRow(
                id=r[0],
                session_id=r[1],
                seq=r[2],
                role=r[3],
                kind=r[4],
                timestamp=r[5],
                model=r[6],
                text=r[7],
                group_id=r[8],
                hidden=bool(r[9]),
                tokens_in=r[10],
                tokens_out=r[11],
                line_type=r[12],
                parts=fixed,
            )
        )
    return out


def _visibility(include_hidden: bool) -> str:
    return (
        "" if include_hidden else " AND hidden = 0 AND stale = 0 AND kind NOT IN ('meta', 'event')"
    )


def messages_after(
    session_id: int, after: int = 0, limit: int = 200, *, include_hidden: bool = False
) -> list[MessageRow]:
    """The next `limit` messages with `seq > after`, in seq order."""
    sql = (
        f"SELECT {_MESSAGE_COLUMNS} FROM message WHERE session_id = ? AND seq > ?"
        f"{_visibility(include_hidden)} ORDER BY seq LIMIT ?"
    )
    with reading() as conn:
        return _message_rows(conn, conn.execute(sql, (session_id, after, limit)).fetchall())


def messages_before(
    session_id: int, before: int | None = None, limit: int = 200, *, include_hidden: bool = False
) -> list[MessageRow]:
    """The `limit` messages just before `seq` `before` (default: the end), in seq order."""
    bound = before if before is not None else 2**62
    sql = (
        f"SELECT {_MESSAGE_COLUMNS} FROM message WHERE session_id = ? AND seq < ?"
        f"{_visibility(include_hidden)} ORDER BY seq DESC LIMIT ?"
    )
    with reading() as conn:
        rows = conn.execute(sql, (session_id, bound, limit)).fetchall()
        return _message_rows(conn, rows[::-1])


def seq_bounds(session_id: int, *, include_hidden: bool = False) -> tuple[int, int, int]:
    """(first seq, last seq, count) of a session's messages; (0, 0, 0) when empty."""
    sql = (
        f"SELECT MIN(seq), MAX(seq), COUNT(*) FROM message WHERE session_id = ?"
        f"{_visibility(include_hidden)}"
    )
    with reading() as conn:
        lo, hi, n = conn.execute(sql, (session_id,)).fetchone()
    return (lo or 0, hi or 0, n or 0)


def raw_lines(session_id: int, after: int = 0, limit: int = 1000) -> list[tuple[int, bytes]]:
    """(seq, compressed raw record) of a session's messages after `seq`, stale ones included."""
    with reading() as conn:
        return [
            (r[0], r[1])
            for r in conn.execute(
                "SELECT seq, raw FROM message WHERE session_id = ? AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (session_id, after, limit),
            )
        ]


# ------------------------------------------------------------------------------------------
# Failures


def failures(before: int | None = None, limit: int = 100) -> list[FailureRow]:
    """Recorded failures, newest first, with id below `before`."""
    bound = before if before is not None else 2**62
    with reading() as conn:
        rows = conn.execute(
            "SELECT id, at, kind, event_id, event_type, session_key, source_path, line, error,"
            " detail FROM failure WHERE id < ? ORDER BY id DESC LIMIT ?",
            (bound, limit),
        ).fetchall()
    return [FailureRow(*r) for r in rows]


def failure_count() -> int:
    with reading() as conn:
        return int(conn.execute("SELECT COUNT(*) FROM failure").fetchone()[0])
