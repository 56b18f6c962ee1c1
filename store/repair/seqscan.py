"""The sequence check without a trustworthy unique (session, seq) index: one `NOT INDEXED` scan
of `message` in id order (`store.repair.checker` walks the index instead when it can trust it)."""

from __future__ import annotations

import sqlite3
from typing import Any

from store.repair.findings import SeqIssue


def seq_by_scan(conn: sqlite3.Connection) -> list[SeqIssue]:
    """Without a trustworthy unique (session, seq) index: one table scan in id order."""
    stats: dict[int, list[Any]] = {}
    for sid, seq, _id in conn.execute("SELECT session_id, seq, id FROM message NOT INDEXED"):
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
