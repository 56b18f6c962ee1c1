"""The database and its settings: where the store lives, how it is opened, and units of work.

The one `DatabaseProxy` (`store.models.db`, where the models are declared) is bound to the open
store. Peewee keeps one connection per thread; every public store function runs inside `reading()`
or the commit funnel, so a Textual thread worker never leaves a connection half-used.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import platformdirs
from peewee import DatabaseError, SqliteDatabase

from store import schema, textindex
from store.errors import StoreUnusable
from store.models import db

BUSY_TIMEOUT_S = 5.0
PRAGMAS: dict[str, object] = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    # 16 MB per connection: at 64 MB the page cache was most of ingest's peak memory, for no
    # measurable speed (the OS caches the file too).
    "cache_size": -16_000,
    "temp_store": "memory",
}


def default_db_path() -> Path:
    """`$CONVO_DB` if set, else `convo.db` in the platform's user data folder."""
    env = os.environ.get("CONVO_DB")
    if env:
        return Path(env).expanduser()
    return platformdirs.user_data_path("convo", appauthor=False) / "convo.db"


def open_store(
    path: Path | str | None = None, *, timeout: float = BUSY_TIMEOUT_S, migrate: bool = True
) -> SqliteDatabase:
    """Open (creating if needed) the store at `path` and bind the models to it.

    Args:
        path: the database file; default `default_db_path()`.
        timeout: the busy timeout in seconds (how long a writer waits for the lock).
        migrate: create or upgrade the schema.

    Raises:
        StoreUnusable: the file cannot be created, is not a database, or is corrupt.
    """
    target = Path(path) if path is not None else default_db_path()
    target = target.expanduser()
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # private, as the file
        if not target.exists():
            target.touch(mode=0o600)
    except OSError as err:
        raise StoreUnusable(f"cannot create the store at {target}: {err.strerror or err}") from None
    database = SqliteDatabase(
        str(target), pragmas=PRAGMAS, timeout=timeout, check_same_thread=False
    )
    if not db.is_closed() if db.obj is not None else False:
        db.close()
    db.initialize(database)
    textindex.forget()
    if migrate:
        try:
            with db.connection_context():
                schema.migrate()
        except (DatabaseError, sqlite3.DatabaseError) as err:
            db.close()
            raise StoreUnusable(f"cannot open the store at {target}: {err}") from None
    return database


def store_path() -> Path:
    """The file of the store that is open now."""
    return Path(db.obj.database)


@contextmanager
def reading() -> Iterator[sqlite3.Connection]:
    """A unit of read work on this thread's connection (opened and closed around it)."""
    with db.connection_context():
        yield db.connection()


def connection() -> sqlite3.Connection:
    """This thread's raw connection (for prepared statements on the hot paths)."""
    conn: sqlite3.Connection = db.connection()
    return conn


def close() -> None:
    """Close this thread's connection, if open."""
    if db.obj is not None and not db.is_closed():
        db.close()
    textindex.forget()
