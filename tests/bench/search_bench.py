"""Search measurements for `tests/bench/run.py` (and runnable alone on a store file).

Plain numbers out; run.py turns them into rows:

- `pick_queries(db)`: a rare word, the word in the most messages, and a two-word phrase, from the
  index's own vocabulary (fts5vocab) and a seeded sample of messages, each checked to find hits.
- `latency(db, queries)`: in-process `store.search.engine.search` p50/p99 per query (20 hits).
- `cli_times(db, commands)`: median wall time of `convo ...` runs, interleaved so that machine
  noise spreads over every command alike.
- `sizes(db)`: the index's bytes (its FTS5 shadow tables, by `dbstat`, else the file size
  difference against a store ingested without it) and the indexed text's bytes.

    .venv/bin/python -m tests.bench.search_bench DB    # prints the numbers as JSON
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CONVO = Path(sys.executable).parent / "convo"
LIMIT = 20
_ALPHA = re.compile(r"^[a-z]+$")
_HEX = re.compile(r"^[a-f]+$")  # a fragment of a hash or an id, not a word
_WORDS = re.compile(r"[A-Za-z]{4,}")


def convo_command() -> list[str]:
    """The real `convo` executable (the console script), else `python -m tui`."""
    return [str(CONVO)] if CONVO.exists() else [sys.executable, "-m", "tui"]


def _connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def pick_queries(db: Path, seed: int = 7) -> dict[str, Any]:
    """{"rare", "common", "phrase": the query text, "rare_doc": rows holding the rare word,
    "common_share": the share of rows holding the common one, "messages": rows indexed}."""
    conn = _connect(db)
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, 'message_fts', 'row')")
        total = int(conn.execute("SELECT COUNT(*) FROM message_fts_docsize").fetchone()[0])
        terms = [
            (str(t), int(d))
            for t, d in conn.execute("SELECT term, doc FROM temp.vocab ORDER BY doc DESC, term")
            if _ALPHA.match(str(t))
        ]
        # The word in the most messages (a stop word too: people type them, and it is the worst
        # case), of at least 3 letters.
        common, common_doc = next((t, d) for t, d in terms if len(t) >= 3)
        rnd = random.Random(seed)
        # A seeded pick among the 50 rarest words of at least 6 letters (a large corpus may
        # repeat every word: the rarest is still the rare case).
        words = [(t, d) for t, d in terms if len(t) >= 6 and not _HEX.match(t)]
        rare_pool = sorted(words, key=lambda td: (td[1], td[0]))[:50]
        rnd.shuffle(rare_pool)
        phrases = _phrase_candidates(conn, rnd)
    finally:
        conn.close()
    rare = _first_found(db, [t for t, _d in rare_pool])
    return {
        "rare": rare,
        "rare_doc": dict(rare_pool)[rare],
        "common": common,
        "common_share": common_doc / total if total else 0.0,
        "phrase": _first_found(db, phrases),
        "messages": total,
    }


def _phrase_candidates(conn: sqlite3.Connection, rnd: random.Random) -> list[str]:
    """Two neighbouring words (4+ letters each) of sampled assistant replies, as `"a b"`."""
    top = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM message").fetchone()[0])
    out = []
    for _ in range(200):
        row = conn.execute(
            "SELECT text FROM message WHERE id >= ? AND role = 'assistant' AND kind = 'text' "
            "ORDER BY id LIMIT 1",
            (rnd.randint(1, max(1, top)),),
        ).fetchone()
        if row is None:
            continue
        words = str(row[0]).split()
        for a, b in itertools.pairwise(words):
            if _WORDS.fullmatch(a) and _WORDS.fullmatch(b):
                out.append(f'"{a.lower()} {b.lower()}"')
                break
        if len(out) >= 20:
            break
    return out


def _first_found(db: Path, candidates: Sequence[str]) -> str:
    """The first candidate that finds a hit (a stem the tokenizer reads otherwise would not)."""
    from store import db as store_db
    from store.search import engine

    store_db.open_store(db, migrate=False)
    try:
        for text in candidates:
            if engine.search(text, limit=1).hits:
                return text
    finally:
        store_db.close()
    raise RuntimeError(f"none of {len(candidates)} candidate queries finds anything")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def latency(
    db: Path, queries: dict[str, tuple[str, dict[str, Any]]], repeats: int = 60
) -> dict[str, dict[str, Any]]:
    """For each name -> (text, filters): p50 and p99 in ms of a first page of `LIMIT` hits,
    how many hits it had and how it was ranked."""
    from store import db as store_db
    from store.search import engine
    from store.search.filters import Filters

    store_db.open_store(db, migrate=False)
    out: dict[str, dict[str, Any]] = {}
    try:
        for name, (text, filters) in queries.items():
            flt = Filters(**filters)
            first = engine.search(text, flt, limit=LIMIT)  # warm the page cache
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                engine.search(text, flt, limit=LIMIT)
                times.append((time.perf_counter() - start) * 1000)
            out[name] = {
                "query": text,
                "filters": filters,
                "p50_ms": statistics.median(times),
                "p99_ms": _percentile(times, 0.99),
                "hits": len(first.hits),
                "ranking": first.ranking,
                "fallback": first.fallback,
            }
    finally:
        store_db.close()
    return out


def cli_times(commands: dict[str, list[str]], repeats: int = 7) -> dict[str, float]:
    """Median wall seconds of each command (one untimed warm-up each, then interleaved)."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(repeats + 1):
        for name, cmd in commands.items():
            start = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, cwd=ROOT, timeout=600)
            seconds = time.perf_counter() - start
            if done.returncode not in (0, 1):
                raise RuntimeError(f"{name} failed ({done.returncode}): {done.stderr[-300:]!r}")
            if round_:
                times[name].append(seconds)
    return {name: statistics.median(values) for name, values in times.items()}


