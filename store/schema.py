"""Create and migrate the schema; the version is recorded in `PRAGMA user_version`.

Migrations only go forward. Each step is a function that brings the schema from version N-1 to
N inside one transaction; a store newer than this code is refused, not downgraded.
"""

from __future__ import annotations

from collections.abc import Callable

from store import textindex
from store.errors import StoreUnusable
from store.models import MODELS, db

SCHEMA_VERSION = 2


def _v1() -> None:
    db.create_tables(MODELS, safe=True)


def _v2() -> None:
    """The full-text index (where this SQLite has FTS5). The rows a store already holds are left
    to the resumable `search_index` job, so opening a large store does not stall on indexing."""
    textindex.create(db.connection(), backlog_all=True)


MIGRATIONS: dict[int, Callable[[], None]] = {1: _v1, 2: _v2}
"""Target version -> the step that reaches it from the version before."""


def current_version() -> int:
    row = db.execute_sql("PRAGMA user_version").fetchone()
    return int(row[0]) if row else 0


def migrate() -> int:
    """Bring the open store up to `SCHEMA_VERSION`; returns the version it started at.

    Raises:
        StoreUnusable: the store was written by a newer convo.
    """
    start = current_version()
    if start > SCHEMA_VERSION:
        raise StoreUnusable(
            f"the store has schema version {start}, newer than this convo ({SCHEMA_VERSION})"
        )
    for version in range(start + 1, SCHEMA_VERSION + 1):
        with db.atomic("IMMEDIATE"):
            MIGRATIONS[version]()
            db.execute_sql(f"PRAGMA user_version = {version}")
    return start
