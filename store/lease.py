"""The repair lease: while a repair has dropped one of `message`'s unique indexes (to rebuild one
that said UNIQUE over equal keys), the append's `ON CONFLICT` has nothing to conflict on, so a
writer in another process (another `convo ingest`, the app's live following) must not append.

There is no lease row to leak: the lease is held exactly while a declared unique index of
`message` is absent and a repair job (pending or running) belongs to a live process: another
one, or this one when the writer is not the thread running the repair (the app repairs on one
thread while it follows the logs on another; the repair's own re-reads run on its thread and
must not wait for themselves: `repairing` marks that thread). A writer checks it inside its own
write transaction (`check`), so the repair cannot drop the index between the check and the
write; `store.funnel.write` then waits, retries and says why.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

UNIQUE_MESSAGE_INDEXES = ("message_session_id_seq", "message_session_id_stable_id")


_thread = threading.local()


@contextmanager
def repairing() -> Iterator[None]:
    """Mark this thread as the one running repair jobs while the block runs (re-entrant)."""
    _thread.depth = getattr(_thread, "depth", 0) + 1
    try:
        yield
    finally:
        _thread.depth -= 1


class LeaseHeld(Exception):
    """A repair holds the lease; `reason` says which process and which index."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def holder(conn: sqlite3.Connection) -> str | None:
    """Why writers must wait now, or None when they need not."""
    unique = {
        name
        for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'message'"
        )
        if sql and str(sql).upper().startswith("CREATE UNIQUE")
    }
    missing = [n for n in UNIQUE_MESSAGE_INDEXES if n not in unique]
    if not missing:
        return None
    me = os.getpid()
    own = getattr(_thread, "depth", 0) > 0
    for job_id, name, pid in conn.execute(
        "SELECT id, name, pid FROM job WHERE status IN ('pending', 'running') "
        "AND pid IS NOT NULL ORDER BY id"
    ):
        if int(pid) == me and own:
            continue  # the repair's own writes
        if int(pid) == me or pid_alive(int(pid)):
            who = "this process" if int(pid) == me else f"process {pid}"
            return (
                f"the store is being repaired by {who} (job #{job_id}, {name}): "
                f"{', '.join(missing)} is rebuilt meanwhile"
            )
    return None


def check(conn: sqlite3.Connection) -> None:
    """Raise `LeaseHeld` when a repair holds the lease (call it inside the write transaction)."""
    reason = holder(conn)
    if reason is not None:
        raise LeaseHeld(reason)


def pid_alive(pid: int) -> bool:
    """Whether a process is running (a zombie nobody reaped yet counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child that nobody reaped yet is a zombie: dead for our purposes
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")
