"""Live following: watch the agents' log folders, and hand batches of changed sources to a callback.

A small wrapper around `watchfiles.watch` (inotify / FSEvents / ReadDirectoryChangesW through
Rust's `notify`; no polling loop of our own). Events are filtered to log files (the same name
patterns as `store.ingest.locate`), mapped to the source each feeds (a database's `-wal` to the
database, a file in opencode's JSON tree to the tree) and batched: `watchfiles` groups the
events of one burst (`debounce_ms`), and a batch is one sorted list of distinct sources.

Pure Python, no Textual: the app runs `watch_roots` in a thread worker and gives it a callback
such as `ingest_on_change(...)`, which stores what changed with
`ingest_changed`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

import watchfiles

from store import logs
from store.db import reading
from store.ingest.driver import Ingester
from store.ingest.locate import source_for
from store.ingest.writing import IngestReport
from store.models import Source

log = logs.get("follow")

DEBOUNCE_MS = 300
"""Events closer together than this are one batch (an agent writes a turn in a burst)."""
STEP_MS = 50
RUST_TIMEOUT_MS = 1000
"""How long the watcher blocks in Rust between checks of the stop event."""


class StopEvent(Protocol):
    def is_set(self) -> bool: ...


def is_log_change(change: watchfiles.Change, path: str) -> bool:
    """The `watch_filter`: only changes to files that feed a source (deletions included)."""
    return source_for(Path(path)) is not None


def changed_sources(changes: Iterable[tuple[watchfiles.Change, str]]) -> list[Path]:
    """The distinct sources a batch of raw change events touches, sorted."""
    found = {source_for(Path(path)) for _change, path in changes}
    return sorted(p for p in found if p is not None)


def watch_roots(
    roots: Sequence[Path],
    stop_event: StopEvent,
    on_change: Callable[[list[Path]], None],
    *,
    debounce_ms: int = DEBOUNCE_MS,
    rust_timeout_ms: int = RUST_TIMEOUT_MS,
) -> None:
    """Call `on_change(sources)` for each batch of changes under `roots`, until `stop_event`.

    Blocks the calling thread. Roots that do not exist are left out (watch them again once they
    appear); with none left it returns at once. A callback that raises is logged and the watch
    goes on: one bad batch must not end live following.
    """
    existing = [r for r in roots if r.exists()]
    if not existing:
        return
    for changes in watchfiles.watch(
        *existing,
        watch_filter=is_log_change,
        debounce=debounce_ms,
        step=STEP_MS,
        stop_event=stop_event,
        rust_timeout=rust_timeout_ms,
        yield_on_timeout=False,
        raise_interrupt=False,
    ):
        batch = changed_sources(changes)
        if not batch:
            continue
        try:
            on_change(batch)
        except Exception:
            log.exception("handling changed logs failed: %s", [str(p) for p in batch])


def ingest_on_change(
    on_report: Callable[[IngestReport], None] | None = None,
) -> Callable[[list[Path]], None]:
    """A `watch_roots` callback that stores each batch (`ingest_changed`) and reports it."""

    def handle(paths: list[Path]) -> None:
        with reading():
            report = ingest_changed(paths)
        if on_report is not None:
            on_report(report)

    return handle


def ingest_changed(paths: Iterable[Path], *, agent: str | None = None) -> IngestReport:
    """Ingest just these changed paths: new, grown, rewritten or deleted logs.

    Cheap enough to call on every batch of file-watcher events (this module): it looks up
    only these paths' source rows, reads only what is new in each, and marks deleted ones gone.
    Paths that are not logs are ignored; a database sidecar (`-wal`) or a file in opencode's JSON
    tree stands for its source. Runs on the caller's thread, like `Ingester.run`.
    """
    ing = Ingester(agent=agent)
    targets: dict[str, Path] = {}
    for raw in paths:
        target = source_for(Path(os.path.abspath(Path(raw).expanduser())))
        if target is not None:
            targets.setdefault(str(target), target)
    names = list(targets)
    known: dict[str, Source] = {}
    for start in range(0, len(names), 500):
        batch = names[start : start + 500]
        known.update((s.path, s) for s in Source.select().where(Source.path.in_(batch)))
    ing.report.files_seen = len(targets)
    gone = []
    for name, target in targets.items():
        if target.exists():
            ing.ingest_file(target, known.get(name))
        elif name in known and known[name].gone_since is None:
            gone.append(known[name])
    ing.set_gone(gone)
    return ing.report
