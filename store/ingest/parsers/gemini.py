"""Gemini CLI parser: chat recordings (JSONL, legacy JSON documents) and the `logs.json` prompt log.

Formats (FORMATS.md §4):

* current `chats/session-*.jsonl`: a metadata line, then message records that are **upserted by
  id** (a message is appended again when its tokens or tool results arrive; the last copy wins),
  `{"$set": {...}}` metadata updates (a `$set` with `messages` is a checkpoint that replaces all
  messages) and `{"$rewindTo": id}` (that message and everything after it are taken back).
* legacy `chats/session-*.json`: one document `{sessionId, ..., messages: [...]}`, rewritten
  whole; the driver hands it over as one item (a "whole-file record"). A legacy document written
  on one line of a `.jsonl` file is read the same way.
* `logs.json`: a JSON array of the user's prompts for every session of one project.

Mapping: a message becomes the rows of `store.ingest.parsers.blocks` (thoughts, prose, one tool call
and one tool result row per call), all `replace` records keyed by the message id, so a re-written
message updates its rows in place and keeps its `seq`. `$rewindTo` becomes a `Rewind` (hidden, never
deleted). Lines that are not messages (metadata, `$set`, `$rewindTo`) are kept as hidden `meta` rows
holding their raw bytes, so the session can be written back out. `logs.json` prompts are `fallback`
records: stored only for sessions that no chat file has given any record (Gemini deletes chats after
30 days, but keeps the prompt log), and hidden as soon as a chat file does.

Export note: a message row's raw is its last copy (or, for messages inside a document or
checkpoint, the message object as compact JSON), so the export of a Gemini session is a JSONL
that Gemini's own loader reads to the same conversation, not the original bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from store.ingest.parsers import common, gemini_content
from store.ingest.parsers.blocks import Block, Origin, records
from store.records import (
    FALLBACK_PREFIX,
    KIND_META,
    KIND_PROMPT,
    KIND_SYSTEM,
    KIND_UNKNOWN,
    PART_TEXT,
    BadLine,
    MessageRecord,
    ParseState,
    PartRecord,
    Record,
    Rewind,
    SessionInfo,
)

AGENT = "gemini"
PROMPT_LOG = "logs.json"

_TYPES = frozenset({"user", "gemini", "info", "error", "warning"})
# User text the CLI injects or that is a command, not a prompt (GEM sessionUtils.ts).
_PATH_SEP = re.compile(r"[\\/]")


def sniff(obj: dict[str, Any]) -> bool:
    """Whether a decoded object (a line, or a whole document) is Gemini CLI's."""
    if "sessionId" in obj and ("projectHash" in obj or isinstance(obj.get("messages"), list)):
        return True
    if isinstance(obj.get("$set"), dict) or isinstance(obj.get("$rewindTo"), str):
        return True
    if "sessionId" in obj and "messageId" in obj and isinstance(obj.get("message"), str):
        return True  # a logs.json row
    if "uuid" in obj or "sessionId" in obj or "payload" in obj:
        return False
    return obj.get("type") in _TYPES and isinstance(obj.get("id"), str) and "content" in obj


def parse(lines: Iterable[tuple[int, bytes]], state: ParseState) -> Iterator[Record]:
    """Turn chat-recording lines (or one whole document, or `logs.json`) into records.

    Never raises for any content. `state.data` holds the session key and what was already said
    about the session, so parsing a file in pieces yields what parsing it whole does.
    """
    st = _State(state)
    if _name(state.path) == PROMPT_LOG:
        for number, raw in lines:
            yield from _prompt_log(number, raw, st)
        return
    for number, raw in lines:
        try:
            found = _line(number, raw, st)
        except common.LineError as err:
            found = (
                [] if err.reason == "empty" else [BadLine(number, err.reason, common.snippet(raw))]
            )
        except Exception as exc:  # one odd record must never cost the rest of the file
            found = [BadLine(number, f"parse-error: {type(exc).__name__}", common.snippet(raw))]
        yield from found


# ---------------------------------------------------------------------------------------------
# State


