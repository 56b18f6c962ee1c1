"""What the Codex rollout parser carries across lines and passes: `State`, plus tolerant getters.

Pure helpers of `store.ingest.parsers.codex`. `State` holds the session key and facts, the
sub-agent replay markers, the current model and the echo marks that pair event mirrors with their
response-item twins; it round-trips through `ParseState.data` (JSON-serialisable), so parsing a
file in pieces yields what parsing it whole does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from store.ingest.parsers import common
from store.records import SessionInfo

_UUID_TAIL = re.compile(
    r"(?:^|(?<=-))[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_SUFFIXES = (".jsonl.zst", ".jsonl", ".json.zst", ".json")
_ECHO_LIMIT = 4
_STATE_VERSION = 1
_INFO_FIELDS = frozenset(
    {
        "parent_key",
        "project",
        "title",
        "first_prompt",
        "git_branch",
        "model",
        "started_at",
        "resumed_from_key",
    }
)


@dataclass(slots=True)
class State:
    """Everything the parser knows about one file beyond the current line."""

    key: str
    meta_seen: bool = False
    subagent: bool = False
    child_ts: int | None = None
    header_ts: int | None = None
    model: str | None = None
    has_resp: bool = False
    echo: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    sent_key: str | None = None
    dirty: bool = True

    @classmethod
    def load(cls, data: dict[str, Any], path: str) -> State:
        """Rebuild from `ParseState.data`, tolerating missing or mistyped entries."""
        info = data.get("info")
        echo = data.get("echo")
        return cls(
            key=opt_str(data.get("key")) or _key_from_path(path),
            meta_seen=data.get("meta_seen") is True,
            subagent=data.get("subagent") is True,
            child_ts=opt_int(data.get("child_ts")),
            header_ts=opt_int(data.get("header_ts")),
            model=opt_str(data.get("model")),
            has_resp=data.get("has_resp") is True,
            echo=[e for e in echo if isinstance(e, str)] if isinstance(echo, list) else [],
            info={k: v for k, v in info.items() if k in _INFO_FIELDS}
            if isinstance(info, dict)
            else {},
            sent_key=opt_str(data.get("sent_key")),
            dirty=data.get("dirty") is not False,
        )

    def save(self, data: dict[str, Any]) -> None:
        data.update(
            v=_STATE_VERSION,
            key=self.key,
            meta_seen=self.meta_seen,
            subagent=self.subagent,
            child_ts=self.child_ts,
            header_ts=self.header_ts,
            model=self.model,
            has_resp=self.has_resp,
            echo=list(self.echo),
            info=dict(self.info),
            sent_key=self.sent_key,
            dirty=self.dirty,
        )

    def set(self, name: str, value: Any) -> None:
        """Record a session fact; a change makes the next line emit a fresh `SessionInfo`."""
        if value is not None and self.info.get(name) != value:
            self.info[name] = value
            self.dirty = True

    def session_info(self) -> SessionInfo | None:
        """A `SessionInfo` to emit now, if the key or any fact changed since the last one."""
        if not self.dirty and self.sent_key == self.key:
            return None
        self.dirty = False
        self.sent_key = self.key
        return SessionInfo(session_key=self.key, **self.info)

    def push_echo(self, role: str, text: str) -> None:
        """Remember a shown event mirror, so its response-item twin right after is hidden."""
        self.echo.append(common.digest(role, text))
        del self.echo[:-_ECHO_LIMIT]

    def take_echo(self, role: str, text: str) -> bool:
        """Whether a response item repeats a shown event mirror (then it is hidden)."""
        self.has_resp = True
        if not self.echo:
            return False
        mark = common.digest(role, text)
        if mark in self.echo:
            self.echo.remove(mark)
            return True
        # Twins are adjacent in practice; anything else means the echoes are stale.
        self.echo.clear()
        return False


def _key_from_path(path: str) -> str:
    """The session id in a file name (`rollout-<local time>-<uuid>.jsonl`), else the stem."""
    name = re.split(r"[\\/]", path)[-1]
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    match = _UUID_TAIL.search(name)
    if match is not None:
        return match.group(0)
    return name or path or "codex-session"


def opt_str(value: Any) -> str | None:
    """`value` if it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def opt_int(value: Any) -> int | None:
    """`value` if it is an int (not a bool) that SQLite can store, else None (`common.sql_int`)."""
    return common.sql_int(value)


def as_dict(value: Any) -> dict[str, Any]:
    """`value` if it is a dict, else an empty one."""
    return value if isinstance(value, dict) else {}
