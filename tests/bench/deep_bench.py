"""`convo check --deep` against `PRAGMA integrity_check` alone, on the repair bench's store.

    .venv/bin/python -m tests.bench.deep_bench [--preset demo|small|medium|large]

The repair bench's store (`repair_bench.make_store`) holds no raw records; here each message gets
one (a Claude Code-shaped JSON line holding its text, zstd-compressed the way ingest stores it),
so the deep check decompresses as much as on a real store of that size. Reported: the whole
`checks.run(deep=True)` (the default checks, `integrity_check`, every record decompressed) against
`integrity_check` alone, both on a warm cache (reported: the default checks have their own target
in repair_bench); and the deep steps alone (`store.repair.deep.run`: `integrity_check` on another
thread while every record is decompressed), target <= 3x.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from tests.bench.repair_bench import ROWS, make_store, row

BATCH = 5000
TARGET = 3.0
"""`--deep` within 3x `integrity_check`: decompressing ~1 KB records costs less than the
integrity walk of the pages that hold them."""


def add_raw_records(path: Path) -> int:
    """A compressed raw record for every message; returns how many."""
    from store.append import compress

    done = 0
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA synchronous = OFF")
        after = 0
        while True:
            rows = conn.execute(
                "SELECT id, session_id, text FROM message WHERE id > ? ORDER BY id LIMIT ?",
                (after, BATCH),
            ).fetchall()
            if not rows:
                break
            blobs = [
                (
                    compress(
                        json.dumps(
                            {
                                "type": "assistant",
                                "sessionId": f"bench-{sid}",
                                "uuid": f"m{mid}",
                                "message": {"content": [{"type": "text", "text": text}]},
                            }
                        ).encode()
                    ),
                    mid,
                )
                for mid, sid, text in rows
            ]
            conn.execute("BEGIN")
            conn.executemany("UPDATE message SET raw = ? WHERE id = ?", blobs)
            conn.execute("COMMIT")
            done += len(rows)
            after = rows[-1][0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return done


def integrity_alone(path: Path) -> float:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA integrity_check").fetchall()  # warm the OS cache
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            times.append(time.perf_counter() - t0)
    return min(times)


def deep_cost(path: Path, records: int) -> list[dict[str, Any]]:
    from store import db as store_db
    from store.db import reading
    from store.repair import checks, deep

    integrity = integrity_alone(path)
    store_db.open_store(path)
    whole, steps = [], []
    for _ in range(2):
        report = checks.run(logs=False, deep=True)
        found = report.deep
        assert found is not None and report.unusable is None, report.to_json()
        assert not found.integrity and not found.unreadable, found.to_json()
        assert found.records == records, found.records
        whole.append(report.elapsed_s)
        with reading() as conn:
            t0 = time.perf_counter()
            deep.run(conn)
            steps.append(time.perf_counter() - t0)
    store_db.close()
    took, alone = min(whole), min(steps)
    note = f"{records:,} raw records decompressed, healthy store, logs not compared"
    return [
        {  # reported: the default checks are in it too (their own target is in repair_bench)
            **row("repair: check --deep vs integrity_check alone", took, integrity, "", True, "s"),
            "ok": None,
            "target": "reported",
            "note": note,
        },
        row(
            "repair: deep steps alone vs integrity_check",
            alone,
            integrity,
            f"<= {TARGET:g}",
            alone <= TARGET * integrity,
            "s",
            "integrity_check + every raw record decompressed",
        ),
    ]


def run(preset: str = "medium", work: Path | None = None) -> list[dict[str, Any]]:
    """The deep check's metrics for a store of the preset's size (see `repair_bench.ROWS`)."""
    owned = work is None
    work = work or Path(tempfile.mkdtemp(prefix="convo-deep-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        path = work / "deep.db"
        path.unlink(missing_ok=True)
        make_store(path, ROWS[preset])
        return deep_cost(path, add_raw_records(path))
    finally:
        if owned:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bench.deep_bench")
    p.add_argument("--preset", default="medium", choices=sorted(ROWS))
    args = p.parse_args(argv)
    for r in run(args.preset):
        verdict = {True: "PASS", False: "MISSED", None: "-"}[r["ok"]]
        print(
            f"{verdict:<7}{r['metric']:<46}{r['value']:10.2f} {r['unit']:<3} "
            f"{r['ratio']:>6.2f}x  target {r['target']:<9} {r['note']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
