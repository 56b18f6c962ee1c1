"""Registry of log parsers: agent name -> pure parse function, and agent detection from content.

A parser is `parse(lines, state) -> Iterator[Record]`: it takes `(line_number, raw_bytes)` pairs
(1-based numbers, bytes without the trailing newline) and a `ParseState` that it may read and
update (it is persisted between incremental passes over the same file), and yields
`SessionInfo`, `MessageRecord`, `Rewind` and `BadLine` records. It never touches the database or
the disk. Whole-document formats (Gemini's legacy `.json` chats, `logs.json`) use the same
signature: the driver hands the whole file over as one item, line 1.

opencode is not here: it is not a line format; `store.ingest.opencode_db` reads its database and its
JSON tree and builds records with the pure functions of `store.ingest.parsers.opencode`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from store.ingest.parsers import claude, codex, gemini
from store.records import ParseState, Record

Parser = Callable[[Iterable[tuple[int, bytes]], ParseState], Iterator[Record]]

PARSERS: dict[str, Parser] = {
    claude.AGENT: claude.parse,
    codex.AGENT: codex.parse,
    gemini.AGENT: gemini.parse,
}
"""Every line-based agent format convo reads, by agent name."""

SNIFFERS: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    (codex.AGENT, codex.sniff),
    (claude.AGENT, claude.sniff),
    (gemini.AGENT, gemini.sniff),
]


def detect_agent(objects: Iterable[dict[str, Any]]) -> str | None:
    """The agent that wrote a file, judged from the first decoded JSON objects of its lines."""
    for obj in objects:
        for agent, sniff in SNIFFERS:
            if sniff(obj):
                return agent
    return None
