"""Builders of opencode data for tests: a database with opencode's tables, and a JSON tree.

The tables follow opencode's Drizzle schema (`session.sql.ts`), reduced to the columns the
reader uses; `data` holds the message / part JSON minus the ids, as opencode stores it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from store.db import reading
from store.ingest.driver import Ingester
from store.ingest.writing import IngestReport

SCHEMA = """
CREATE TABLE session (
  id TEXT PRIMARY KEY, project_id TEXT NOT NULL, parent_id TEXT, slug TEXT NOT NULL,
  directory TEXT NOT NULL, title TEXT NOT NULL, version TEXT NOT NULL,
  time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL);
CREATE TABLE message (
  id TEXT PRIMARY KEY, session_id TEXT NOT NULL, time_created INTEGER NOT NULL,
  time_updated INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE part (
  id TEXT PRIMARY KEY, message_id TEXT NOT NULL, session_id TEXT NOT NULL,
  time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX part_message_idx ON part (message_id);
"""

T0 = 1_750_000_000_000


def make_db(path: Path, *, wal: bool = False) -> sqlite3.Connection:
    """A new opencode database at `path` (autocommit connection)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode = {'wal' if wal else 'delete'}")
    conn.executescript(SCHEMA)
    return conn


def add_session(
    conn: sqlite3.Connection,
    sid: str,
    t: int = T0,
    *,
    parent: str | None = None,
    title: str = "A session",
    directory: str = "/work/app",
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO session VALUES (?, 'proj', ?, 'slug', ?, ?, '1.2.0', ?, ?)",
        (sid, parent, directory, title, t, t),
    )


def user(t: int) -> dict[str, Any]:
    return {
        "role": "user",
        "time": {"created": t},
        "agent": "build",
        "model": {"providerID": "anthropic", "modelID": "claude-sonnet-4"},
    }


def assistant(t: int, parent: str = "") -> dict[str, Any]:
    return {
        "role": "assistant",
        "time": {"created": t, "completed": t + 5},
        "parentID": parent,
        "modelID": "claude-sonnet-4",
        "providerID": "anthropic",
        "mode": "build",
        "path": {"cwd": "/work/app", "root": "/work/app"},
        "cost": 0,
        "tokens": {"input": 10, "output": 20, "reasoning": 0, "cache": {"read": 0, "write": 0}},
    }


def add_message(
    conn: sqlite3.Connection,
    mid: str,
    sid: str,
    data: dict[str, Any],
    *,
    updated: int | None = None,
) -> None:
    t = data["time"]["created"]
    conn.execute(
        "INSERT OR REPLACE INTO message VALUES (?, ?, ?, ?, ?)",
        (mid, sid, t, updated or t, json.dumps(data)),
    )


def add_part(
    conn: sqlite3.Connection, pid: str, mid: str, sid: str, data: dict[str, Any], t: int
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO part VALUES (?, ?, ?, ?, ?, ?)",
        (pid, mid, sid, t, t, json.dumps(data)),
    )


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool(name: str, args: dict[str, Any], output: str) -> dict[str, Any]:
    return {
        "type": "tool",
        "tool": name,
        "callID": f"call-{name}",
        "state": {
            "status": "completed",
            "input": args,
            "output": output,
            "title": name,
            "metadata": {},
            "time": {"start": T0, "end": T0 + 1},
        },
    }


def write_tree(
    storage: Path,
    sid: str,
    messages: list[tuple[str, dict[str, Any], list[Any]]],
    *,
    session: dict[str, Any] | None = None,
) -> None:
    """A legacy `storage/` tree: `messages` are (message id, info, [(part id, part)])."""
    if session is not None:
        folder = storage / "session" / "proj"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{sid}.json").write_text(json.dumps({"id": sid, **session}, indent=2))
    for mid, info, parts in messages:
        folder = storage / "message" / sid
        folder.mkdir(parents=True, exist_ok=True)
        body = {"id": mid, "sessionID": sid, **info}
        (folder / f"{mid}.json").write_text(json.dumps(body, indent=2))
        for pid, part in parts:
            pfolder = storage / "part" / mid
            pfolder.mkdir(parents=True, exist_ok=True)
            pbody = {"id": pid, "sessionID": sid, "messageID": mid, **part}
            (pfolder / f"{pid}.json").write_text(json.dumps(pbody, indent=2))


def ingest(*paths: Path) -> IngestReport:
    """Ingest `paths` into the open store, on one connection."""
    with reading():
        return Ingester().run(list(paths))
