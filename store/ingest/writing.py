"""Writing parsed records: one chunk per funnel transaction, with its source row advanced.

The writer owns the per-file caches (session ids, ids seen this pass) and the report counters;
a chunk whose commit fails is retried one record per transaction, so only the failing record
is lost.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from store import append, funnel, lease, logs, textindex
from store.db import connection
from store.ingest.reading import Chunk
from store.models import Source
from store.records import (
    FALLBACK_PREFIX,
    HIDDEN_KINDS,
    KIND_UNKNOWN,
    BadLine,
    MessageRecord,
    Record,
    Rewind,
    SessionInfo,
    block_index,
)

log = logs.get("ingest")


@dataclass
class IngestReport:
    """What one ingest run did; the CLI prints it and the app shows it."""

    files_seen: int = 0
    files_read: int = 0
    files_unchanged: int = 0
    files_rewritten: int = 0
    files_gone: int = 0
    files_skipped: Counter[str] = field(default_factory=Counter)
    sessions: set[int] = field(default_factory=set)
    messages_added: int = 0
    messages_dup: int = 0
    messages_updated: int = 0
    """Records written again by id (Gemini, opencode) whose stored rows were updated in place."""
    records_skipped: Counter[str] = field(default_factory=Counter)
    """Records left out on purpose, by reason (e.g. `prompt-log-covered`)."""
    lines_bad: Counter[str] = field(default_factory=Counter)
    lines_unknown: Counter[str] = field(default_factory=Counter)
    commit_failures: int = 0
    errors: list[str] = field(default_factory=list)
    """One-line, file-level problems (unreadable file, store locked...)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "files_seen": self.files_seen,
            "files_read": self.files_read,
            "files_unchanged": self.files_unchanged,
            "files_rewritten": self.files_rewritten,
            "files_gone": self.files_gone,
            "files_skipped": dict(self.files_skipped),
            "sessions": len(self.sessions),
            "messages_added": self.messages_added,
            "messages_dup": self.messages_dup,
            "messages_updated": self.messages_updated,
            "records_skipped": dict(self.records_skipped),
            "lines_bad": dict(self.lines_bad),
            "lines_unknown": dict(self.lines_unknown),
            "commit_failures": self.commit_failures,
            "errors": self.errors,
        }


@dataclass(frozen=True, slots=True)
class Progress:
    """Posted after each file: `done` of `total` files, and the file just handled."""

    done: int
    total: int
    path: str
    messages_added: int


ProgressFn = Callable[[Progress], None]


@dataclass
class _ChunkResult:
    added: int = 0
    dup: int = 0
    ok: int = 0
    bad: Counter[str] = field(default_factory=Counter)
    unknown: Counter[str] = field(default_factory=Counter)
    sessions: set[int] = field(default_factory=set)
    updated: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    recount: set[int] = field(default_factory=set)
    """Sessions whose rows were hidden or shown again: their count is taken afresh."""
    groups: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    """(session, group) of re-written multi-row messages -> [rows seen, first row existed]."""


