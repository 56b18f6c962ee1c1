"""Reading log files: complete lines from an offset, agent sniffing, and parsed chunks.

A half-written last line is held back; parsing and compression of the next chunk run in a
producer thread (`prefetch`) while the writer commits the current one.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from queue import Empty, Full, Queue
from typing import Any, BinaryIO

import orjson

from store import append
from store.ingest.parsers.common import LineError, load_line, prune_deep
from store.ingest.parsers.registry import detect_agent
from store.records import (
    MessageRecord,
    ParseState,
    Record,
)

BLOCK = 1 << 20
"""Bytes read from a file at a time."""
CHUNK_LINES = 1000
CHUNK_BYTES = 4 << 20
"""A transaction covers at most this many lines or bytes, so the writer is released often."""
HEAD_BYTES = 4096
SNIFF_LINES = 20
SNIFF_DOCUMENT_BYTES = 256 << 20
"""A whole-document file larger than this is not sniffed (its agent must be known or forced)."""


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
    except orjson.JSONDecodeError as exc:
        if "depth" not in str(exc):
            return None
        try:  # one value nested too deep costs that value, not the document
            value = orjson.loads(prune_deep(data))
        except orjson.JSONDecodeError:
            return None
    if isinstance(value, list):  # Gemini's logs.json is an array of prompt rows
        value = next((v for v in value if isinstance(v, dict)), None)
    return detect_agent([value]) if isinstance(value, dict) else None


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

    zstd and SQLite release the GIL, so on two cores the next chunk is parsed and compressed
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
