"""The repair lease within one process: the app repairs on one thread and follows the logs on
another, so a writer on another thread waits while this process's repair has a unique index of
`message` down; the repair's own thread never waits for itself; quitting stops a wait at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from store import funnel, lease
from store.db import connection, reading
from store.repair import jobs


def _drop_unique_index() -> None:
    with reading() as conn:
        conn.execute("DROP INDEX message_session_id_stable_id")


def test_another_thread_waits_for_this_process_repair(db_file: Path) -> None:
    job_id = jobs.create("recount", {"sessions": [], "sources": []})
    _drop_unique_index()
    with reading() as conn:
        reason = lease.holder(conn)
        assert reason is not None and "this process" in reason and f"#{job_id}" in reason
        with lease.repairing():
            assert lease.holder(conn) is None  # the repair's own writes go on
        seen: list[str | None] = []
        other = threading.Thread(target=lambda: seen.append(_holder_on_new_connection()))
        with lease.repairing():
            other.start()
            other.join()
        assert seen and seen[0] is not None  # the mark is this thread's only


def _holder_on_new_connection() -> str | None:
    with reading() as conn:
        return lease.holder(conn)


def test_a_waiting_write_gives_up_when_told(db_file: Path) -> None:
    jobs.create("recount", {"sessions": [], "sources": []})
    _drop_unique_index()

    def work() -> None:
        lease.check(connection())  # as the ingest writer does, inside its transaction

    outcome: list[funnel.Outcome[None]] = []
    writer = threading.Thread(
        target=lambda: outcome.append(funnel.write(work, funnel.Context("t")))
    )
    writer.start()
    time.sleep(0.6)
    assert writer.is_alive() and not outcome  # waiting for the repair
    funnel.give_up_waiting()
    try:
        writer.join(timeout=2)
        assert not writer.is_alive()
        assert not outcome[0].ok and "being repaired by this process" in (outcome[0].error or "")
    finally:
        funnel.give_up_waiting(False)