class FileWriter:
    """Writes the records of one file, a chunk per transaction, with its source row."""

    def __init__(self, source: Source, agent: str, report: IngestReport) -> None:
        self.source = source
        self.agent = agent
        self.report = report
        self.session_ids: dict[str, int] = {}
        self.touched_ids: set[int] = set()
        """Message ids seen in this pass (used to mark rows of a rewritten file stale)."""
        self.sessions: set[int] = set()
        """Sessions this pass stored anything of (a rewritten file holds only these now)."""
        self.primary: dict[int, bool] = {}
        """Session -> whether it holds real records (fallback stand-ins are stored only if not)."""
        self.unshadowed: set[int] = set()
        """Sessions whose fallback stand-ins were already hidden in this pass."""

    def write_chunk(self, chunk: Chunk) -> bool:
        """Store a chunk and advance the source to its end; False to stop reading the file."""
        snapshot = dict(self.session_ids)
        self._reset_caches()
        self.begin_chunk()
        outcome = funnel.write(
            partial(self._apply, chunk.records, chunk.blobs, chunk),
            funnel.Context("ingest-chunk", source_path=self.source.path, line=chunk.line_no),
        )
        if outcome.ok and outcome.value is not None:
            self._merge(outcome.value)
            return True
        self.session_ids = snapshot  # ids made in the rolled-back transaction do not exist
        self.report.commit_failures += 1
        if outcome.error_kind != "integrity":
            self.report.errors.append(f"{self.source.path}: {outcome.error}")
            return False
        return self._isolate(chunk)

    def _isolate(self, chunk: Chunk) -> bool:
        """Store a chunk one record per transaction so only the failing record is lost."""
        for rec, blob in zip(chunk.records, chunk.blobs, strict=True):
            key = rec.session_key if not isinstance(rec, BadLine) else None
            ctx = funnel.Context(
                type(rec).__name__ if not isinstance(rec, MessageRecord) else rec.line_type,
                event_id=rec.stable_id if isinstance(rec, MessageRecord) else None,
                session_key=key,
                source_path=self.source.path,
                line=getattr(rec, "line", None),
            )
            snapshot = dict(self.session_ids)
            self._reset_caches()
            self.begin_chunk()
            outcome = funnel.write(partial(self._apply, [rec], [blob], None), ctx)
            if outcome.ok and outcome.value is not None:
                self._merge(outcome.value)
            else:
                self.session_ids = snapshot
                self.report.commit_failures += 1
                if outcome.error_kind != "integrity":
                    self.report.errors.append(f"{self.source.path}: {outcome.error}")
                    return False
        outcome = funnel.write(
            partial(self._apply, [], [], chunk),
            funnel.Context("ingest-offset", source_path=self.source.path),
        )
        return outcome.ok

    def _apply(
        self, records: Sequence[Record], blobs: Sequence[bytes | None], end: Chunk | None
    ) -> _ChunkResult:
        conn = connection()
        lease.check(conn)  # a repair rebuilding a unique index: the funnel waits for it
        result = _ChunkResult()
        self._parts: list[append.PartRow] = []
        self._indexed: list[tuple[int, str]] = []
        max_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM message").fetchone()[0]
        counts: dict[int, list[int]] = {}
        for rec, blob in zip(records, blobs, strict=True):
            if isinstance(rec, MessageRecord):
                self._store_message(rec, blob, max_id, counts, result)
            elif isinstance(rec, SessionInfo):
                result.sessions.add(self._store_session(rec))
            elif isinstance(rec, Rewind):
                self._flush_parts()
                session_id = self._session_id(rec.session_key)
                result.sessions.add(session_id)
                if append.rewind(session_id, rec.to_stable_id):
                    result.recount.add(session_id)
            else:
                self._store_bad(rec, result)
        self._flush_parts()
        textindex.added_new(conn, self._indexed)
        for (session_id, group), (rows, existed) in result.groups.items():
            if existed and append.hide_blocks_after(session_id, group, rows):
                result.recount.add(session_id)
        for session_id, (added, newest) in counts.items():
            conn.execute(
                "UPDATE session SET message_count = message_count + ?, "
                "updated_at = MAX(updated_at, ?) WHERE id = ?",
                (added, newest, session_id),
            )
        for session_id in result.recount:  # after the increments: a recount is absolute
            append.recount(session_id)
        if end is not None:
            self._advance(end, result)
        return result

    def _store_message(
        self,
        rec: MessageRecord,
        blob: bytes | None,
        max_id: int,
        counts: dict[int, list[int]],
        result: _ChunkResult,
    ) -> None:
        session_id = self._session_id(rec.session_key)
        result.sessions.add(session_id)
        if rec.fallback:
            if self._has_primary(session_id):
                result.skipped["prompt-log-covered"] += 1
                return
            if not rec.stable_id.startswith(FALLBACK_PREFIX):
                rec = dataclasses.replace(rec, stable_id=FALLBACK_PREFIX + rec.stable_id)
        elif session_id not in self.unshadowed:
            self.unshadowed.add(session_id)
            self.primary[session_id] = True
            if append.hide_fallbacks(session_id):
                result.recount.add(session_id)
        if rec.replace:
            self._flush_parts()  # a replace rewrites parts: earlier buffered ones go in first
            message_id, _seq, status = append.replace(session_id, rec, self.source.id, blob=blob)
            self._note_group(session_id, rec, status, result)
        else:
            message_id, _seq = append.append(
                session_id, rec, self.source.id, blob=blob, index=False
            )
            status = append.NEW if message_id > max_id else append.SAME
        self.touched_ids.add(message_id)
        if status == append.UPDATED:
            result.updated += 1
            result.recount.add(session_id)
            entry = counts.setdefault(session_id, [0, 0])
            entry[1] = max(entry[1], rec.timestamp or 0)
            return
        if status == append.SAME or message_id in self._new_ids:
            result.dup += 1
            return
        self._new_ids.add(message_id)
        # Parts and index entries of new messages: one executemany each per transaction.
        self._parts += append.part_rows(message_id, rec.text, rec.parts)
        if not rec.replace:  # a replace indexed its row itself
            self._indexed.append((message_id, rec.text))
        result.added += 1
        if rec.kind == KIND_UNKNOWN:
            result.unknown[rec.line_type or "?"] += 1
        else:
            result.ok += 1
        entry = counts.setdefault(session_id, [0, 0])
        if not rec.hidden and rec.kind not in HIDDEN_KINDS:
            entry[0] += 1
        entry[1] = max(entry[1], rec.timestamp or 0)

    def _flush_parts(self) -> None:
        if self._parts:
            connection().executemany(append.PART_SQL, self._parts)
            self._parts = []

    def _has_primary(self, session_id: int) -> bool:
        found = self.primary.get(session_id)
        if found is None:
            found = self.primary[session_id] = append.has_primary(session_id)
        return found

    def _note_group(
        self, session_id: int, rec: MessageRecord, status: str, result: _ChunkResult
    ) -> None:
        """Track the rows of a multi-row message, to hide those a re-write no longer has."""
        if rec.group_id is None:
            return
        index = block_index(rec.group_id, rec.stable_id)
        if index is None:
            return
        entry = result.groups.setdefault((session_id, rec.group_id), [0, 0])
        entry[0] = max(entry[0], index + 1)
        if index == 0 and status != append.NEW:
            entry[1] = 1

    def _reset_caches(self) -> None:
        # What a rolled-back transaction learnt is not true: start each one from the store.
        self.primary.clear()
        self.unshadowed.clear()

    def _store_session(self, info: SessionInfo) -> int:
        parent = self._session_id(info.parent_key) if info.parent_key else None
        resumed = self._session_id(info.resumed_from_key) if info.resumed_from_key else None
        session_id = append.upsert_session(self.agent, info, parent, resumed, self.source.id)
        self.session_ids[info.session_key] = session_id
        return session_id

    def _store_bad(self, bad: BadLine, result: _ChunkResult) -> None:
        result.bad[bad.reason] += 1
        log.warning("line skipped (%s): %s:%s", bad.reason, self.source.path, bad.line)
        ctx = funnel.Context("line", source_path=self.source.path, line=bad.line)
        connection().execute(
            "INSERT INTO failure (at, kind, event_id, event_type, session_key, source_path, line,"
            " error, detail) VALUES (:at, :kind, :event_id, :event_type, :session_key,"
            " :source_path, :line, :error, :detail)",
            funnel.failure_values("line", f"rejected line: {bad.reason}", ctx, bad.snippet),
        )

    def _session_id(self, key: str) -> int:
        found = self.session_ids.get(key)
        if found is None:
            found = append.ensure_session(self.agent, key, self.source.id)
            self.session_ids[key] = found
        return found

    def _advance(self, end: Chunk, result: _ChunkResult) -> None:
        # A chunk that does not advance (part of a bigger unit) still adds its tallies.
        position = "offset = ?, lines = ?, state = ?," if end.advance else ""
        moved = (end.offset, end.line_no, end.state) if end.advance else ()
        connection().execute(
            f"UPDATE source SET {position} lines_ok = lines_ok + ?,"
            " lines_bad = lines_bad + ?, lines_unknown = lines_unknown + ?,"
            " lines_dup = lines_dup + ? WHERE id = ?",
            (
                *moved,
                result.ok,
                sum(result.bad.values()),
                sum(result.unknown.values()),
                result.dup,
                self.source.id,
            ),
        )

    def begin_chunk(self) -> None:
        """Forget the ids that were new in the previous chunk (ids only grow)."""
        self._new_ids: set[int] = set()

    def _merge(self, result: _ChunkResult) -> None:
        self.report.messages_added += result.added
        self.report.messages_dup += result.dup
        self.report.messages_updated += result.updated
        self.report.records_skipped.update(result.skipped)
        self.report.lines_bad.update(result.bad)
        self.report.lines_unknown.update(result.unknown)
        self.report.sessions.update(result.sessions)
        self.sessions.update(result.sessions)
