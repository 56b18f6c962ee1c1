"""The ingest driver: find log files, read what is new in each, and store it through the funnel.

Incremental and safe while an agent is still writing: each file's byte offset, line count,
parser state and a hash of its head are stored in its `source` row, in the same transaction as
the messages read up to that offset. A pass reads only the appended bytes, holds back a
half-written last line, and re-reads a file from the start when it shrank or its head changed.
Re-running on unchanged files does no work.

Whole-document files (Gemini's legacy `.json` chats and `logs.json`) are re-parsed whole each time
they change, and opencode's database and JSON tree are read by `store.opencode_db` into the same
writer. `ingest_changed` ingests just the paths a file watcher reported.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from queue import Empty, Full, Queue
from typing import Any, BinaryIO

import orjson

from store import append, funnel, locate, logs
from store.db import connection
from store.locate import SKIP_NAMES, default_roots, discover
from store.models import Source
from store.parsers import PARSERS, detect_agent
from store.parsers.blocks import block_index
from store.parsers.common import LineError, load_line
from store.records import (
    FALLBACK_PREFIX,
    HIDDEN_KINDS,
    KIND_UNKNOWN,
    BadLine,
    MessageRecord,
    ParseState,
    Record,
    Rewind,
    SessionInfo,
)

__all__ = [
    "SKIP_NAMES",
    "IngestReport",
    "Ingester",
    "default_roots",
    "discover",
    "ingest",
    "ingest_changed",
]

log = logs.get("ingest")

BLOCK = 1 << 20
"""Bytes read from a file at a time."""
CHUNK_LINES = 1000
CHUNK_BYTES = 4 << 20
"""A transaction covers at most this many lines or bytes, so the writer is released often."""
HEAD_BYTES = 4096
SNIFF_LINES = 20
SNIFF_DOCUMENT_BYTES = 256 << 20
"""A whole-document file larger than this is not sniffed (its agent must be known or forced)."""


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


# ------------------------------------------------------------------------------------------
# Reading lines


class LineReader:
    """Complete lines of a binary file from an offset; a half-written last line is held back.

    An unterminated last line is consumed only when it is a complete JSON object (a writer cut
    mid-line never leaves one), so files that simply lack a final newline are read whole.
    """

    def __init__(self, fh: BinaryIO, offset: int, line_no: int) -> None:
        self.fh = fh
        self.offset = offset
        """End of the last line handed out (bytes consumed)."""
        self.line_no = line_no
        self.open_tail = False
        """True when the last line handed out had no newline after it."""

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        self.fh.seek(self.offset)
        carry: list[bytes] = []
        while block := self.fh.read(BLOCK):
            pieces = block.split(b"\n")
            if len(pieces) == 1:
                carry.append(block)
                continue
            if carry:
                pieces[0] = b"".join(carry) + pieces[0]
                carry = []
            for line in pieces[:-1]:
                self.line_no += 1
                self.offset += len(line) + 1
                yield self.line_no, line
            if pieces[-1]:
                carry.append(pieces[-1])
        tail = b"".join(carry)
        if tail and _is_complete(tail):
            self.line_no += 1
            self.offset += len(tail)
            self.open_tail = True
            yield self.line_no, tail


def _is_complete(tail: bytes) -> bool:
    try:
        load_line(tail)
    except LineError:
        return False
    return True


def head_hash(fh: BinaryIO, length: int) -> str:
    fh.seek(0)
    return hashlib.blake2b(fh.read(length), digest_size=16).hexdigest()


def sniff_agent(fh: BinaryIO, document: bool = False) -> str | None:
    """Which agent wrote this file, from its first lines' content (or the whole document)."""
    if document:
        return _sniff_document(fh)
    fh.seek(0)
    objects = []
    for _ in range(SNIFF_LINES):
        line = fh.readline(HEAD_BYTES * 64)
        if not line:
            break
        try:
            objects.append(load_line(line.rstrip(b"\r\n")))
        except LineError:
            continue
    return detect_agent(objects)


