"""Seeded stores for the app's tests and screenshots, built on disk with the real ingest path.

- `build_fixture_store`: the real agent-log samples in tests/fixtures (Claude Code and Codex).
- `build_long_store`: one synthetic 20,000-line Claude Code session (plus a 20-line one), written
  as JSONL and ingested by the real `Ingester`, so its rows are exactly what users' logs make.
- `add_failures`: a commit failure made by a real database error (a trigger that aborts one
  insert) and a rejected line, with their times pinned so pictures do not drift.
- `unindex_store`: the full-text index emptied of a share of the rows, as an existing store that
  gained the index looks while its `search_index` job has done part of the work.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from store import db as store_db
from store import textindex
from store.ingest.driver import Ingester

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FROZEN_NOW = 1_786_795_200.0
"""2026-08-15 12:00 UTC: the app's clock in tests and screenshots."""
LONG_SESSION = "0b5e0000-0000-4000-8000-000000020000"
SHORT_SESSION = "0b5e0000-0000-4000-8000-000000000020"
LONG_START_MS = 1_786_000_000_000
BOOM_TRIGGER = (
    "CREATE TRIGGER boom BEFORE INSERT ON message WHEN NEW.line = 3 "
    "BEGIN SELECT RAISE(ABORT, 'boom'); END;"
)
"""Makes the insert of every log line 3 fail: a real commit failure for the funnel to catch."""


def ingest(db_path: Path, roots: list[Path]) -> None:
    """Open the store at `db_path` and ingest `roots` into it with the real Ingester."""
    store_db.open_store(db_path)
    with store_db.reading():
        Ingester().run(roots)


def build_fixture_store(db_path: Path) -> Path:
    """A store holding every Claude Code and Codex sample in tests/fixtures."""
    ingest(db_path, [FIXTURES / "claude-code", FIXTURES / "codex"])
    store_db.close()
    return db_path


def _line(seq: int, session: str, ts_ms: int, kind: str, n: int) -> dict[str, object]:
    """The `seq`-th line of a synthetic Claude Code session (one content block per line)."""
    from datetime import UTC, datetime

    stamp = datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")
    base: dict[str, object] = {
        "sessionId": session,
        "uuid": f"{session[:8]}-{seq:06d}",
        "timestamp": stamp,
        "cwd": "/home/dev/src/longhaul",
        "gitBranch": "main",
    }
    turn = f"msg_{session[:6]}_{n:05d}"
    model = "claude-sonnet-4-5"
    if kind == "prompt":
        content: object = f"Prompt {n}: look at module_{n % 97}.py and make it faster."
        return {**base, "type": "user", "message": {"role": "user", "content": content}}
    if kind == "tool_result":
        output = "\n".join(f"{i:4}  line {i} of module_{n % 97}.py" for i in range(1, 41))
        block = {"type": "tool_result", "tool_use_id": f"toolu_{n:05d}", "content": output}
        return {**base, "type": "user", "message": {"role": "user", "content": [block]}}
    blocks = {
        "thinking": {
            "type": "thinking",
            "thinking": f"Turn {n}: the loop in module_{n % 97} allocates on every pass; hoist it.",
            "signature": "sig",
        },
        "text": {
            "type": "text",
            "text": f"## Step {n}\n\nI read `module_{n % 97}.py`. The hot "
            "loop:\n\n- allocates a list per item\n- sorts twice\n\nHere is the fix.",
        },
        "tool_use": {
            "type": "tool_use",
            "id": f"toolu_{n:05d}",
            "name": "Read",
            "input": {"file_path": f"/home/dev/src/longhaul/module_{n % 97}.py"},
        },
        "short": {"type": "text", "text": f"Done with step {n}; the tests pass."},
    }
    message = {"id": turn, "role": "assistant", "model": model, "content": [blocks[kind]]}
    return {**base, "type": "assistant", "message": message}


CYCLE = ("prompt", "thinking", "text", "tool_use", "tool_result", "short")
"""One turn of the synthetic session: every kind the transcript shows."""


