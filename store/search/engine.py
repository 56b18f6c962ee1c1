"""Searching every session: keyset pages of ranked hits, each with a snippet and its match spans.

Ranking: bm25 while the query is selective. A query matching more than `COMMON` rows is ordered
by recency (newest row first) instead, because FTS5 has no top-k: bm25 would be computed and
sorted for every match, while rowid order lets FTS5 stop after one page. Either way, the next
page starts after the last hit (rank and id, or id), never at an OFFSET.

When every word together finds nothing and nothing else was asked (no cursor), the significant
words are searched ORed and ranked (`query.fallback`), and the results say so: a question typed as
a sentence still finds what it means.
"""

from __future__ import annotations

import base64
import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from store import textindex
from store.db import reading
from store.errors import StoreError
from store.search import query as query_module
from store.search.filters import KINDS, SHOWN, Filters

COMMON = 20_000
"""Above this many matching rows a query is ordered by recency instead of bm25."""
OPEN, CLOSE = "\ue000", "\ue001"
"""Match markers in snippets (private-use characters; a log's own are removed first)."""
SNIPPET_TOKENS = 16


class Unavailable(StoreError):
    """This store has no full-text index (SQLite without FTS5, or `CONVO_FTS=off`)."""

    def __init__(self, why: str) -> None:
        super().__init__(f"full-text search is unavailable: {why}", "Search")


class BadCursor(StoreError):
    def __init__(self) -> None:
        super().__init__("that page cursor is not one this search gave out", "Search")


@dataclass(frozen=True, slots=True)
class Hit:
    """One matching message, where it is (session, seq) and what of it matched."""

    message_id: int
    session_id: int
    seq: int
    role: str
    kind: str
    timestamp: int | None
    agent: str
    native_id: str
    title: str
    project: str | None
    snippet: str
    """One line of the message around the match, control characters and newlines removed."""
    spans: tuple[tuple[int, int], ...]
    """(start, end) of each matched stretch in `snippet`."""

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "agent": self.agent,
            "native_id": self.native_id,
            "title": self.title,
            "project": self.project,
            "seq": self.seq,
            "message_id": self.message_id,
            "role": self.role,
            "kind": self.kind,
            "timestamp": self.timestamp,
            "snippet": self.snippet,
            "spans": [list(s) for s in self.spans],
        }


@dataclass(frozen=True, slots=True)
class Results:
    query: str
    hits: list[Hit]
    next: str | None
    """The cursor of the next page; None on the last."""
    indexed: float
    """The share of messages in the index (below 1 while it is being built)."""
    terms: tuple[str, ...]
    """The words and phrases searched for (what a transcript's find should look for)."""
    ranking: str
    """`bm25` or `recent`."""
    fallback: bool = False
    """No message had every word: these hold any of the significant ones."""
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "indexed": round(self.indexed, 4),
            "ranking": self.ranking,
            "fallback": self.fallback,
            "terms": list(self.terms),
            "notes": list(self.notes),
            "hits": [h.to_json() for h in self.hits],
            "next": self.next,
        }


def search(
    text: str, filters: Filters | None = None, *, limit: int = 20, cursor: str | None = None
) -> Results:
    """Search the open store (opens its own unit of read work; safe from any thread).

    Raises:
        QueryError: the text cannot mean a search (one line for the user).
        Unavailable: the store has no full-text index.
        BadCursor: `cursor` is not one a search gave out.
    """
    flt = filters or Filters()
    parsed = query_module.parse(text)
    mode, after, wide = _cursor(cursor) if cursor else (None, None, False)
    with reading() as conn:
        if not textindex.present(conn):
            raise Unavailable(_why_unavailable())
        indexed = textindex.indexed_share(conn)
        if wide:  # a later page of a fallback search
            wider = query_module.fallback(text)
            if wider is None:
                raise BadCursor()
            return _run(conn, text, wider, flt, limit, mode, after, indexed, fallback=True)
        results = _run(conn, text, parsed, flt, limit, mode, after, indexed)
        if results.hits or cursor is not None:
            return results
        wider = query_module.fallback(text)
        if wider is None:
            return results
        found = _run(conn, text, wider, flt, limit, "bm25", None, indexed, fallback=True)
        return found if found.hits else results


def _why_unavailable() -> str:
    if textindex.disabled():
        return "it is switched off (CONVO_FTS=off)"
    if not textindex.fts5_available():
        return "this Python's SQLite has no FTS5"
    return "the store has no search index: `convo repair` rebuilds it"