def _sniff_document(fh: BinaryIO) -> str | None:
    fh.seek(0)
    data = fh.read(SNIFF_DOCUMENT_BYTES + 1)
    if len(data) > SNIFF_DOCUMENT_BYTES:
        return None
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if isinstance(value, list):  # Gemini's logs.json is an array of prompt rows
        value = next((v for v in value if isinstance(v, dict)), None)
    return detect_agent([value]) if isinstance(value, dict) else None


# ------------------------------------------------------------------------------------------
# Writing


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


@dataclass(frozen=True, slots=True)
class Chunk:
    """Parsed lines of a file up to a position, ready to store in one transaction.

    Built off the writing thread (parsing and compression overlap the previous commit), so it
    carries everything the commit needs: the records, their compressed raw lines, and the byte
    offset, line number and parser state that the source row advances to with them.
    """

    records: list[Record]
    blobs: list[bytes | None]
    """Compressed raw line of each record (None for records that are not messages)."""
    offset: int
    line_no: int
    state: str
    """The parser's state after the last line, as JSON (with the reader's `_open_tail`)."""
    advance: bool = True
    """False for a part of a bigger unit (a whole document, an opencode pass): its records are
    stored, but the source stays where it was until the unit's last chunk."""


def make_chunk(
    lines: list[tuple[int, bytes]], parse: Any, state: ParseState, reader: LineReader
) -> Chunk:
    """Parse `lines` and compress their raws; the result ends where the reader stands now."""
    records: list[Record] = list(parse(lines, state))
    blobs = [append.compress(r.raw) if isinstance(r, MessageRecord) else None for r in records]
    data = dict(state.data)
    data["_open_tail"] = reader.open_tail
    return Chunk(records, blobs, reader.offset, reader.line_no, orjson.dumps(data).decode())


