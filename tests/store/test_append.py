"""The database owns `seq`: one statement assigns it, RETURNING hands it back, upserts keep it."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from store import append, funnel
from store import db as store_db
from store.records import MessageRecord, PartRecord, SessionInfo


def _rec(key: str, stable: str, text: str = "hello") -> MessageRecord:
    return MessageRecord(
        session_key=key,
        stable_id=stable,
        role="user",
        kind="prompt",
        text=text,
        raw=b'{"x":1}',
        line=1,
        parts=(PartRecord("text", text),),
    )


def _session(key: str = "s1") -> int:
    out = funnel.write(
        lambda: append.upsert_session("claude", SessionInfo(key), None, None, None),
        funnel.Context("test"),
    )
    assert out.ok and out.value is not None
    return out.value


def _stored(message_id: int) -> int:
    with store_db.reading() as conn:
        return int(
            conn.execute("SELECT seq FROM message WHERE id = ?", (message_id,)).fetchone()[0]
        )


def test_seq_returned_is_the_stored_one_and_upsert_keeps_it(db_file: Path) -> None:
    sid = _session()
    got = [
        funnel.write(lambda s=s: append.append(sid, _rec("s1", s)), funnel.Context("t")).value
        for s in ("a", "b", "c")
    ]
    assert [g[1] for g in got if g] == [1, 2, 3]
    for message_id, seq in (g for g in got if g):
        assert _stored(message_id) == seq
    again = funnel.write(
        lambda: append.append(sid, _rec("s1", "a", "changed")), funnel.Context("t")
    ).value
    assert again == got[0]  # same row, same seq: the first copy is kept
    nxt = funnel.write(lambda: append.append(sid, _rec("s1", "d")), funnel.Context("t")).value
    assert nxt is not None and nxt[1] == 4


def test_seq_is_per_session(db_file: Path) -> None:
    one, two = _session("one"), _session("two")
    a = funnel.write(lambda: append.append(one, _rec("one", "x")), funnel.Context("t")).value
    b = funnel.write(lambda: append.append(two, _rec("two", "x")), funnel.Context("t")).value
    assert a is not None and b is not None and a[1] == b[1] == 1


def _appender(db_path: str, session_id: int, tag: str, n: int, out: multiprocessing.Queue) -> None:
    store_db.open_store(db_path, migrate=False)
    seqs = []
    for i in range(n):
        result = funnel.write(
            lambda i=i: append.append(session_id, _rec("s1", f"{tag}{i}")), funnel.Context("t")
        )
        assert result.ok and result.value is not None, result.error
        seqs.append(result.value)
    out.put((tag, seqs))


def test_two_processes_appending_to_one_session(db_file: Path) -> None:
    sid = _session()
    store_db.close()
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue = ctx.Queue()
    procs = [
        ctx.Process(target=_appender, args=(str(db_file), sid, tag, 300, queue))
        for tag in ("p", "q")
    ]
    for p in procs:
        p.start()
    results = dict(queue.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    store_db.open_store(db_file)
    with store_db.reading() as conn:
        rows = conn.execute(
            "SELECT id, seq FROM message WHERE session_id = ? ORDER BY seq", (sid,)
        ).fetchall()
    assert [r[1] for r in rows] == list(range(1, 601))  # no duplicate, no gap
    stored = dict(rows)
    for pairs in results.values():
        seqs = [seq for _, seq in pairs]
        assert seqs == sorted(seqs)  # each writer's messages in its own order
        assert all(stored[mid] == seq for mid, seq in pairs)  # handed back == stored
