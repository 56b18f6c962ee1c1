"""The full-text index of message text, kept in step by the store's own write code (no triggers).

Three tables, made by the schema (version 2) where this SQLite has FTS5:
- `message_fts`: FTS5 with external content over `message(text)`, rowid = message id, so
  `snippet()` reads the text from `message` and the index holds only tokens. Every message row is
  indexed, hidden and stale ones too: search drops those by joining `message`, so a hide or a
  stale mark needs no index write, and the index mirrors its table exactly (FTS5's own
  `integrity-check` can compare the two).
- `message_cjk`: only the rows whose text holds CJK, with that text spaced one character per
  token (unicode61 keeps a run of CJK as one token, so a word inside a sentence would never be
  found). It stores its own (spaced) copy, which costs the size of the CJK rows' text, nothing
  for the rest.
- `search_backlog`: one row `(lo, hi)`: message ids in (lo, hi] are not in the index yet (an
  existing store being indexed, or the index being rebuilt, by the `search_index` job). The write
  code leaves those rows to the job.

Every function here runs on the writer's connection inside a funnel transaction, so a commit
that fails leaves neither the message nor its index entry. Each is a no-op where the store has
no index: a Python whose SQLite lacks FTS5, or `CONVO_FTS=off`.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence

FTS = "message_fts"
CJK = "message_cjk"
TOKENIZER = "porter unicode61 remove_diacritics 2"
"""Stemming (`fixing` finds `fixed`), case and diacritics folded (`café` finds `cafe`)."""

CREATE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5("
    f"text, content='message', content_rowid='id', tokenize='{TOKENIZER}')",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {CJK} USING fts5("
    "text, tokenize='unicode61 remove_diacritics 2')",
    "CREATE TABLE IF NOT EXISTS search_backlog ("
    "id INTEGER PRIMARY KEY CHECK (id = 1), lo INTEGER NOT NULL, hi INTEGER NOT NULL)",
)

# Han (with extensions and compatibility forms), Hiragana, Katakana (with phonetic extensions and
# halfwidth forms), Hangul syllables, and the ideographic marks 々 〆 〇. Fullwidth Latin letters
# and digits are not CJK: unicode61 already splits them at spaces like any other letters.
_CJK = (
    "\u3005-\u3007\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
    "\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
)
_CJK_CHAR = re.compile(f"[{_CJK}]")
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])(?=\S)|(?<=\S)(?=[{_CJK}])")


def has_cjk(text: str) -> bool:
    """Whether `text` holds a Chinese, Japanese or Korean character."""
    return _CJK_CHAR.search(text) is not None


def cjk_spaced(text: str) -> str:
    """`text` with a space between CJK characters and around CJK runs: one token per character."""
    return _CJK_GAP.sub(" ", text)


# ------------------------------------------------------------------------------------------
# Whether there is an index


def disabled() -> bool:
    """`CONVO_FTS=off` (or 0/no/false): run the store without a full-text index."""
    return os.environ.get("CONVO_FTS", "").strip().lower() in ("off", "0", "no", "false")


_fts5: bool | None = None


def fts5_available() -> bool:
    """Whether this Python's SQLite can make FTS5 tables."""
    global _fts5
    if _fts5 is None:
        probe = sqlite3.connect(":memory:")
        try:
            probe.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
            _fts5 = True
        except sqlite3.Error:
            _fts5 = False
        finally:
            probe.close()
    return _fts5


def wanted() -> bool:
    """The store should have an index: FTS5 is there and not switched off."""
    return fts5_available() and not disabled()


_present: dict[int, tuple[int, bool]] = {}
_present_lock = threading.Lock()
_off: bool | None = None
"""`disabled()` as it was when the store was opened (read once: it is asked for every write)."""


def present(conn: sqlite3.Connection) -> bool:
    """Whether this store has its index tables (and the index is not switched off).

    Cached per connection and schema version (one cheap PRAGMA per call): a table dropped or made
    meanwhile, by another process too, changes the schema version and is seen at once.
    `store.db` forgets the cache whenever it opens or closes a store, so a connection id reused
    by another store's connection never reads a stale answer.
    """
    global _off
    if _off is None:
        _off = disabled()
    if _off:
        return False
    version = int(conn.execute("PRAGMA schema_version").fetchone()[0])
    key = id(conn)
    with _present_lock:
        cached = _present.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    names = {
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE name IN (?, ?, 'search_backlog')", (FTS, CJK)
        )
    }
    found = names == {FTS, CJK, "search_backlog"}
    with _present_lock:
        _present[key] = (version, found)
    return found


def forget() -> None:
    """Drop what `present` cached (a store was opened or closed)."""
    global _off
    with _present_lock:
        _present.clear()
        _off = None


def create(conn: sqlite3.Connection, *, backlog_all: bool) -> bool:
    """Make the index tables if this SQLite can; with `backlog_all`, every message row present
    is left to the `search_index` job. Returns whether the index exists now."""
    if not wanted():
        return False
    for sql in CREATE:
        conn.execute(sql)
    top = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM message").fetchone()[0])
    set_backlog(conn, 0, top if backlog_all else 0)
    return True


# ------------------------------------------------------------------------------------------
# The backlog


def backlog(conn: sqlite3.Connection) -> tuple[int, int]:
    """(lo, hi): ids in (lo, hi] are not indexed yet; (0, 0) when every row is."""
    row = conn.execute("SELECT lo, hi FROM search_backlog WHERE id = 1").fetchone()
    return (int(row[0]), int(row[1])) if row is not None else (0, 0)


