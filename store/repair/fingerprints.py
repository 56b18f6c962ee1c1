"""Index fingerprints: whether an index agrees with its table, without trusting the index.

A fingerprint is (row count, sum of a hash of the indexed columns and the rowid, modulo a
prime). Computed once through the index (`INDEXED BY`, a scan of the index alone) and once
through the table (`NOT INDEXED`), the two agree exactly when the index holds one entry per row
with that row's values; a missing, extra or stale entry changes them (with a chance of 1 in
about 10^9 to go unnoticed). This costs one scan of each, much less than `integrity_check`.
"""

from __future__ import annotations

import sqlite3

from store.models import MODELS
from store.repair.findings import IndexSpec

FP_MOD = 1_000_000_007
_PRIMES = (9973, 40503, 7919, 104729, 1299709)


def expected_indexes() -> list[IndexSpec]:
    """The indexes the models declare."""
    specs = []
    for model in MODELS:
        table = model._meta.table_name
        for idx in model._meta.fields_to_index():
            cols = tuple(getattr(e, "column_name", str(e)) for e in idx._expressions)
            specs.append(IndexSpec(idx._name, table, cols, bool(idx._unique)))
    return specs


def actual_indexes(conn: sqlite3.Connection) -> dict[str, IndexSpec]:
    """The indexes in the file (those made by CREATE INDEX), by name."""
    out = {}
    for name, table in conn.execute(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ):
        info = conn.execute(f'PRAGMA index_info("{name}")').fetchall()
        unique = any(r[1] == name and r[2] for r in conn.execute(f'PRAGMA index_list("{table}")'))
        out[name] = IndexSpec(name, table, tuple(r[2] or "" for r in info), unique)
    return out


def fingerprint_sql(spec: IndexSpec, text_columns: set[str]) -> str:
    """`SUM(hash(rowid, columns) % p)`: equal from the index and the table when they agree."""
    terms = ["rowid * 2654435761"]
    for prime, col in zip(_PRIMES, spec.columns, strict=False):
        value = (
            f'(length("{col}") * 131 + COALESCE(unicode("{col}"), 0))'
            if col in text_columns
            else f'"{col}"'
        )
        terms.append(f"COALESCE({value}, 0) * {prime}")
    return f"SUM(({' + '.join(terms)}) % {FP_MOD})"


def text_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {
        r[1]
        for r in conn.execute(f'PRAGMA table_info("{table}")')
        if "CHAR" in str(r[2]).upper() or "TEXT" in str(r[2]).upper()
    }


def table_fp(conn: sqlite3.Connection, spec: IndexSpec) -> tuple[int, int]:
    """The fingerprint of an index's columns, read from its table."""
    fp = fingerprint_sql(spec, text_columns(conn, spec.table))
    row = conn.execute(f'SELECT COUNT(*), {fp} FROM "{spec.table}" NOT INDEXED').fetchone()
    return int(row[0]), int(row[1] or 0)


def index_fp(conn: sqlite3.Connection, spec: IndexSpec) -> tuple[int, int]:
    """The same fingerprint, read from the index alone."""
    fp = fingerprint_sql(spec, text_columns(conn, spec.table))
    row = conn.execute(
        f'SELECT COUNT(*), {fp} FROM "{spec.table}" INDEXED BY "{spec.name}"'
    ).fetchone()
    return int(row[0]), int(row[1] or 0)


def duplicate_keys(conn: sqlite3.Connection, spec: IndexSpec) -> int:
    """Rows beyond the first of each key of a unique index, read from its table (`NOT INDEXED`):
    0 when the index may be trusted to be unique. An index whose schema says UNIQUE but whose
    b-tree was built non-unique (`writable_schema`) passes `quick_check` and the fingerprint; only
    this scan (or `integrity_check`) sees the keys it holds twice."""
    cols = ", ".join(f'"{c}"' for c in spec.columns)
    nulls = " AND ".join(f'"{c}" IS NOT NULL' for c in spec.columns)  # NULLs never collide
    row = conn.execute(
        f'SELECT SUM(n - 1) FROM (SELECT COUNT(*) AS n FROM "{spec.table}" NOT INDEXED '
        f"WHERE {nulls} GROUP BY {cols} HAVING COUNT(*) > 1)"
    ).fetchone()
    return int(row[0] or 0)