class _State:
    """The session a file belongs to and the facts already emitted for it (in `state.data`)."""

    def __init__(self, state: ParseState) -> None:
        self.data = state.data
        self.path = state.path
        facts = self.data.get("facts")
        self.facts: dict[str, Any] = facts if isinstance(facts, dict) else {}
        self.data["facts"] = self.facts

    @property
    def key(self) -> str:
        """The session id: the metadata's, else the file stem (fixed once a record used it)."""
        key = self.data.get("key")
        if not isinstance(key, str):
            key = self.data["key"] = _stem(self.path)
        return key

    def adopt(self, session_id: Any) -> None:
        """Take the metadata's session id, unless records were already filed under another."""
        if isinstance(session_id, str) and session_id and "key" not in self.data:
            self.data["key"] = session_id

    def parent(self) -> str | None:
        """Sub-agent chats live in `chats/<parent session id>/<session id>.jsonl`."""
        parts = _PATH_SEP.split(self.path)
        if len(parts) >= 3 and parts[-3] == "chats" and parts[-2]:
            return parts[-2]
        return None

    def info(self, **facts: Any) -> list[Record]:
        """A `SessionInfo` if any fact is new (the first call always emits one)."""
        changed = {k: v for k, v in facts.items() if v is not None and self.facts.get(k) != v}
        if "first_prompt" in changed and "first_prompt" in self.facts:
            del changed["first_prompt"]
        started = changed.get("started_at")
        if started is not None and started >= self.facts.get("started_at", started):
            del changed["started_at"]
        if not changed and self.data.get("sent"):
            return []
        self.facts.update(changed)
        self.data["sent"] = True
        return [SessionInfo(session_key=self.key, parent_key=self.parent(), **changed)]


# ---------------------------------------------------------------------------------------------
# Lines


def _line(number: int, raw: bytes, st: _State) -> list[Record]:
    obj = common.load_line(raw, prune=True)
    if "$rewindTo" in obj and isinstance(obj["$rewindTo"], str):
        target = obj["$rewindTo"] or None
        return [
            *st.info(),
            Rewind(st.key, target, number),
            _meta(st, number, raw, "$rewindTo", f"Rewound to {target}"),
        ]
    update = obj.get("$set")
    if isinstance(update, dict):
        return _set(number, raw, update, st)
    if isinstance(obj.get("id"), str):
        return [*_message(number, raw, obj, st, replace=True)]
    if isinstance(obj.get("sessionId"), str):
        return _metadata(number, raw, obj, st)
    return [
        *st.info(),
        MessageRecord(
            session_key=st.key,
            stable_id=common.digest(raw),
            role="meta",
            kind=KIND_UNKNOWN,
            text="[unknown Gemini record]",
            raw=raw,
            line=number,
            line_type="(no type)",
        ),
    ]


def _metadata(number: int, raw: bytes, obj: dict[str, Any], st: _State) -> list[Record]:
    """The metadata line, or a whole legacy document (metadata plus `messages`)."""
    st.adopt(obj.get("sessionId"))
    out: list[Record] = st.info(**_doc_facts(obj))
    messages = obj.get("messages")
    if not isinstance(messages, list):
        out.append(_meta(st, number, raw, "metadata", "Session metadata"))
        return out
    # A document: its metadata row carries the document without its messages, each message row
    # its own object, so the export is a JSONL that Gemini's loader reads the same way.
    head = {k: v for k, v in obj.items() if k != "messages"}
    out.append(
        _meta(
            st,
            number,
            orjson.dumps(head),
            "metadata",
            "Session metadata",
            stable_id="metadata",
            replace=True,
        )
    )
    out += _embedded(number, messages, st)
    return out


def _set(number: int, raw: bytes, update: dict[str, Any], st: _State) -> list[Record]:
    out: list[Record] = st.info(**_doc_facts(update))
    messages = update.get("messages")
    if isinstance(messages, list):
        # A checkpoint replaces every message: take all back (hidden), then write its messages,
        # which shows again those it keeps.
        out.append(Rewind(st.key, None, number))
    out.append(_meta(st, number, raw, "$set", "Metadata update"))
    if isinstance(messages, list):
        out += _embedded(number, messages, st)
    return out


def _embedded(number: int, messages: list[Any], st: _State) -> list[Record]:
    out: list[Record] = []
    for item in messages:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            out += _message(number, orjson.dumps(item), item, st, replace=True)
    return out


