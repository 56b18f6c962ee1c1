"""Read-only lookups the app needs beside the keyset pages: find within a session, jump targets,
windows around a message, and the distinct agents and projects for the list's filters.

Like `store.pages`, every function opens its own unit of work (`reading()`) and returns plain
values, so a Textual thread worker can call it and leave no connection behind. Visibility follows
`pages` (hidden bookkeeping, mirrors and stale rows are skipped) so a seq found here is always one
the transcript can show.
"""

from __future__ import annotations

from store import pages
from store.db import reading
from store.records import MessageRow

_VISIBLE = " AND hidden = 0 AND stale = 0 AND kind NOT IN ('meta', 'event')"


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find_in_session(
    session_id: int, text: str, from_seq: int, *, forward: bool = True
) -> int | None:
    """The seq of the next (or previous) visible message whose text contains `text`.

    Matching is case-insensitive for ASCII (SQLite `LIKE`). The search starts after `from_seq`
    (before it when `forward` is False), walking the (session, seq) index in order.

    Returns:
        The matching seq, or None when no message further on matches.
    """
    if not text:
        return None
    op, order = (">", "ASC") if forward else ("<", "DESC")
    sql = (
        f"SELECT seq FROM message WHERE session_id = ? AND seq {op} ?{_VISIBLE}"
        f" AND text LIKE ? ESCAPE '\\' ORDER BY seq {order} LIMIT 1"
    )
    with reading() as conn:
        row = conn.execute(sql, (session_id, from_seq, _like(text))).fetchone()
    return int(row[0]) if row else None


def next_of_kind(session_id: int, kind: str, from_seq: int, *, forward: bool = True) -> int | None:
    """The seq of the next (or previous) visible message of `kind` (`prompt`...) from `from_seq`."""
    op, order = (">", "ASC") if forward else ("<", "DESC")
    sql = (
        f"SELECT seq FROM message WHERE session_id = ? AND seq {op} ? AND kind = ?{_VISIBLE}"
        f" ORDER BY seq {order} LIMIT 1"
    )
    with reading() as conn:
        row = conn.execute(sql, (session_id, from_seq, kind)).fetchone()
    return int(row[0]) if row else None


def messages_around(
    session_id: int, seq: int, before: int = 20, after: int = 40
) -> list[MessageRow]:
    """Up to `before` visible messages before `seq`, then `seq` and up to `after`-1 after it.

    Two keyset pages, so the cost does not depend on where `seq` is in the session.
    """
    head = pages.messages_before(session_id, seq, before)
    tail = pages.messages_after(session_id, seq - 1, after)
    return head + tail


def agents() -> list[str]:
    """The agents that have at least one session, sorted."""
    with reading() as conn:
        rows = conn.execute("SELECT DISTINCT agent FROM session ORDER BY agent").fetchall()
    return [str(r[0]) for r in rows]


def projects(agent: str | None = None) -> list[tuple[str, int]]:
    """(project folder, number of top-level sessions), most sessions first."""
    where = "project IS NOT NULL AND parent_id IS NULL AND message_count > 0"
    params: list[str] = []
    if agent:
        where += " AND agent = ?"
        params.append(agent)
    sql = (
        f"SELECT project, COUNT(*) AS n FROM session WHERE {where}"
        " GROUP BY project ORDER BY n DESC, project"
    )
    with reading() as conn:
        return [(str(r[0]), int(r[1])) for r in conn.execute(sql, params).fetchall()]


def is_empty() -> bool:
    """True when the store holds no session at all."""
    with reading() as conn:
        return conn.execute("SELECT 1 FROM session LIMIT 1").fetchone() is None