def long_session_lines(session: str, title: str, count: int, start_ms: int) -> Iterator[str]:
    """`count` JSONL lines of one session: its title, then turn after turn, a second apart."""
    yield json.dumps({"type": "summary", "summary": title, "leafUuid": f"{session[:8]}-leaf"})
    for seq in range(count - 1):
        kind = CYCLE[seq % len(CYCLE)]
        yield json.dumps(_line(seq, session, start_ms + seq * 1000, kind, seq // len(CYCLE)))


def write_session(folder: Path, session: str, title: str, count: int, start_ms: int) -> Path:
    """Write a synthetic session of `count` lines as `<folder>/<session>.jsonl`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{session}.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for line in long_session_lines(session, title, count, start_ms):
            out.write(line + "\n")
    return path


def build_long_store(db_path: Path, logs: Path, count: int = 20_000) -> Path:
    """A store with one `count`-message Claude Code session and one of 20 messages."""
    project = logs / "projects" / "-home-dev-src-longhaul"
    write_session(
        project, LONG_SESSION, f"Long haul: a {count:,}-message session", count, LONG_START_MS
    )
    write_session(
        project,
        SHORT_SESSION,
        "Quick fix: a 20-message session",
        20,
        LONG_START_MS + count * 1000 + 60_000,
    )
    ingest(db_path, [logs / "projects"])
    store_db.close()
    return db_path


def add_failures(db_path: Path, logs: Path) -> Path:
    """Ingest a small session under a trigger that fails one insert, then pin failure times."""
    sample = FIXTURES / "claude-code/simonw__claude-code-transcripts/tests/sample_session.jsonl"
    folder = logs / "failing"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sample, folder / "sample_session.jsonl")
    (folder / "broken.jsonl").write_text(
        json.dumps(
            {
                "type": "user",
                "sessionId": "broken-1",
                "uuid": "b-1",
                "message": {"role": "user", "content": "hi"},
            }
        )
        + "\n{not json\n"
    )
    store_db.open_store(db_path)
    with store_db.reading() as conn:
        conn.execute(BOOM_TRIGGER)
    with store_db.reading():
        Ingester().run([folder])
    with store_db.reading() as conn:
        conn.execute("DROP TRIGGER boom")
        conn.execute(
            "UPDATE failure SET at = ? - id * 60000", (int(FROZEN_NOW * 1000) - 3_600_000,)
        )
        conn.execute(
            "UPDATE failure SET source_path = REPLACE(source_path, ?, '/logs')", (str(logs),)
        )
    store_db.close()
    return db_path


def copy_store(src: Path, dest: Path) -> Path:
    """A private copy of a built store (the source is closed, so its WAL is checkpointed)."""
    shutil.copyfile(src, dest)
    return dest


def build_many_store(db_path: Path, logs: Path, count: int = 450) -> Path:
    """A store with `count` two-message sessions, one minute apart: more than a page of them."""
    folder = logs / "projects" / "-home-dev-many"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        session = f"0a000000-0000-4000-8000-{i:012d}"
        stamp = LONG_START_MS + i * 60_000
        lines = [_line(0, session, stamp, "prompt", i), _line(1, session, stamp + 1000, "short", i)]
        (folder / f"{session}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    ingest(db_path, [logs / "projects"])
    store_db.close()
    return db_path


def damage_store(db_path: Path) -> Path:
    """Damage the store at `db_path` as a crash or a foreign-key-less writer could: one part row
    whose message does not exist (the checks report `orphan_part`)."""
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("PRAGMA foreign_keys=OFF")
        missing = conn.execute("SELECT coalesce(max(id), 0) + 1000 FROM message").fetchone()[0]
        conn.execute(
            "INSERT INTO part (message_id, idx, type, text, is_error) VALUES (?, 0, 'text', ?, 0)",
            (missing, "a part whose message is gone"),
        )
        conn.commit()
    finally:
        conn.close()
    return db_path


def gap_store(db_path: Path) -> Path:
    """Damage the store at `db_path` as an old, broken sequence counter could: every session's
    messages after its first jump a million ahead (the checks report `seq_gap` for each session,
    and the repair renumbers all 640 rows in batches)."""
    conn = sqlite3.connect(db_path)
    try:
        conn.execute("UPDATE message SET seq = seq + 1000000 WHERE seq > 1")
        conn.commit()
    finally:
        conn.close()
    return db_path


def unindex_store(db_path: Path, waiting: float = 0.37) -> Path:
    """Leave the last `waiting` share of the store's messages (by id) out of the search index,
    waiting for the `search_index` job, as the job leaves them when it is stopped part way."""
    conn = sqlite3.connect(db_path)
    try:
        ids = [int(r[0]) for r in conn.execute("SELECT id FROM message ORDER BY id")]
        cut, top = ids[int(len(ids) * (1 - waiting))], ids[-1]
        textindex.recreate(conn)
        rows = conn.execute("SELECT id, text FROM message WHERE id <= ?", (cut,)).fetchall()
        textindex.index_rows(conn, ((int(i), str(t or "")) for i, t in rows))
        textindex.set_backlog(conn, cut, top)
        conn.commit()
    finally:
        conn.close()
    return db_path