def _run(
    conn: sqlite3.Connection,
    text: str,
    parsed: query_module.Query,
    flt: Filters,
    limit: int,
    mode: str | None,
    after: tuple[float, int] | None,
    indexed: float,
    *,
    fallback: bool = False,
) -> Results:
    where, params = _filters(flt)
    if parsed.cjk_match:
        mode = "recent"  # two indexes' bm25 scores do not compare: merge them by recency
    elif mode is None:
        mode = "recent" if _count(conn, parsed.match, COMMON + 1) > COMMON else "bm25"
    if mode == "recent":
        rows = _recent(conn, textindex.FTS, parsed.match, where, params, limit + 1, after)
        if parsed.cjk_match:
            more = _recent(conn, textindex.CJK, parsed.cjk_match, where, params, limit + 1, after)
            merged = {r[0]: r for r in [*rows, *more]}
            rows = sorted(merged.values(), key=lambda r: -r[0])[: limit + 1]
    else:
        rows = _ranked(conn, parsed.match, where, params, limit + 1, after)
    page, rest = rows[:limit], rows[limit:]
    hits = [_hit(r) for r in page]
    following = None
    if rest and page:
        last = page[-1]
        rank = float(last[-1]) if mode == "bm25" else 0.0
        following = _encode(mode, rank, int(last[0]), fallback)
    notes = tuple(parsed.notes)
    if fallback:
        said = ", ".join(parsed.terms)
        notes = (f"no message has every word; showing messages with any of: {said}", *notes)
    return Results(text, hits, following, indexed, parsed.terms, mode, fallback, notes)


_COLUMNS = (
    "m.id, m.session_id, m.seq, m.role, m.kind, m.timestamp, s.agent, s.native_id, "
    "COALESCE(s.title, s.first_prompt, s.native_id), s.project"
)


def _filters(flt: Filters) -> tuple[str, list[Any]]:
    kinds = KINDS[flt.kind] if flt.kind else SHOWN
    where = [
        "m.hidden = 0",
        "m.stale = 0",
        f"m.kind IN ({','.join('?' * len(kinds))})",
    ]
    params: list[Any] = list(kinds)
    for column, value in (
        ("s.agent = ?", flt.agent),
        ("s.project = ?", flt.project),
        ("m.role = ?", flt.role),
        ("m.session_id = ?", flt.session_id),
        ("m.timestamp >= ?", flt.since),
        ("m.timestamp < ?", flt.until),
    ):
        if value is not None:
            where.append(column)
            params.append(value)
    if not flt.subagents and flt.session_id is None:
        where.append("s.parent_id IS NULL")
    return " AND ".join(where), params


def _count(conn: sqlite3.Connection, match: str, cap: int) -> int:
    """How many rows match, counting no further than `cap` (rowids only: cheap)."""
    row = conn.execute(
        f"SELECT COUNT(*) FROM (SELECT rowid FROM {textindex.FTS} "
        f"WHERE {textindex.FTS} MATCH ? LIMIT ?)",
        (match, cap),
    ).fetchone()
    return int(row[0])


def _snippet(table: str) -> str:
    return f"snippet({table}, 0, '{OPEN}', '{CLOSE}', '…', {SNIPPET_TOKENS})"


def _recent(
    conn: sqlite3.Connection,
    table: str,
    match: str,
    where: str,
    params: list[Any],
    limit: int,
    after: tuple[float, int] | None,
) -> list[tuple[Any, ...]]:
    below = "AND f.rowid < ?" if after else ""
    sql = (
        f"SELECT {_COLUMNS}, {_snippet(table)}, 0 FROM {table} AS f "
        "JOIN message AS m ON m.id = f.rowid JOIN session AS s ON s.id = m.session_id "
        f"WHERE {table} MATCH ? {below} AND {where} ORDER BY f.rowid DESC LIMIT ?"
    )
    args = [match, *([after[1]] if after else []), *params, limit]
    return _rows(conn, sql, args, cjk=table == textindex.CJK)


