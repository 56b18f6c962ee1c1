"""Clearing a session for re-ingest (rule 3): enumerate with a table scan, delete by primary key.

A drifted secondary index can miss rows; a delete that trusts it (`DELETE ... WHERE
session_id = ?` planned through the index) leaves ghost rows behind, and the next insert then
collides with them. So ids are enumerated with `NOT INDEXED` (a plain scan of the table) and
deleted by primary key, in bounded batches, each through the commit funnel.
"""

from __future__ import annotations

from store import funnel, textindex
from store.db import connection
from store.models import ChatMessage, Session, Source, db

BATCH = 1000

IDS_SQL = "SELECT id FROM message NOT INDEXED WHERE session_id = ?"


def message_ids(session_id: int) -> list[int]:
    """Every message id of a session, found by scanning the table (no index trusted)."""
    with db.connection_context():
        return [int(r[0]) for r in connection().execute(IDS_SQL, (session_id,))]


def clear_session(session_id: int) -> int:
    """Delete a session's messages (and, by cascade, their parts); returns how many went.

    The session row stays, with its count reset, so it can be filled again by re-ingest.
    """
    ids = message_ids(session_id)
    deleted = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]

        def work(chunk: list[int] = chunk) -> int:
            textindex.removing(connection(), chunk)
            return int(ChatMessage.delete().where(ChatMessage.id.in_(chunk)).execute())

        ctx = funnel.Context("clear-session", session_key=str(session_id))
        outcome = funnel.write(work, ctx)
        if not outcome.ok and outcome.error_kind == "io":
            # SQLite refuses to delete a row whose index entry is missing ("malformed"): the
            # index drifted. Rebuild the message indexes from the table, then try again.
            funnel.write(lambda: connection().execute("REINDEX message"), ctx)
            outcome = funnel.write(work, ctx)
        if not outcome.ok:
            break
        deleted += outcome.value or 0
    funnel.write(
        lambda: Session.update(message_count=0).where(Session.id == session_id).execute(),
        funnel.Context("clear-session", session_key=str(session_id)),
    )
    return deleted


def reset_source_for(session_id: int) -> str | None:
    """Rewind the log file a session came from to byte 0, so the next ingest re-reads it whole.

    Returns the file's path (None when the session has no source).
    """

    def work() -> str | None:
        row = Session.select(Session.source).where(Session.id == session_id).tuples().first()
        if row is None or row[0] is None:
            return None
        source_id = int(row[0])
        Source.update(
            offset=0,
            lines=0,
            state="{}",
            head_len=0,
            head_hash=None,
            size=-1,
            lines_ok=0,
            lines_bad=0,
            lines_unknown=0,
            lines_dup=0,
        ).where(Source.id == source_id).execute()
        path: str = Source.get_by_id(source_id).path
        return path

    return funnel.write(work, funnel.Context("reset-source", session_key=str(session_id))).value
