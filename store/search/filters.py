"""What a search may be narrowed to (agent, project, role, kind, session, time, sub-agents), and
reading the times people type (`7d`, `2026-03-01`, an ISO timestamp)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from store.errors import StoreError
from store.records import (
    KIND_PROMPT,
    KIND_SUMMARY,
    KIND_SYSTEM,
    KIND_TEXT,
    KIND_THINKING,
    KIND_TOOL_CALL,
    KIND_TOOL_RESULT,
    KIND_UNKNOWN,
)

KINDS: dict[str, tuple[str, ...]] = {
    "text": (KIND_PROMPT, KIND_TEXT),
    "tool_call": (KIND_TOOL_CALL,),
    "tool_result": (KIND_TOOL_RESULT,),
    "thinking": (KIND_THINKING,),
    "other": (KIND_SYSTEM, KIND_SUMMARY, KIND_UNKNOWN),
}
"""The kinds a user filters by -> the stored kinds they stand for."""
ROLES = ("user", "assistant", "tool", "system")
SHOWN = (*(k for kinds in KINDS.values() for k in kinds),)
"""Every stored kind search shows (bookkeeping `meta` and mirrored `event` rows never)."""


class FilterError(StoreError):
    """A filter that cannot mean anything (an unknown kind, a time that cannot be read)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "Search")


@dataclass(frozen=True, slots=True)
class Filters:
    """Empty fields do not filter."""

    agent: str | None = None
    project: str | None = None
    role: str | None = None
    kind: str | None = None
    """One of `KINDS` (`tool call`, `tool-call` and `tool_call` all read as `tool_call`)."""
    session_id: int | None = None
    since: int | None = None
    """Epoch ms, inclusive."""
    until: int | None = None
    """Epoch ms, exclusive."""
    subagents: bool = False
    """Search sub-agent threads too (`--all`), as `sessions --all` lists them."""


def kind_of(text: str) -> str:
    """A kind as people write it -> a key of `KINDS`."""
    key = re.sub(r"[\s-]+", "_", text.strip().lower())
    key = {"tool": "tool_call", "call": "tool_call", "result": "tool_result"}.get(key, key)
    if key not in KINDS:
        raise FilterError(f"unknown kind {text!r}: use one of {', '.join(KINDS)}")
    return key


def role_of(text: str) -> str:
    key = text.strip().lower()
    key = {"you": "user", "human": "user", "agent": "assistant", "model": "assistant"}.get(key, key)
    if key not in ROLES:
        raise FilterError(f"unknown role {text!r}: use one of {', '.join(ROLES)}")
    return key


_AGO = re.compile(r"^(\d+)\s*(m|min|h|d|w|y)$")
_UNIT_MS = {"m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_UNIT_MS["y"] = 365 * _UNIT_MS["d"]


def parse_time(text: str, now_ms: int | None = None) -> int:
    """`7d` (ago: m, h, d, w, y), `2026-03-01`, or an ISO timestamp -> epoch ms (UTC unless the
    timestamp says otherwise)."""
    value = text.strip().lower()
    now = int(time.time() * 1000) if now_ms is None else now_ms
    ago = _AGO.match(value)
    if ago:
        return now - int(ago.group(1)) * _UNIT_MS[ago.group(2)]
    if value in ("today", "yesterday"):
        midnight = datetime.fromtimestamp(now / 1000, UTC).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        return int(midnight.timestamp() * 1000) - (86_400_000 if value == "yesterday" else 0)
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(
            f"cannot read the time {text!r}: use e.g. 7d, 12h, 2026-03-01 or 2026-03-01T09:30"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)
