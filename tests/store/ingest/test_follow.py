"""Live following, store side: a real watcher on a real folder, `ingest_changed` on just the
changed paths, and a stopped pass that resumes where it stopped."""

from __future__ import annotations

import json
import queue
import threading
import time
from pathlib import Path

import pytest
from watchfiles import Change

from store import pages
from store.db import reading
from store.ingest import driver
from store.ingest.driver import Ingester
from store.ingest.follow import changed_sources, ingest_changed, ingest_on_change, watch_roots
from store.ingest.writing import IngestReport
from tests.store.ingest.opencode_data import (
    T0,
    add_message,
    add_part,
    add_session,
    make_db,
    text,
    user,
)

WAIT_S = 5.0
"""The longest any test here waits for the file system to report a change."""


def gemini_line(i: int) -> str:
    record = {
        "id": f"m{i}",
        "timestamp": "2026-05-01T10:00:00Z",
        "type": "user",
        "content": f"p{i}",
    }
    return json.dumps(record) + "\n"


def start_log(folder: Path, name: str = "session-2026-05-01T10-00-s1.jsonl") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / name
    log.write_text(json.dumps({"sessionId": name[:-6], "projectHash": "h"}) + "\n")
    return log


def watch_until(roots: list[Path], poke: object, handler: object) -> object:
    """Run a watcher, poke the folder until the handler reports (bounded), stop the watcher."""
    got: queue.Queue[object] = queue.Queue()
    stop = threading.Event()

    def on_change(paths: list[Path]) -> None:
        got.put(handler(paths) if callable(handler) else paths)

    thread = threading.Thread(
        target=watch_roots,
        args=(roots, stop, on_change),
        kwargs={"debounce_ms": 50, "rust_timeout_ms": 100},
        daemon=True,
    )
    thread.start()
    found: object = None
    deadline = time.monotonic() + WAIT_S
    try:
        # The watcher has no "ready" signal: poke again until it reports, within the bound.
        while found is None and time.monotonic() < deadline:
            assert callable(poke)
            poke()
            try:
                found = got.get(timeout=0.3)
            except queue.Empty:
                continue
    finally:
        stop.set()
        thread.join(WAIT_S)
    assert not thread.is_alive(), "the watcher did not stop"
    return found


def test_watcher_reports_an_append_and_ignores_other_files(tmp_path: Path) -> None:
    chats = tmp_path / "gemini" / "tmp" / "p" / "chats"
    log = start_log(chats)
    counter = iter(range(1000))

    def poke() -> None:
        (chats.parent / "notes.txt").write_text("not a log")
        with log.open("a") as fh:
            fh.write(gemini_line(next(counter)))

    assert watch_until([tmp_path / "gemini"], poke, None) == [log]


def test_watcher_feeds_the_store(tmp_path: Path, db_file: Path) -> None:
    chats = tmp_path / "gemini" / "tmp" / "p" / "chats"
    log = start_log(chats)
    with reading():
        Ingester().run([tmp_path / "gemini"])
    counter = iter(range(1000))

    def poke() -> None:
        with log.open("a") as fh:
            fh.write(gemini_line(next(counter)))

    reports: list[IngestReport] = []
    handler = ingest_on_change(reports.append)

    def handle(paths: list[Path]) -> IngestReport:
        handler(paths)
        return reports[-1]

    report = watch_until([tmp_path / "gemini"], poke, handle)
    assert isinstance(report, IngestReport) and report.messages_added >= 1
    shown = [m.text for m in pages.messages_after(pages.session("session-2026-05-01T10-00-s1").id)]
    assert shown[0] == "p0"


def test_watch_roots_returns_at_once_without_roots(tmp_path: Path) -> None:
    watch_roots([tmp_path / "missing"], threading.Event(), lambda paths: None)


def test_changed_sources_maps_and_dedupes(tmp_path: Path) -> None:
    db = tmp_path / "oc" / "opencode.db"
    part = tmp_path / "oc" / "storage" / "part" / "msg_1" / "prt_1.json"
    log = tmp_path / "c" / "x.jsonl"
    changes = {
        (Change.modified, str(db) + "-wal"),
        (Change.modified, str(db) + "-shm"),
        (Change.added, str(part)),
        (Change.modified, str(log)),
        (Change.modified, str(tmp_path / "c" / "notes.txt")),
    }
    assert changed_sources(changes) == sorted([db, tmp_path / "oc" / "storage", log])


def test_ingest_changed_reads_only_what_it_is_given(tmp_path: Path, db_file: Path) -> None:
    chats = tmp_path / "g" / "tmp" / "p" / "chats"
    one = start_log(chats, "session-2026-05-01T10-00-s1.jsonl")
    two = start_log(chats, "session-2026-05-01T10-00-s2.jsonl")
    db = tmp_path / "oc" / "opencode.db"
    conn = make_db(db)
    add_session(conn, "ses_1")
    with reading():
        Ingester().run([tmp_path / "g", tmp_path / "oc"])
    with one.open("a") as fh:
        fh.write(gemini_line(1))
    with two.open("a") as fh:
        fh.write(gemini_line(2))  # changed too, but not reported: not read
    add_message(conn, "msg_1", "ses_1", user(T0))
    add_part(conn, "prt_1", "msg_1", "ses_1", text("from the db"), T0)
    conn.close()
    with reading():
        report = ingest_changed([one, Path(str(db) + "-journal"), tmp_path / "g" / "x.txt"])
    assert (report.files_seen, report.files_read) == (2, 2)
    assert report.messages_added == 2
    assert [m.text for m in pages.messages_after(pages.session("ses_1").id)] == ["from the db"]
    assert pages.session("session-2026-05-01T10-00-s2").message_count == 0
    two.unlink()
    with reading():
        gone = ingest_changed([two])
    assert gone.files_gone == 1
    assert pages.session("session-2026-05-01T10-00-s2").gone_since is not None


def test_a_stopped_pass_resumes_where_it_stopped(
    tmp_path: Path, db_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(driver, "CHUNK_LINES", 3)
    log = start_log(tmp_path / "chats")
    with log.open("a") as fh:
        fh.writelines(gemini_line(i) for i in range(20))
    polls = iter(range(1000))
    with reading():  # let the run start the file, then stop after its first chunk
        first = Ingester(should_stop=lambda: next(polls) > 0).run([log])
    assert 0 < first.messages_added < 21
    with reading():
        rest = Ingester().run([log])
    assert rest.files_unchanged == 0  # the file was not finished: not skipped as unchanged
    assert first.messages_added + rest.messages_added == 21
