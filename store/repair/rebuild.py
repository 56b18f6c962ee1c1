"""Whole-file operations: the online backup taken before a repair, and the full rebuild from the
logs into a new file that is swapped in atomically (rule 4: the old file is never half-overwritten).

A rebuild runs in a child process (`python -m store.repair.rebuild NEW --old OLD`) so the caller's
open store (and an app browsing it) is untouched until the swap. The child ingests every log the old
store knew (in the order it first read them, so sessions come back in the same order) plus the
agents' folders, then carries over from the old file every message the logs no longer have: sessions
whose log is gone keep all their rows, other rows come back marked stale. A damaged old file is read
range by range, skipping what cannot be read.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from store import db as store_db
from store import logs
from store.errors import StoreError
from store.ingest.driver import Ingester
from store.ingest.locate import SKIP_NAMES, default_roots, discover
from store.ingest.writing import Progress
from store.repair import backups
from store.repair.carry import carry_over
from store.repair.salvage import old_sources, open_old

log = logs.get("rebuild")

"""Ids read from a damaged table per query; a range that fails is halved down to single rows."""


@dataclass(frozen=True, slots=True)
class RebuildReport:
    files: int
    messages: int
    carried: int
    """Messages copied from the old file because the logs no longer have them."""
    carried_sessions: int
    backup: Path | None
    """Where the old file was kept."""


def backup(dest: Path | None = None) -> Path:
    """Copy the open store to a new 0600 backup beside it (see `store.repair.backups.take`).

    Raises:
        StoreError: no room for it, or the copy could not be written.
    """
    return backups.take(dest)


# ------------------------------------------------------------------------------------------
# In the parent: run the child, then swap


def rebuild(
    path: Path,
    *,
    roots: Sequence[Path] | None = None,
    progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RebuildReport:
    """Rebuild the store at `path` from the logs and swap it in; reopens it afterwards.

    Args:
        roots: extra folders or files to ingest, besides the old store's logs and the agents'
            default folders.
        progress: called per log file ingested.
        should_stop: polled between files; True abandons the rebuild (the old store stays).

    Raises:
        StoreError: the rebuild failed or was stopped; the old store is untouched.
    """
    path = path.expanduser().absolute()
    new = path.with_name(path.name + ".rebuild")
    remove_db(new)
    if path.exists():
        backups.ensure_room(path, "the rebuilt store")
    store_db.close()
    cmd = [
        sys.executable,
        "-m",
        "store.repair.rebuild",
        "--old",
        str(path),
        "--",  # NEW and the roots after it: argparse takes no positionals after `--old X`
        str(new),
        *(str(r) for r in roots or ()),
    ]
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=errors, text=True, env=_child_env()
        )
        report = _follow(proc, progress, should_stop)
        errors.seek(0)
        reason = (errors.read().strip().splitlines() or ["no output"])[-1]
    if report is None:
        remove_db(new)
        raise StoreError(f"rebuild of {path} failed: {reason}", "Rebuild failed")
    kept = swap(path, new)
    store_db.open_store(path)
    return RebuildReport(
        report["files"], report["messages"], report["carried"], report["carried_sessions"], kept
    )


def _follow(
    proc: subprocess.Popen[str],
    progress: Callable[[Progress], None] | None,
    should_stop: Callable[[], bool] | None,
) -> dict[str, Any] | None:
    report = None
    assert proc.stdout is not None
    for line in proc.stdout:
        msg = json.loads(line)
        if msg.get("event") == "progress" and progress is not None:
            progress(Progress(msg["done"], msg["total"], msg["path"], msg["added"]))
        elif msg.get("event") == "report":
            report = msg
        if should_stop is not None and should_stop():
            proc.terminate()
            proc.wait()
            return None
    return report if proc.wait() == 0 else None


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def swap(path: Path, new: Path) -> Path | None:
    """Put `new` in place of `path` in one rename; the old file (and its WAL) is kept aside.

    A hard link keeps the old file under a new backup name (`store.repair.backups.link`), so
    `path` names a complete store at every moment. The old WAL moves with it: left behind,
    SQLite would replay it into the new file. The old file is never read with plain file I/O
    while this process may hold SQLite connections to it: closing such a descriptor drops all of
    the process's POSIX locks on the file, SQLite's included, and another process could then
    delete a WAL still in use.
    """
    kept = None
    if path.exists():
        kept = backups.link(path)  # a new name (never over another backup), mode 0600
        for suffix in ("-wal", "-shm"):
            side = Path(str(path) + suffix)
            if side.exists():
                os.replace(side, Path(str(kept) + suffix))
                Path(str(kept) + suffix).chmod(backups.MODE)
    os.replace(new, path)
    return kept


# ------------------------------------------------------------------------------------------
# In the child: build the new file


def build(
    new: Path,
    old: Path | None,
    roots: Sequence[Path] = (),
    progress: Callable[[Progress], None] | None = None,
) -> dict[str, Any]:
    """Ingest the logs into the (new, empty) store at `new`, then carry over from `old`."""
    source = open_old(old) if old is not None else None
    known = old_sources(source) if source is not None else []
    files = _files(known, roots)
    store_db.open_store(new)
    with store_db.reading():
        ingested = Ingester(progress=progress).run(files) if files else None
    carried, sessions = carry_over(source, known) if source is not None else (0, 0)
    with store_db.reading() as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")  # self-contained before the swap
    store_db.close()
    return {
        "files": len(files),
        "messages": ingested.messages_added if ingested else 0,
        "carried": carried,
        "carried_sessions": sessions,
    }


def _files(known: list[tuple[int, str]], roots: Sequence[Path]) -> list[Path]:
    """The old store's logs in the order it first read them, then new ones from the roots."""
    seen: set[str] = set()
    out: list[Path] = []
    for _sid, path in known:
        if path not in seen and Path(path).is_file():
            seen.add(path)
            out.append(Path(path))
    # The folders of the known logs are listed too: with a damaged old file, some of its
    # source rows are lost, and their files usually sit next to the ones that were read.
    folders = sorted({str(Path(p).parent) for _, p in known if Path(p).parent.is_dir()})
    siblings = [
        Path(f) / name
        for f in folders
        for name in sorted(os.listdir(f))
        if name.endswith(".jsonl") and name not in SKIP_NAMES
    ]
    for found in [*discover([*default_roots(), *roots]), *siblings]:
        if str(found) not in seen and found.is_file():
            seen.add(str(found))
            out.append(found)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """The child process: build NEW from the logs and OLD; JSON lines on stdout."""
    parser = argparse.ArgumentParser(prog="python -m store.repair.rebuild")
    parser.add_argument("new", type=Path)
    parser.add_argument("--old", type=Path)
    parser.add_argument("roots", nargs="*", type=Path)
    args = parser.parse_args(argv)
    logs.setup()

    def tell(p: Progress) -> None:
        print(
            json.dumps(
                {
                    "event": "progress",
                    "done": p.done,
                    "total": p.total,
                    "path": p.path,
                    "added": p.messages_added,
                }
            ),
            flush=True,
        )

    report = build(args.new, args.old, args.roots, tell)
    print(json.dumps({"event": "report", **report}), flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a child process
    raise SystemExit(main())
