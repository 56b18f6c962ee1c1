"""Repair benchmarks: renumbering a large store as a job under live load, and `check`'s cost.

    .venv/bin/python -m tests.bench.repair_bench [--preset demo|small|medium|large] [--keep]

`run(preset)` returns rows shaped like `tests.bench.run.Result` (metric, value, baseline,
ratio, target, ok, unit, note). The store is written directly with `executemany` (the synthetic
log corpus would take minutes to ingest at this size): sessions of 20 to 20,000 messages of
~0.9 KB, one part each, in the real schema.

1. Every `seq` in the store is broken (doubled: gaps everywhere), then renumbered twice from the
   same copy: once as one transaction of two statements (the baseline), once as a job in
   batches while another process appends messages (as live ingest does) and another reads
   keyset pages. Reported: the job's time against the baseline (target <= 1.5x), the
   appender's commit p99 (target < 50 ms), the readers' page p99 against the same readers on
   the idle store (target <= 2x), the largest WAL seen (target < 64 MB).
2. `checks.run()` on the healthy store against `PRAGMA quick_check` alone (target < 3x).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import closing
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

ROWS = {"demo": 20_000, "small": 100_000, "medium": 300_000, "large": 1_000_000}
TEXT_BYTES = 900
IDLE_S = 3.0
APPEND_EVERY_S = 0.02
"""A live session writes a line every few tens of ms at its busiest."""
READ_EVERY_S = 0.01
WAL_TARGET_MB = 64


# ---------------------------------------------------------------------------------------------
# The store


def make_store(path: Path, rows: int, seed: int = 7) -> int:
    """A store of `rows` messages in the real schema; returns the number of sessions."""
    from store import db as store_db

    store_db.open_store(path)
    store_db.close()
    rnd = random.Random(seed)
    words = [
        "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9)))
        for _ in range(3000)
    ]
    sizes = _session_sizes(rows, rnd)
    conn = sqlite3.connect(path, isolation_level=None)  # closed at the end
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO source (id, path, agent, size, mtime_ns, offset, head_len, lines, "
        "lines_ok, lines_bad, lines_unknown, lines_dup, state, gone_since) "
        "VALUES (?, ?, 'claude', 0, 0, 0, 0, ?, ?, 0, 0, 0, '{}', 1)",
        [(i, f"/bench/gone/{i}.jsonl", n, n) for i, n in enumerate(sizes, 1)],
    )
    conn.executemany(
        "INSERT INTO session (id, agent, native_id, source_id, updated_at, message_count) "
        "VALUES (?, 'claude', ?, ?, ?, ?)",
        [(i, f"bench-{i}", i, i, n) for i, n in enumerate(sizes, 1)],
    )
    mid = 0
    for sid, n in enumerate(sizes, 1):
        batch = []
        for seq in range(1, n + 1):
            mid += 1
            text = " ".join(rnd.choices(words, k=160))[:TEXT_BYTES]
            batch.append((mid, sid, seq, f"m{mid}", text, sid, seq))
        conn.executemany(
            "INSERT INTO message (id, session_id, seq, stable_id, role, kind, line_type, text, "
            "hidden, stale, source_id, line) VALUES (?, ?, ?, ?, 'assistant', 'text', '', ?, "
            "0, 0, ?, ?)",
            batch,
        )
        conn.executemany(
            "INSERT INTO part (message_id, idx, type, is_error) VALUES (?, 0, 'text', 0)",
            [(r[0],) for r in batch],
        )
    conn.execute("COMMIT")
    # The rows went in by plain SQL: build their search index in one go, as the real store has it.
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'message_fts'").fetchone():
        conn.execute("INSERT INTO message_fts (message_fts) VALUES ('rebuild')")
        conn.execute("UPDATE search_backlog SET lo = 0, hi = 0")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return len(sizes)


def _session_sizes(rows: int, rnd: random.Random) -> list[int]:
    sizes = []
    while rows > 0:
        pick = rnd.random()
        n = (
            rnd.randint(20, 200)
            if pick < 0.7
            else (rnd.randint(200, 2000) if pick < 0.95 else rnd.randint(2000, 20_000))
        )
        sizes.append(min(n, rows))
        rows -= sizes[-1]
    return sizes


def break_every_seq(path: Path) -> None:
    """Gaps everywhere: every row's seq must be rewritten by the renumbering."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE message SET seq = -seq")
        conn.execute("UPDATE message SET seq = -seq * 2")
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def copy_store(path: Path, dest: Path) -> None:
    """A copy through SQLite's backup API. Never copy a live store with file reads: closing a
    file descriptor drops every POSIX lock this process holds on it, SQLite's included."""
    with closing(sqlite3.connect(path)) as src, closing(sqlite3.connect(dest)) as dst:
        src.backup(dst)