def set_backlog(conn: sqlite3.Connection, lo: int, hi: int) -> None:
    if lo >= hi:
        lo = hi = 0
    conn.execute(
        "INSERT INTO search_backlog (id, lo, hi) VALUES (1, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET lo = excluded.lo, hi = excluded.hi",
        (lo, hi),
    )


def _waiting(conn: sqlite3.Connection, message_id: int) -> bool:
    lo, hi = backlog(conn)
    return lo < message_id <= hi


def indexed_share(conn: sqlite3.Connection) -> float:
    """The share of message rows the index holds (1.0 when it is complete)."""
    waiting = waiting_rows(conn)
    if not waiting:
        return 1.0
    total = int(conn.execute("SELECT COUNT(*) FROM message").fetchone()[0])
    return 1.0 if total == 0 else max(0.0, 1.0 - waiting / total)


# ------------------------------------------------------------------------------------------
# Keeping it in step (each inside the write's transaction)


def _indexed(conn: sqlite3.Connection, message_id: int) -> bool:
    row = conn.execute(f"SELECT 1 FROM {FTS}_docsize WHERE id = ?", (message_id,)).fetchone()
    return row is not None


def _insert(conn: sqlite3.Connection, message_id: int, text: str) -> None:
    conn.execute(f"INSERT INTO {FTS} (rowid, text) VALUES (?, ?)", (message_id, text))
    if has_cjk(text):
        conn.execute(
            f"INSERT INTO {CJK} (rowid, text) VALUES (?, ?)", (message_id, cjk_spaced(text))
        )


def _delete(conn: sqlite3.Connection, message_id: int, text: str) -> None:
    # External content: FTS5 needs the exact text it indexed to remove its tokens.
    conn.execute(
        f"INSERT INTO {FTS} ({FTS}, rowid, text) VALUES ('delete', ?, ?)", (message_id, text)
    )
    conn.execute(f"DELETE FROM {CJK} WHERE rowid = ?", (message_id,))


def added(conn: sqlite3.Connection, message_id: int, text: str) -> None:
    """A row was stored (or an append found it again): index it unless it already is."""
    if present(conn) and not _waiting(conn, message_id) and not _indexed(conn, message_id):
        _insert(conn, message_id, text)


def added_new(conn: sqlite3.Connection, rows: Sequence[tuple[int, str]]) -> None:
    """Rows just inserted in this transaction, none of them indexed or waiting (their ids are
    above every id there was when the transaction began): index them with one statement."""
    if not rows or not present(conn):
        return
    conn.executemany(f"INSERT INTO {FTS} (rowid, text) VALUES (?, ?)", rows)
    cjk = [(i, cjk_spaced(text)) for i, text in rows if has_cjk(text)]
    if cjk:
        conn.executemany(f"INSERT INTO {CJK} (rowid, text) VALUES (?, ?)", cjk)


def changed(conn: sqlite3.Connection, message_id: int, old: str, new: str) -> None:
    """A row's text went from `old` to `new` (call it around the UPDATE, in its transaction)."""
    if old == new or not present(conn) or _waiting(conn, message_id):
        return
    if _indexed(conn, message_id):
        _delete(conn, message_id, old)
    _insert(conn, message_id, new)


def removing(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """These rows are about to be deleted (by primary key): take them out of the index first."""
    if not ids or not present(conn):
        return
    lo, hi = backlog(conn)
    for start in range(0, len(ids), 500):
        chunk = [i for i in ids[start : start + 500] if not lo < i <= hi]
        if not chunk:
            continue
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT m.id, m.text FROM message AS m JOIN {FTS}_docsize AS d ON d.id = m.id "
            f"WHERE m.id IN ({marks})",
            chunk,
        ).fetchall()
        for message_id, text in rows:
            _delete(conn, int(message_id), str(text))


def index_rows(conn: sqlite3.Connection, rows: Iterable[tuple[int, str]]) -> int:
    """Index rows that are not in the index (the backfill's batch); returns how many."""
    n = 0
    for message_id, text in rows:
        if not _indexed(conn, message_id):
            _insert(conn, message_id, text)
            n += 1
    return n


def recreate(conn: sqlite3.Connection) -> bool:
    """Drop the index tables (whatever state they are in) and make them again, empty, with every
    row left to the `search_index` job: a rebuild's first step. Returns whether they exist now."""
    for table in (FTS, CJK):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    return create(conn, backlog_all=True)


def waiting_rows(conn: sqlite3.Connection) -> int:
    """How many message rows are not in the index yet."""
    lo, hi = backlog(conn)
    if hi <= lo:
        return 0
    row = conn.execute("SELECT COUNT(*) FROM message WHERE id > ? AND id <= ?", (lo, hi))
    return int(row.fetchone()[0])


def indexed_rows(conn: sqlite3.Connection) -> int:
    """How many rows the main index holds (its per-row size table has one row each)."""
    return int(conn.execute(f"SELECT COUNT(*) FROM {FTS}_docsize").fetchone()[0])


def integrity_error(conn: sqlite3.Connection) -> str | None:
    """FTS5's own check of the index's internal structure; None when it passes."""
    try:
        conn.execute(f"INSERT INTO {FTS} ({FTS}) VALUES ('integrity-check')")
        conn.execute(f"INSERT INTO {CJK} ({CJK}) VALUES ('integrity-check')")
    except sqlite3.DatabaseError as err:
        return str(err)
    return None
