"""A session as Markdown: pure rendering of `SessionRow`/`MessageRow` records, streamed to a file.

The renderers are pure functions (records in, text out) so the app's `e` key and the
`convo export SESSION --format md` command share them. `export_session` pages the messages from
the store by `seq` and writes them as it goes: a session is never held whole in memory. The file
is written beside its target and renamed into place, so a failed export leaves no half file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from store import pages
from store.records import (
    KIND_PROMPT,
    KIND_SUMMARY,
    KIND_SYSTEM,
    KIND_THINKING,
    KIND_TOOL_CALL,
    KIND_TOOL_RESULT,
    KIND_UNKNOWN,
    MessageRow,
    SessionRow,
)

BATCH = 500
"""Messages read from the store per page while exporting."""


def when(ms: int | None) -> str:
    """An epoch-milliseconds time as `YYYY-MM-DD HH:MM:SS UTC` (exports are zone-independent)."""
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def fence(text: str, info: str = "") -> str:
    """`text` in a code fence longer than any backtick run inside it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text.rstrip(chr(10))}\n{ticks}\n"


def filename(session: SessionRow) -> str:
    """`<agent>-<native id>.md`, with characters unsafe in file names replaced."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", session.native_id).strip("._") or str(session.id)
    return f"{session.agent}-{safe}.md"


def render_header(session: SessionRow) -> str:
    """The title and a list of the session's facts."""
    title = (session.title or session.native_id).strip().splitlines()[0]
    facts = [
        ("Agent", session.agent),
        ("Session", f"`{session.native_id}`"),
        ("Project", session.project or "-"),
        ("Branch", session.git_branch or "-"),
        ("Model", session.model or "-"),
        ("Started", when(session.started_at)),
        ("Last activity", when(session.updated_at)),
        ("Messages", str(session.message_count)),
    ]
    lines = [f"# {title}", ""] + [f"- **{k}:** {v}" for k, v in facts]
    return "\n".join(lines) + "\n\n---\n"


def speaker(message: MessageRow) -> str:
    """Who a message belongs to in the flow of the conversation: you, agent, or system."""
    if message.kind == KIND_PROMPT:
        return "You"
    if message.role in ("assistant", "tool") or message.kind in (KIND_TOOL_CALL, KIND_TOOL_RESULT):
        return "Agent"
    return "System"


def render_message(message: MessageRow, previous: MessageRow | None = None) -> str:
    """One message as Markdown; a heading starts it when the speaker changes."""
    out = []
    who = speaker(message)
    if previous is None or speaker(previous) != who:
        model = f" · {message.model}" if message.model and who == "Agent" else ""
        out.append(f"\n## {who}{model} · {when(message.timestamp)}\n")
    out.append(_body(message))
    return "".join(out)


def _body(message: MessageRow) -> str:
    kind = message.kind
    if kind == KIND_TOOL_CALL:
        return "".join(_tool_call(name, text) for name, text in _parts(message, "tool_call"))
    if kind == KIND_TOOL_RESULT:
        flag = " (error)" if any(p.is_error for p in message.parts) else ""
        return f"\n**Tool result{flag}**\n\n" + fence(message.text)
    if kind == KIND_THINKING:
        return f"\n<details><summary>Thinking</summary>\n\n{message.text.strip()}\n\n</details>\n"
    if kind == KIND_SUMMARY:
        return f"\n> **Summary:** {message.text.strip()}\n"
    if kind == KIND_SYSTEM:
        return "\n" + fence(message.text)
    if kind == KIND_UNKNOWN:
        return f"\n*Unknown record `{message.line_type}`*\n\n" + fence(message.text)
    return f"\n{message.text.strip()}\n"


def _parts(message: MessageRow, ptype: str) -> list[tuple[str | None, str]]:
    found = [(p.tool_name, p.text) for p in message.parts if p.type == ptype]
    return found or [(None, message.text)]


def _tool_call(name: str | None, text: str) -> str:
    return f"\n**Tool call: {name or 'tool'}**\n\n" + fence(text, "json")


def render(session: SessionRow, batches: Iterable[list[MessageRow]]) -> Iterator[str]:
    """The Markdown of a session, piece by piece, from its messages in seq order."""
    yield render_header(session)
    previous: MessageRow | None = None
    for batch in batches:
        for message in batch:
            yield render_message(message, previous)
            previous = message


def iter_pages(session_id: int, batch: int = BATCH) -> Iterator[list[MessageRow]]:
    """A session's visible messages, one keyset page at a time, in seq order."""
    after = 0
    while True:
        page = pages.messages_after(session_id, after, batch)
        if page:
            yield page
        if len(page) < batch:
            return
        after = page[-1].seq


def write(session: SessionRow, out: TextIO, batch: int = BATCH) -> None:
    """Stream the Markdown of `session` from the store into `out`."""
    for piece in render(session, iter_pages(session.id, batch)):
        out.write(piece)


def export_session(session: SessionRow, folder: Path, batch: int = BATCH) -> Path:
    """Write `session` as Markdown into `folder` (created if needed); returns the file's path.

    Raises:
        OSError: the folder or the file cannot be written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / filename(session)
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="\n") as out:
            write(session, out, batch)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target
