"""Backups of the store, kept beside it: taken before a repair (SQLite's online backup) or kept by
a rebuild (the old file), listed, made private, and pruned to the newest few once a check after
the repair says the store is healthy.

A backup is named `<store>.bak-<YYYYmmdd-HHMMSS-micro>` (local time), with `-2`, `-3`... when that
name is taken: every name is claimed with O_EXCL, so two repairs in one second (or a repair and a
rebuild) keep two backups, never one over the other. Every backup is mode 0600, like the store.
Backups an earlier convo made (`<store>.bak-<YYYYmmdd-HHMMSS>`, 0644) are listed and counted with
the others and made 0600 when they are listed. Before a backup is written, the free space of the
store's folder (and the process's file size limit) is compared with the store and its WAL, so a
backup that cannot fit is refused in one line before anything is written.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from store import db as store_db
from store import logs
from store.errors import StoreError

log = logs.get("backups")

KEEP = 3
"""Backups `convo repair` and `convo rebuild-index` keep by default (`--keep-backups N`)."""
MODE = 0o600
SIDECARS = ("-wal", "-shm", "-journal")
_STAMP = "%Y%m%d-%H%M%S"
_MAX_TRIES = 1000


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    size: int
    """Bytes, with its WAL if it has one."""
    taken_ms: int
    """When it was taken (from its name; its mtime if the name says nothing)."""
    legacy: bool
    """Named by an earlier convo (to the second)."""
    counter: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "size": self.size,
            "taken_at": self.taken_ms,
            "legacy": self.legacy,
        }


def _pattern(store: Path) -> re.Pattern[str]:
    return re.compile(re.escape(store.name) + r"\.bak-(\d{8}-\d{6})(?:-(\d{6}))?(?:-(\d+))?")


def listing(store: Path | None = None) -> list[Backup]:
    """The backups of a store (default: the open one), newest first."""
    store = (store or store_db.store_path()).expanduser().absolute()
    pattern = _pattern(store)
    try:
        names = os.listdir(store.parent)
    except OSError:
        return []
    found = []
    for name in names:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        path = store.parent / name
        try:
            st = path.stat()
        except OSError:
            continue
        found.append(_backup(path, st, match))
    found.sort(key=lambda b: (b.taken_ms, b.counter, b.path.name), reverse=True)
    return found


def _backup(path: Path, st: os.stat_result, match: re.Match[str]) -> Backup:
    second, micro, counter = match.groups()
    try:
        taken = datetime.strptime(second, _STAMP).timestamp() * 1000 + int(micro or 0) / 1000
    except ValueError:
        taken = st.st_mtime_ns / 1e6
    wal = Path(f"{path}-wal")
    size = st.st_size + (wal.stat().st_size if wal.is_file() else 0)
    return Backup(path, size, int(taken), micro is None, int(counter or 1))


def secure(backups: list[Backup]) -> int:
    """Make backups (and their sidecar files) 0600; returns how many were wider."""
    changed = 0
    for b in backups:
        for path in (b.path, *(Path(f"{b.path}{s}") for s in SIDECARS)):
            try:
                mode = stat.S_IMODE(path.stat().st_mode)
                if mode & ~MODE:
                    path.chmod(MODE)
                    changed += path == b.path
            except OSError:
                continue
    if changed:
        log.info("%d backups were readable by others: made 0600", changed)
    return changed


def prune(store: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` backups of `store` (with their sidecars); returns the
    removed paths. Call it only after a check has found the store healthy."""
    removed = []
    for b in listing(store)[max(0, keep) :]:
        try:
            b.path.unlink()
        except OSError as err:
            log.warning("cannot remove the old backup %s: %s", b.path, err)
            continue
        for suffix in SIDECARS:
            Path(f"{b.path}{suffix}").unlink(missing_ok=True)
        removed.append(b.path)
    return removed


# ------------------------------------------------------------------------------------------
# Taking one


def names(store: Path) -> list[Path]:
    """Candidate names for a new backup of `store`, in the order they are tried."""
    now = datetime.now()
    base = f"{store.name}.bak-{now.strftime(_STAMP)}-{now.microsecond:06d}"
    return [store.with_name(base if n == 1 else f"{base}-{n}") for n in range(1, _MAX_TRIES)]


def reserve(store: Path) -> Path:
    """Claim a new backup name with O_EXCL (an empty 0600 file); returns it.

    Raises:
        StoreError: no name could be claimed.
    """
    for path in names(store):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MODE)
        except FileExistsError:
            continue
        except OSError as err:
            raise StoreError(f"cannot create a backup at {path}: {err.strerror or err}") from None
        os.close(fd)
        return path
    raise StoreError(f"cannot find a free backup name beside {store}", "Backup failed")


def link(store: Path) -> Path:
    """Keep the file `store` under a new backup name: a hard link (the caller then replaces
    `store`), else (no hard links here) the file itself moved to a claimed name; mode 0600."""
    for path in names(store):
        try:
            os.link(store, path)
        except FileExistsError:
            continue
        except OSError:
            path = reserve(store)
            os.replace(store, path)
        path.chmod(MODE)
        return path
    raise StoreError(f"cannot find a free backup name beside {store}", "Backup failed")


def needed(store: Path) -> int:
    """Bytes a copy of the store takes: the file and its WAL."""
    return sum(p.stat().st_size for p in (store, Path(f"{store}-wal")) if p.is_file())


def room(folder: Path) -> int:
    """Bytes one new file in `folder` can take: free space, and the file size limit."""
    free = shutil.disk_usage(folder).free
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    except (ImportError, OSError, ValueError):  # not on this platform
        return free
    return free if soft == resource.RLIM_INFINITY else min(free, soft)


def ensure_room(store: Path, what: str = "a backup of the store") -> None:
    """Refuse, in one line, when `what` (about the size of the store) cannot fit.

    Raises:
        StoreError: not enough room.
    """
    need, have = needed(store), room(store.parent)
    if need > have:
        raise StoreError(
            f"not enough room for {what}: it needs {human(need)} (the store and its WAL), "
            f"{human(have)} can be written in {store.parent} (free space or file size limit); "
            "nothing was changed",
            "No room",
        )


def take(dest: Path | None = None) -> Path:
    """Copy the open store with SQLite's online backup API (writers may go on) to a new, 0600
    file; returns it. A copy that fails is removed.

    Raises:
        StoreError: no room for it, or the copy could not be written.
    """
    src = store_db.store_path().expanduser().absolute()
    ensure_room(src)
    target = dest if dest is not None else reserve(src)
    try:
        with store_db.reading() as conn:
            copy = sqlite3.connect(target)
            try:
                conn.backup(copy)  # one step: a snapshot, never restarted by concurrent writes
            finally:
                copy.close()
        target.chmod(MODE)
    except (sqlite3.Error, OSError) as err:
        for suffix in ("", *SIDECARS):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        raise StoreError(f"cannot back up the store to {target}: {err}", "Backup failed") from None
    return target


def human(size: int) -> str:
    """`1.2 MB`-style size (powers of 1000, as `ls -h --si` and the disk tools show)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover
