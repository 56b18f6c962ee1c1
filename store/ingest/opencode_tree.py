"""Reading opencode's legacy JSON tree (`storage/session`, `storage/message`, `storage/part`).

The tree is one source (the `storage/` folder). Each pass walks it (names and mtimes only), then
reads the session files and the messages whose own file or any of whose part files changed since
the newest mtime seen before (minus a slack), and stores each such message whole, with all its
parts, through the ingest driver's writer. Part files whose message file is missing are skipped
with a warning and counted (`part-without-message`), never forced in. Ids come from the paths,
as in opencode's own migration. Once a database sits next to the tree (an upgraded install) the
tree is a stale leftover and its records never overwrite the database's.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from store.ingest import locate
from store.ingest.opencode_db import (
    BATCH,
    NO_LOWER_BOUND,
    SLACK_MS,
    Driver,
    begin,
    finish,
    log,
    message_rows,
    unchanged,
)
from store.ingest.parsers import opencode
from store.models import Session, Source
from store.records import BadLine, Record, SessionInfo


def ingest_tree(ing: Driver, storage: Path, known: Source | None) -> None:
    """Read what changed in an opencode JSON tree since the last pass."""
    tree = _Tree(storage)
    if unchanged(ing, known, tree.count, tree.newest):
        return
    started = begin(ing, storage, known, storage.stat().st_ino)
    if started is None:
        return
    source, writer, state = started
    mark = state.get("watermark")
    low = mark - SLACK_MS * 1_000_000 if isinstance(mark, int) else NO_LOWER_BOUND
    # After the upgrade to the database, the tree is a leftover: the database's copy wins.
    leftover = any(locate.is_opencode_db(n) for n in os.listdir(storage.parent))
    line = source.lines
    records: list[Record] = []
    for path, mtime in tree.sessions:
        if mtime >= low:
            line += 1
            obj = _read_json(path)
            if isinstance(obj, dict):
                records += opencode.session_records(
                    {**obj, "id": path.stem}, line, replace=not leftover
                )
            else:
                records.append(BadLine(line, "malformed-json", _rel(storage, path)))
    changed = [m for m, (_p, mtime, _s) in tree.messages.items() if mtime >= low]
    changed += [
        m
        for m, parts in tree.parts.items()
        if m in tree.messages and any(t >= low for _p, t in parts)
    ]
    loaded = []
    for mid in dict.fromkeys(changed):
        path, _mtime, session = tree.messages[mid]
        loaded.append((mid, session, path, _read_json(path)))
    loaded.sort(key=lambda m: (_created(m[3]), m[0]))
    for mid, session, path, obj in loaded:
        line += 1
        if not isinstance(obj, dict):
            records.append(BadLine(line, "malformed-json", _rel(storage, path)))
            continue
        # Ids come from the path, not the JSON (opencode's own migration does the same).
        info = {**obj, "id": mid, "sessionID": session}
        parts = [p for p in (_part(pp, mid) for pp, _t in tree.parts.get(mid, [])) if p]
        records += message_rows(info, parts, line, replace=not leftover)
        if len(records) >= BATCH * 4:
            if not ing.write_records(
                writer, _defer(records, leftover), (0, line, "{}"), final=False
            ):
                return
            records = []
    for mid, orphans in tree.parts.items():
        if mid not in tree.messages:
            for path, mtime in orphans:
                if mtime >= low:
                    line += 1
                    log.warning(
                        "opencode part %s skipped: its message %s is missing",
                        _rel(storage, path),
                        mid,
                    )
                    records.append(BadLine(line, "part-without-message", _rel(storage, path)))
    state.update(watermark=tree.newest)
    end = (tree.count, line, orjson.dumps(state).decode())
    finish(
        source, tree.count, tree.newest, ing.write_records(writer, _defer(records, leftover), end)
    )


def stamp(storage: Path) -> tuple[int, int]:
    """(files, newest mtime ns) of a tree: what its source row records as size and mtime, and
    what the drift check compares them with (the folder's own stat says nothing of its files).

    Raises:
        OSError: `storage` is not a folder (the tree is gone).
    """
    if not storage.is_dir():
        raise FileNotFoundError(2, "no such folder", str(storage))
    tree = _Tree(storage)
    return tree.count, tree.newest


class _Tree:
    """The `session/`, `message/` and `part/` files of a storage folder, with their mtimes."""

    def __init__(self, storage: Path) -> None:
        self.sessions = [(p, t) for _d, p, t in _files(storage / "session")]
        self.messages = {p.stem: (p, t, d) for d, p, t in _files(storage / "message")}
        self.parts: dict[str, list[tuple[Path, int]]] = {}
        for d, p, t in _files(storage / "part"):
            self.parts.setdefault(d, []).append((p, t))
        times = [t for _p, t in self.sessions] + [t for _p, t, _d in self.messages.values()]
        times += [t for ps in self.parts.values() for _p, t in ps]
        self.count = len(times)
        self.newest = max(times, default=0)


def _files(table: Path) -> Iterator[tuple[str, Path, int]]:
    """(folder name, file, mtime ns) of `<table>/<folder>/<name>.json`, sorted by name."""
    if not table.is_dir():
        return
    for folder in sorted(os.scandir(table), key=lambda e: e.name):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        for entry in sorted(os.scandir(folder.path), key=lambda e: e.name):
            # `.name.pid.ts.tmp` files are opencode's half-written ones: skipped by the suffix.
            if entry.name.endswith(".json") and not entry.name.startswith("."):
                try:
                    yield folder.name, Path(entry.path), entry.stat().st_mtime_ns
                except OSError:
                    continue  # removed while walking


def _read_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


def _part(path: Path, message_id: str) -> dict[str, Any] | None:
    obj = _read_json(path)
    return {**obj, "id": path.stem, "messageID": message_id} if isinstance(obj, dict) else None


def _created(obj: Any) -> int:
    time = obj.get("time") if isinstance(obj, dict) else None
    created = time.get("created") if isinstance(time, dict) else None
    return created if isinstance(created, int) else 0


def _rel(storage: Path, path: Path) -> str:
    return str(path.relative_to(storage))


def _defer(records: list[Record], leftover: bool) -> list[Record]:
    """In a leftover tree, facts about a session the store already knows (from the database)
    do not override it: only what fills an empty slot (first prompt, earliest start) stays."""
    if not leftover:
        return records
    keys = {r.session_key for r in records if isinstance(r, SessionInfo)}
    if not keys:
        return records
    query = Session.select(Session.native_id).where(
        (Session.agent == opencode.AGENT) & Session.native_id.in_(list(keys))
    )
    known = {row.native_id for row in query}
    return [
        dataclasses.replace(r, title=None, project=None, model=None, git_branch=None)
        if isinstance(r, SessionInfo) and r.session_key in known
        else r
        for r in records
    ]