def _doc_facts(obj: dict[str, Any]) -> dict[str, Any]:
    summary = obj.get("summary")
    dirs = obj.get("directories")
    return {
        "title": common.first_line(summary) or None if isinstance(summary, str) else None,
        "started_at": common.iso_to_ms(obj.get("startTime")),
        "project": dirs[0]
        if isinstance(dirs, list) and dirs and isinstance(dirs[0], str)
        else None,
    }


def _meta(
    st: _State,
    number: int,
    raw: bytes,
    line_type: str,
    text: str,
    *,
    stable_id: str | None = None,
    replace: bool = False,
) -> MessageRecord:
    return MessageRecord(
        session_key=st.key,
        stable_id=stable_id or common.digest(raw),
        role="meta",
        kind=KIND_META,
        text=text,
        raw=raw,
        line=number,
        hidden=True,
        line_type=line_type,
        replace=replace,
    )


# ---------------------------------------------------------------------------------------------
# Messages


def _message(
    number: int, raw: bytes, obj: dict[str, Any], st: _State, *, replace: bool
) -> list[Record]:
    mtype = obj.get("type")
    ts = common.iso_to_ms(obj.get("timestamp"))
    model = obj.get("model") if isinstance(obj.get("model"), str) else None
    tokens = _dict(obj.get("tokens"))
    origin = Origin(
        session_key=st.key,
        native_id=common.scrub(obj["id"]),
        raw=raw,
        line=number,
        line_type=mtype if isinstance(mtype, str) else "(no type)",
        timestamp=ts,
        model=model,
        tokens_in=common.sql_int(tokens.get("input")),
        tokens_out=common.sql_int(tokens.get("output")),
        replace=replace,
    )
    if mtype == "user":
        blocks = [gemini_content.user_block(obj)]
    elif mtype == "gemini":
        blocks = gemini_content.gemini_blocks(obj)
    elif mtype in ("info", "warning", "error"):
        text = common.as_text(obj.get("content"))
        part = PartRecord(PART_TEXT, text, is_error=mtype == "error")
        blocks = [Block("system", KIND_SYSTEM, f"{mtype.capitalize()}: {text}", (part,))]
    else:
        blocks = [Block("meta", KIND_UNKNOWN, f"[unknown message type {mtype!r}]")]
    prompt = blocks[0].text if blocks[0].kind == KIND_PROMPT else None
    facts = st.info(
        started_at=ts,
        model=model,
        first_prompt=common.first_line(prompt) or None if prompt else None,
    )
    return [*facts, *records(origin, blocks)]


# ---------------------------------------------------------------------------------------------
# logs.json


def _prompt_log(number: int, raw: bytes, st: _State) -> Iterator[Record]:
    """Every prompt of a project's `logs.json`, as a fallback prompt of its session."""
    try:
        rows = orjson.loads(raw)
    except orjson.JSONDecodeError:
        if raw.strip():
            yield BadLine(number, "malformed-json", common.snippet(raw))
        return
    if not isinstance(rows, list):
        yield BadLine(number, "not-a-prompt-log", common.snippet(raw))
        return
    sent: set[str] = set()
    for index, row in enumerate(rows, 1):
        if not (
            isinstance(row, dict)
            and isinstance(row.get("sessionId"), str)
            and isinstance(row.get("message"), str)
        ):
            continue
        key = common.scrub(row["sessionId"])
        ts = common.iso_to_ms(row.get("timestamp"))
        text = common.scrub(row["message"])
        command = text.lstrip().startswith(gemini_content.COMMANDS)
        if key not in sent:
            sent.add(key)
            yield SessionInfo(
                session_key=key,
                started_at=ts,
                first_prompt=None if command else common.first_line(text) or None,
            )
        ident = f"{row.get('messageId')}:{row.get('timestamp')}"
        yield MessageRecord(
            session_key=key,
            stable_id=FALLBACK_PREFIX + ident,
            role="user",
            kind=KIND_SYSTEM if command else KIND_PROMPT,
            text=text,
            raw=orjson.dumps(row),
            line=index,
            timestamp=ts,
            parts=(PartRecord(PART_TEXT, text),),
            line_type=PROMPT_LOG,
            fallback=True,
        )


# ---------------------------------------------------------------------------------------------
# Small tolerant helpers


def _name(path: str) -> str:
    return _PATH_SEP.split(path)[-1]


def _stem(path: str) -> str:
    name = _name(path)
    for suffix in (".jsonl", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)] or name
    return name or "gemini-session"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