def prefetch(items: Iterator[Chunk], depth: int = 2) -> Generator[Chunk, None, None]:
    """Run `items` in a producer thread, `depth` ahead of the consumer.

    zlib and SQLite release the GIL, so on two cores the next chunk is parsed and compressed
    while the current one commits. Closing the returned generator stops the producer.
    """
    queue: Queue[Chunk | BaseException | None] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        queue.put(item, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(None)
        except BaseException as err:  # handed to the consumer, which re-raises it
            queue.put(err)

    worker = threading.Thread(target=produce, name="convo-ingest-parse", daemon=True)
    worker.start()
    try:
        while (item := queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                queue.get_nowait()
            except Empty:
                worker.join(0.05)


class _FileWriter:
    """Writes the records of one file, a chunk per transaction, with its source row."""

    def __init__(self, source: Source, agent: str, report: IngestReport) -> None:
        self.source = source
        self.agent = agent
        self.report = report
        self.session_ids: dict[str, int] = {}
        self.touched_ids: set[int] = set()
        """Message ids seen in this pass (used to mark rows of a rewritten file stale)."""
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
        result = _ChunkResult()
        max_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM message").fetchone()[0]
        counts: dict[int, list[int]] = {}
        for rec, blob in zip(records, blobs, strict=True):
            if isinstance(rec, MessageRecord):
                self._store_message(rec, blob, max_id, counts, result)
            elif isinstance(rec, SessionInfo):
                result.sessions.add(self._store_session(rec))
            elif isinstance(rec, Rewind):
                session_id = self._session_id(rec.session_key)
                result.sessions.add(session_id)
                if append.rewind(session_id, rec.to_stable_id):
                    result.recount.add(session_id)
            else:
                self._store_bad(rec, result)
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
            message_id, _seq, status = append.replace(session_id, rec, self.source.id, blob=blob)
            self._note_group(session_id, rec, status, result)
        else:
            message_id, _seq = append.append(session_id, rec, self.source.id, blob=blob)
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
        append.insert_parts(message_id, rec.text, rec.parts)
        result.added += 1
        if rec.kind == KIND_UNKNOWN:
            result.unknown[rec.line_type or "?"] += 1
        else:
            result.ok += 1
        entry = counts.setdefault(session_id, [0, 0])
        if not rec.hidden and rec.kind not in HIDDEN_KINDS:
            entry[0] += 1
        entry[1] = max(entry[1], rec.timestamp or 0)

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


# ------------------------------------------------------------------------------------------
# The driver


class Ingester:
    """Ingests files and folders into the open store.

    Args:
        agent: force this parser for every file instead of detecting it from content.
        progress: called after each file (from the calling thread).
        should_stop: polled between chunks; a True stops the run after the current commit.
    """

    def __init__(
        self,
        agent: str | None = None,
        progress: ProgressFn | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        if agent is not None and agent not in PARSERS:
            raise ValueError(f"unknown agent {agent!r} (known: {', '.join(sorted(PARSERS))})")
        self.agent = agent
        self.progress = progress
        self.should_stop = should_stop or (lambda: False)
        self.report = IngestReport()

    def run(self, paths: Sequence[Path] | None = None) -> IngestReport:
        """Ingest `paths` (files or folders); with none, the agents' default folders."""
        roots = list(paths) if paths else default_roots()
        known = {s.path: s for s in Source.select()}
        for root in roots:
            # A log that was ingested before and is gone now is not an error: it is kept.
            if not root.exists() and _absolute(root) not in known:
                self.report.errors.append(f"{root}: no such file or folder")
        files = list(discover(r for r in roots if r.exists()))
        self.report.files_seen = len(files)
        for done, path in enumerate(files, 1):
            if self.should_stop():
                break
            before = self.report.messages_added
            self.ingest_file(path, known.get(str(path)))
            if self.progress is not None:
                self.progress(
                    Progress(done, len(files), str(path), self.report.messages_added - before)
                )
        self._mark_gone(roots, {str(p) for p in files}, known)
        return self.report

    def ingest_file(self, path: Path, known: Source | None = None) -> None:
        """Read what is new in one source (a log file, an opencode database or JSON tree)."""
        kind = locate.source_kind(path)
        if kind in (locate.OPENCODE_DB, locate.OPENCODE_TREE):
            from store import opencode_db  # it builds on this module's writer

            opencode_db.ingest(self, path, known, kind)
            return
        try:
            stat = path.stat()
            with path.open("rb") as fh:
                self._ingest_open(
                    path, fh, stat, known, kind in (locate.DOCUMENT, locate.PROMPT_LOG)
                )
        except OSError as err:
            self.report.files_skipped["unreadable"] += 1
            self.report.errors.append(f"{path}: {err.strerror or err}")
            log.warning("cannot read %s: %s", path, err)

    def _ingest_open(
        self,
        path: Path,
        fh: BinaryIO,
        stat: os.stat_result,
        known: Source | None,
        document: bool = False,
    ) -> None:
        if (
            known is not None
            and known.size == stat.st_size
            and known.mtime_ns == stat.st_mtime_ns
            and known.gone_since is None
        ):
            self.report.files_unchanged += 1
            return
        # A document is rewritten whole: every change re-reads it from the start.
        rewritten = known is not None and (document or self._rewritten(fh, stat, known))
        agent = (
            self.agent or (known.agent if known is not None else None) or sniff_agent(fh, document)
        )
        if agent is None or agent not in PARSERS:
            self.report.files_skipped["unknown-format"] += 1
            log.info("skipped %s: not a known agent log", path)
            return
        source = self._source_row(path, agent, known, rewritten)
        if source is None:
            return
        self.report.files_read += 1
        self.report.files_rewritten += int(rewritten)
        writer = _FileWriter(source, agent, self.report)
        read = self._read_document if document else self._read
        complete = read(fh, source, writer)
        if complete and rewritten:
            self._mark_stale(source, writer)
        self._finish_source(fh, source, stat, complete)

    def _rewritten(self, fh: BinaryIO, stat: os.stat_result, known: Source) -> bool:
        if stat.st_size < known.offset:
            return True
        return bool(known.head_len) and head_hash(fh, known.head_len) != known.head_hash

    def _source_row(
        self, path: Path, agent: str, known: Source | None, rewritten: bool
    ) -> Source | None:
        def work() -> Source:
            if known is None:
                return Source.create(path=str(path), agent=agent)
            if rewritten:
                Source.update(
                    offset=0, lines=0, state="{}", head_len=0, head_hash=None, agent=agent
                ).where(Source.id == known.id).execute()
            Source.update(gone_since=None).where(Source.id == known.id).execute()
            refreshed: Source = Source.get_by_id(known.id)
            return refreshed

        outcome = funnel.write(work, funnel.Context("source", source_path=str(path)))
        if not outcome.ok:
            self.report.commit_failures += 1
            self.report.errors.append(f"{path}: {outcome.error}")
        return outcome.value

    def _read(self, fh: BinaryIO, source: Source, writer: _FileWriter) -> bool:
        """Parse and store the new lines of a file, a chunk per transaction; False if stopped."""
        chunks = prefetch(self._chunks(fh, source, PARSERS[writer.agent]))
        try:
            for chunk in chunks:
                if not writer.write_chunk(chunk) or self.should_stop():
                    return False
        finally:
            chunks.close()
        return True

    def _read_document(self, fh: BinaryIO, source: Source, writer: _FileWriter) -> bool:
        """Parse a whole-document file as one item and store its records; False if stopped."""
        fh.seek(0)
        data = fh.read()
        state = ParseState(source.path, {})
        parse = PARSERS[writer.agent]
        records: list[Record] = list(parse([(1, data)], state)) if data.strip() else []
        end = (len(data), 1 if data else 0, orjson.dumps(state.data).decode())
        return self.write_records(writer, records, end)

    def write_records(
        self,
        writer: _FileWriter,
        records: list[Record],
        end: tuple[int, int, str],
        *,
        final: bool = True,
    ) -> bool:
        """Store the records of one unit (a document, an opencode pass) in bounded chunks.

        A chunk never splits the rows of one message (a re-written message hides the rows it no
        longer has, which needs them together), and only the last chunk advances the source to
        `end` = (offset, line number, state JSON): an interrupted unit is read again whole.
        `final=False` stores a batch of a longer unit without advancing at all. Returns False
        if a commit failed or the run was stopped.
        """
        pieces = _split(records)
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1 and final
            blobs = [
                append.compress(r.raw) if isinstance(r, MessageRecord) else None for r in piece
            ]
            chunk = Chunk(piece, blobs, *end, advance=last)
            if not writer.write_chunk(chunk) or (not last and self.should_stop()):
                return False
        return True

    def _chunks(self, fh: BinaryIO, source: Source, parse: Any) -> Iterator[Chunk]:
        """The file's new lines from the source's offset, parsed, in bounded chunks."""
        state_data = orjson.loads(source.state or "{}")
        offset = source.offset
        if state_data.pop("_open_tail", False):
            fh.seek(offset)
            if fh.read(1) == b"\n":  # the tail we took whole has since been terminated
                offset += 1
        state = ParseState(source.path, state_data)
        reader = LineReader(fh, offset, source.lines)
        lines: list[tuple[int, bytes]] = []
        size = 0
        for item in reader:
            lines.append(item)
            size += len(item[1])
            if len(lines) >= CHUNK_LINES or size >= CHUNK_BYTES:
                yield make_chunk(lines, parse, state, reader)
                lines, size = [], 0
        if lines or reader.open_tail:
            yield make_chunk(lines, parse, state, reader)

    def _mark_stale(self, source: Source, writer: _FileWriter) -> None:
        """After re-reading a rewritten file, mark the rows it no longer has (kept, hidden)."""

        def work() -> int:
            conn = connection()
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT m.id FROM message AS m WHERE m.source_id = ? AND m.session_id IN "
                    "(SELECT s.id FROM session AS s WHERE s.source_id = ?)",
                    (source.id, source.id),
                )
            ]
            stale = [i for i in ids if i not in writer.touched_ids]
            for i in stale:
                conn.execute("UPDATE message SET stale = 1 WHERE id = ?", (i,))
            return len(stale)

        funnel.write(work, funnel.Context("mark-stale", source_path=source.path))

    def _finish_source(
        self, fh: BinaryIO, source: Source, stat: os.stat_result, complete: bool = True
    ) -> None:
        """Record what was read. Size and mtime only when the read got to the end: they are
        what makes the next pass skip the file as unchanged."""

        def work() -> None:
            current: Source = Source.get_by_id(source.id)
            length = min(HEAD_BYTES, current.offset)
            done = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns} if complete else {}
            Source.update(
                **done,
                head_len=length,
                head_hash=head_hash(fh, length),
                last_seen=funnel.now_ms(),
                gone_since=None,
            ).where(Source.id == source.id).execute()

        funnel.write(work, funnel.Context("source", source_path=source.path))

    def _mark_gone(self, roots: Sequence[Path], seen: set[str], known: dict[str, Source]) -> None:
        """Sources no longer on disk, under a scanned folder or given by path: kept, marked gone."""
        folders = [_absolute(r) + os.sep for r in roots if r.is_dir()]
        explicit = {_absolute(r) for r in roots if not r.is_dir()}
        gone = [
            s
            for path, s in known.items()
            if path not in seen
            and s.gone_since is None
            and (path in explicit or any(path.startswith(f) for f in folders))
            and not Path(path).exists()
        ]
        self.set_gone(gone)

    def set_gone(self, gone: Sequence[Source]) -> None:
        """Mark sources whose log has disappeared: their sessions stay, with `gone_since`."""
        if not gone:
            return
        now = funnel.now_ms()

        def work() -> None:
            for s in gone:
                Source.update(gone_since=now).where(Source.id == s.id).execute()

        if funnel.write(work, funnel.Context("mark-gone")).ok:
            self.report.files_gone += len(gone)


