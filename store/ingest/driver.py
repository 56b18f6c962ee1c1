"""The ingest driver: find log files, read what is new in each, and store it through the funnel.

Incremental and safe while an agent is still writing: each file's byte offset, line count,
parser state and a hash of its head are stored in its `source` row, in the same transaction as
the messages read up to that offset. A pass reads only the appended bytes, holds back a
half-written last line, and re-reads a file from the start when it shrank or its head changed.
Re-running on unchanged files does no work.

Whole-document files (Gemini's legacy `.json` chats and `logs.json`) are re-parsed whole each time
they change, and opencode's database and JSON tree are read by `store.ingest.opencode_db` and
`store.ingest.opencode_tree` into the same writer (they get this driver as their `Driver`).
`store.ingest.follow.ingest_changed` ingests just the paths a file watcher reported.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from store import append, funnel, logs
from store.db import connection
from store.ingest import locate, opencode_db, opencode_tree
from store.ingest.locate import default_roots, discover
from store.ingest.parsers.registry import PARSERS
from store.ingest.reading import (
    CHUNK_BYTES,
    CHUNK_LINES,
    HEAD_BYTES,
    Chunk,
    LineReader,
    head_hash,
    make_chunk,
    prefetch,
    sniff_agent,
)
from store.ingest.replaced import detach_replaced
from store.ingest.writing import FileWriter, IngestReport, Progress, ProgressFn
from store.models import Source
from store.records import (
    MessageRecord,
    ParseState,
    Record,
    block_index,
)

log = logs.get("ingest")


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
        try:
            if kind == locate.OPENCODE_DB:
                opencode_db.ingest_db(self, path, known)
            elif kind == locate.OPENCODE_TREE:
                opencode_tree.ingest_tree(self, path, known)
            else:
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
        source = self.source_row(path, agent, known, rewritten)
        if source is None:
            return
        self.report.files_read += 1
        self.report.files_rewritten += int(rewritten)
        writer = FileWriter(source, agent, self.report)
        read = self._read_document if document else self._read
        complete = read(fh, source, writer)
        if complete and rewritten:
            self._mark_stale(source, writer)
        self._finish_source(fh, source, stat, complete)

    def _rewritten(self, fh: BinaryIO, stat: os.stat_result, known: Source) -> bool:
        if stat.st_size < known.offset:
            return True
        return bool(known.head_len) and head_hash(fh, known.head_len) != known.head_hash

    def source_row(
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

    def _read(self, fh: BinaryIO, source: Source, writer: FileWriter) -> bool:
        """Parse and store the new lines of a file, a chunk per transaction; False if stopped."""
        chunks = self._chunks(fh, source, PARSERS[writer.agent])
        if os.fstat(fh.fileno()).st_size - source.offset > CHUNK_BYTES // 4:
            # Worth a thread only when there is more than one chunk's parsing to overlap.
            chunks = prefetch(chunks)
        try:
            for chunk in chunks:
                if not writer.write_chunk(chunk) or self.should_stop():
                    return False
        finally:
            chunks.close()
        return True

    def _read_document(self, fh: BinaryIO, source: Source, writer: FileWriter) -> bool:
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
        writer: FileWriter,
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

    def _chunks(self, fh: BinaryIO, source: Source, parse: Any) -> Generator[Chunk, None, None]:
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

    def _mark_stale(self, source: Source, writer: FileWriter) -> None:
        """After re-reading a rewritten file, mark the rows it no longer has (kept, hidden); a
        session it no longer has anything of is kept whole, its log marked gone (`replaced`)."""

        def work() -> int:
            conn = connection()
            detach_replaced(conn, source.id, source.path, writer.agent, writer.sessions)
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT m.id FROM message AS m WHERE m.source_id = ? AND m.session_id IN "
                    "(SELECT s.id FROM session AS s WHERE s.source_id = ?)",
                    (source.id, source.id),
                )
            ]
            stale = [i for i in ids if i not in writer.touched_ids]
            sessions = set()
            for i in stale:
                row = conn.execute(
                    "UPDATE message SET stale = 1 WHERE id = ? RETURNING session_id", (i,)
                ).fetchone()
                sessions.add(row[0])
            for session_id in sessions:  # stale rows are not shown, so not counted
                append.recount(session_id)
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


def ingest(
    paths: Sequence[Path] | None = None,
    *,
    agent: str | None = None,
    progress: ProgressFn | None = None,
) -> IngestReport:
    """Ingest files or folders (default: the agents' folders) into the open store."""
    return Ingester(agent=agent, progress=progress).run(paths)