def renumber_in_one_statement(path: Path) -> float:
    """The baseline: the same ROW_NUMBER() renumbering, one transaction, nothing else running."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA cache_size = -16000")
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE message SET seq = -(r.rn + 1) FROM (SELECT id, ROW_NUMBER() OVER (PARTITION "
            "BY session_id ORDER BY id) AS rn FROM message) AS r WHERE message.id = r.id "
            "AND message.seq <> r.rn"
        )
        conn.execute("UPDATE message SET seq = -seq - 1 WHERE seq < -1")
        conn.execute("COMMIT")
        return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------
# The load: other processes


def appender(path: str, sessions: int, stop: Event, out: Any) -> None:
    """Append a message every few ms, as live ingest does; report each commit's latency."""
    from store.append import APPEND_SQL

    conn = sqlite3.connect(path, isolation_level=None, timeout=5)
    conn.execute("PRAGMA journal_mode = wal")
    conn.execute("PRAGMA synchronous = normal")
    rnd = random.Random(11)
    latencies, n = [], 0
    while not stop.is_set():
        sid = rnd.randint(1, sessions)
        n += 1
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            APPEND_SQL,
            (
                sid,
                f"live-{os.getpid()}-{n}",
                None,
                None,
                "user",
                "prompt",
                "",
                None,
                None,
                None,
                None,
                "live",
                0,
                None,
                None,
                None,
            ),
        ).fetchone()
        conn.execute("COMMIT")
        latencies.append(time.perf_counter() - t0)
        time.sleep(APPEND_EVERY_S)
    out.put(latencies)