def _absolute(path: Path) -> str:
    return os.path.abspath(path.expanduser())


def _split(records: list[Record]) -> list[list[Record]]:
    """`records` in pieces of about `CHUNK_LINES`, never between the rows of one message."""
    pieces: list[list[Record]] = [[]]
    for rec in records:
        piece = pieces[-1]
        follows = (
            isinstance(rec, MessageRecord)
            and rec.group_id is not None
            and block_index(rec.group_id, rec.stable_id) not in (None, 0)
        )
        if len(piece) >= CHUNK_LINES and not follows:
            pieces.append([])
        pieces[-1].append(rec)
    return pieces


def ingest_changed(paths: Iterable[Path], *, agent: str | None = None) -> IngestReport:
    """Ingest just these changed paths: new, grown, rewritten or deleted logs.

    Cheap enough to call on every batch of file-watcher events (`store.follow`): it looks up
    only these paths' source rows, reads only what is new in each, and marks deleted ones gone.
    Paths that are not logs are ignored; a database sidecar (`-wal`) or a file in opencode's JSON
    tree stands for its source. Runs on the caller's thread, like `Ingester.run`.
    """
    ing = Ingester(agent=agent)
    targets: dict[str, Path] = {}
    for raw in paths:
        target = locate.source_for(Path(_absolute(Path(raw))))
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


def ingest(
    paths: Sequence[Path] | None = None,
    *,
    agent: str | None = None,
    progress: ProgressFn | None = None,
) -> IngestReport:
    """Ingest files or folders (default: the agents' folders) into the open store."""
    return Ingester(agent=agent, progress=progress).run(paths)