INDEX_TABLES = ("message_fts", "message_cjk", "search_backlog")


def sizes(db: Path, plain: Path | None = None) -> dict[str, Any]:
    """The index's bytes (FTS5 shadow tables by `dbstat`, else the file size difference against
    `plain`, a store of the same corpus without the index) and the indexed text's bytes."""
    conn = _connect(db)
    try:
        text_bytes = int(
            conn.execute(
                "SELECT COALESCE(SUM(LENGTH(CAST(text AS BLOB))), 0) FROM message"
            ).fetchone()[0]
        )
        try:
            rows = conn.execute(
                "SELECT name, SUM(pgsize), SUM(pgsize - unused) FROM dbstat GROUP BY name"
            ).fetchall()
        except sqlite3.OperationalError:  # SQLite built without dbstat
            rows = []
    finally:
        conn.close()
    tables = {str(r[0]): int(r[1]) for r in rows if str(r[0]).startswith(INDEX_TABLES)}
    out: dict[str, Any] = {"text_bytes": text_bytes, "file_bytes": db.stat().st_size}
    if plain is not None:
        out["plain_file_bytes"] = plain.stat().st_size
    if tables:
        out["index_bytes"], out["how"] = sum(tables.values()), "dbstat"
        out["index_payload_bytes"] = sum(
            int(r[2]) for r in rows if str(r[0]).startswith(INDEX_TABLES)
        )
        out["tables"] = tables
    elif plain is not None:
        out["index_bytes"], out["how"] = out["file_bytes"] - out["plain_file_bytes"], "file size"
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    db = Path(args[0])
    picked = pick_queries(db)
    queries = {
        "rare": (picked["rare"], {}),
        "common": (picked["common"], {}),
        "phrase": (picked["phrase"], {}),
        "filtered": (picked["common"], {"agent": "codex"}),
    }
    print(json.dumps({"picked": picked, "latency": latency(db, queries), "sizes": sizes(db)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