def reader(path: str, sessions: int, stop: Event, out: Any) -> None:
    """Read keyset pages of random sessions at random depths; report each page's latency."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=5)
    conn.execute("PRAGMA cache_size = -16000")
    rnd = random.Random(13)
    for _ in range(100):  # warm the caches first: the idle baseline must not be a cold one
        conn.execute(
            "SELECT id FROM message WHERE session_id = ? LIMIT 200", (rnd.randint(1, sessions),)
        ).fetchall()
    latencies = []
    while not stop.is_set():
        sid = rnd.randint(1, sessions)
        after = rnd.randint(0, 200)
        t0 = time.perf_counter()
        conn.execute(
            "SELECT id, seq, role, kind, text FROM message WHERE session_id = ? AND "
            "seq > ? ORDER BY seq LIMIT 200",
            (sid, after),
        ).fetchall()
        latencies.append(time.perf_counter() - t0)
        time.sleep(READ_EVERY_S)
    out.put(latencies)


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values)


class Load:
    """An appender and a reader in their own processes, and the WAL watched meanwhile."""

    def __init__(self, path: Path, sessions: int, *, append: bool) -> None:
        ctx = mp.get_context("spawn")
        self.stop = ctx.Event()
        self.queues: list[Any] = []
        self.procs = []
        roles = [(reader, "read")] + ([(appender, "append")] if append else [])
        for fn, _name in roles:
            q = ctx.Queue()
            self.queues.append(q)
            self.procs.append(ctx.Process(target=fn, args=(str(path), sessions, self.stop, q)))
        self.wal = Path(str(path) + "-wal")
        self.wal_max = 0

    def __enter__(self) -> Load:
        for p in self.procs:
            p.start()
        time.sleep(1.0)  # spawn and imports
        return self

    def watch(self) -> None:
        self.wal_max = max(self.wal_max, self.wal.stat().st_size if self.wal.exists() else 0)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.results = [q.get(timeout=60) for q in self.queues]
        for p in self.procs:
            p.join(timeout=30)


# ---------------------------------------------------------------------------------------------
# The metrics


def row(
    metric: str,
    value: float,
    baseline: float | None,
    target: str,
    ok: bool,
    unit: str,
    note: str = "",
) -> dict[str, Any]:
    ratio = value / baseline if baseline else None
    return {
        "metric": metric,
        "value": value,
        "baseline": baseline,
        "ratio": ratio,
        "target": target,
        "ok": ok,
        "unit": unit,
        "note": note,
    }


def check_cost(path: Path) -> dict[str, Any]:
    from store import db as store_db
    from store.repair import checks

    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA quick_check").fetchall()  # warm the OS cache for both
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            conn.execute("PRAGMA quick_check").fetchall()
            times.append(time.perf_counter() - t0)
    quick = min(times)
    store_db.open_store(path)
    runs = []
    for _ in range(2):
        report = checks.run(logs=False)
        runs.append(report.elapsed_s)
        assert report.ok, report.to_json()
    store_db.close()
    took = min(runs)
    return row(
        "repair: check vs quick_check alone",
        took,
        quick,
        "< 3",
        took < 3 * quick,
        "s",
        "healthy store, logs not compared",
    )


def renumber_under_load(path: Path, sessions: int, work: Path) -> list[dict[str, Any]]:
    from store import db as store_db
    from store.repair import jobs

    break_every_seq(path)
    copy = work / "baseline.db"
    copy_store(path, copy)
    single = renumber_in_one_statement(copy)
    copy.unlink()
    with Load(path, sessions, append=False) as idle:
        time.sleep(IDLE_S)
    idle_p99 = p99(idle.results[0])
    store_db.open_store(path)
    job_id = jobs.create("renumber", {"sessions": None, "sources": []})
    with Load(path, sessions, append=True) as load:
        t0 = time.perf_counter()
        status = jobs.run(job_id, progress=lambda _st: load.watch())
        took = time.perf_counter() - t0
        load.watch()
    store_db.close()
    reads, appends = load.results
    note = f"{status.rows_done:,} rows, {status.status}, {len(appends)} appends"
    return [
        row(
            "repair: renumber job vs one statement",
            took,
            single,
            "<= 1.5",
            took <= 1.5 * single,
            "s",
            note,
        ),
        row(
            "repair: appender commit p99 during the job",
            p99(appends) * 1000,
            None,
            "< 50 ms",
            p99(appends) < 0.05,
            "ms",
            f"max {max(appends) * 1000:.0f} ms",
        ),
        row(
            "repair: page p99 during the job vs idle",
            p99(reads) * 1000,
            idle_p99 * 1000,
            "<= 2",
            p99(reads) <= 2 * idle_p99,
            "ms",
            f"{len(reads)} pages",
        ),
        row(
            "repair: largest WAL during the job",
            load.wal_max / 2**20,
            None,
            f"< {WAL_TARGET_MB} MB",
            load.wal_max < WAL_TARGET_MB * 2**20,
            "MB",
        ),
    ]


def run(preset: str = "medium", work: Path | None = None) -> list[dict[str, Any]]:
    """Every repair metric for a store of the preset's size (see `ROWS`)."""
    owned = work is None
    work = work or Path(tempfile.mkdtemp(prefix="convo-repair-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        path = work / "bench.db"
        sessions = make_store(path, ROWS[preset])
        return [check_cost(path), *renumber_under_load(path, sessions, work)]
    finally:
        if owned:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bench.repair_bench")
    p.add_argument("--preset", default="medium", choices=sorted(ROWS))
    p.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    args = p.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    for r in run(args.preset, args.keep):
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else ""
        verdict = "PASS" if r["ok"] else "MISSED"
        print(
            f"{verdict:<7}{r['metric']:<46}{r['value']:10.2f} {r['unit']:<3} {ratio:>7}  "
            f"target {r['target']:<9} {r['note']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