def _ranked(
    conn: sqlite3.Connection,
    match: str,
    where: str,
    params: list[Any],
    limit: int,
    after: tuple[float, int] | None,
) -> list[tuple[Any, ...]]:
    table = textindex.FTS
    beyond = "AND (f.rank > ? OR (f.rank = ? AND f.rowid > ?))" if after else ""
    sql = (
        f"SELECT {_COLUMNS}, {_snippet(table)}, f.rank FROM {table} AS f "
        "JOIN message AS m ON m.id = f.rowid JOIN session AS s ON s.id = m.session_id "
        f"WHERE {table} MATCH ? {beyond} AND {where} ORDER BY f.rank, f.rowid LIMIT ?"
    )
    args = [match, *([after[0], after[0], after[1]] if after else []), *params, limit]
    return _rows(conn, sql, args, cjk=False)


def _rows(conn: sqlite3.Connection, sql: str, args: list[Any], *, cjk: bool) -> list[Any]:
    rows = conn.execute(sql, args).fetchall()
    if cjk:  # the side index holds the text spaced one CJK character per token: close it up
        rows = [(*r[:10], _unspace(str(r[10])), r[11]) for r in rows]
    return rows


_SPACE_NEAR_CJK = re.compile(r"(?<=[^\s]) (?=[^\s])")


def _unspace(snippet: str) -> str:
    """Remove the spaces `textindex.cjk_spaced` put next to CJK characters (markers skipped)."""
    bare = snippet.replace(OPEN, "").replace(CLOSE, "")
    if not textindex.has_cjk(bare):
        return snippet

    def drop(m: re.Match[str]) -> str:
        left = snippet[: m.start()].rstrip(OPEN + CLOSE)[-1:]
        right = snippet[m.end() :].lstrip(OPEN + CLOSE)[:1]
        return "" if textindex.has_cjk(left) or textindex.has_cjk(right) else " "

    return _SPACE_NEAR_CJK.sub(drop, snippet)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")


def clean_snippet(raw: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A snippet with its markers as spans: one line, no control characters, no markup."""
    text = _SPACES.sub(" ", _CONTROL.sub(" ", raw)).strip()
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    start = -1
    length = 0
    for ch in text:
        if ch == OPEN:
            start = length
        elif ch == CLOSE:
            if start >= 0 and length > start:
                spans.append((start, length))
            start = -1
        else:
            out.append(ch)
            length += 1
    return "".join(out), tuple(spans)


def _hit(r: tuple[Any, ...]) -> Hit:
    snippet, spans = clean_snippet(str(r[10] or ""))
    return Hit(
        message_id=int(r[0]),
        session_id=int(r[1]),
        seq=int(r[2]),
        role=str(r[3]),
        kind=str(r[4]),
        timestamp=None if r[5] is None else int(r[5]),
        agent=str(r[6]),
        native_id=str(r[7]),
        title=str(r[8] or ""),
        project=None if r[9] is None else str(r[9]),
        snippet=snippet,
        spans=spans,
    )


def _encode(mode: str, rank: float, last_id: int, fallback: bool) -> str:
    raw = f"{mode}:{rank!r}:{last_id}:{int(fallback)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(token: str) -> tuple[str, tuple[float, int], bool]:
    """(ranking, (rank, last id), fallback) of the page a cursor continues."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        mode, rank, last, wide = raw.split(":")
        if mode not in ("bm25", "recent") or wide not in ("0", "1"):
            raise ValueError(mode)
        return mode, (float(rank), int(last)), wide == "1"
    except (ValueError, UnicodeDecodeError):
        raise BadCursor() from None


def session_matches(session_id: int, text: str, *, limit: int = 10_000) -> list[int]:
    """The seqs of one session's shown messages that match `text` by the index, in seq order
    (for find within a large transcript; a small one is scanned as it is).

    Raises:
        QueryError, Unavailable: as `search`.
    """
    parsed = query_module.parse(text)
    where, params = _filters(Filters(session_id=session_id))
    seqs: set[int] = set()
    with reading() as conn:
        if not textindex.present(conn):
            raise Unavailable(_why_unavailable())
        for table, match in ((textindex.FTS, parsed.match), (textindex.CJK, parsed.cjk_match)):
            if not match:
                continue
            rows = conn.execute(
                f"SELECT m.seq FROM {table} AS f JOIN message AS m ON m.id = f.rowid "
                "JOIN session AS s ON s.id = m.session_id "
                f"WHERE {table} MATCH ? AND {where} LIMIT ?",
                [match, *params, limit],
            ).fetchall()
            seqs.update(int(r[0]) for r in rows)
    return sorted(seqs)[:limit]
