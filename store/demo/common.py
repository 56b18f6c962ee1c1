"""What the demo's agent writers share: the plan, ids, timestamps, budgeted files and stats."""

from __future__ import annotations

import os
import random
import string
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from store.demo.vocab import Vocab

# ---------------------------------------------------------------------------------------------
# Results


@dataclass(slots=True)
class CorpusStats:
    """What `generate` wrote."""

    files: int = 0
    sessions: int = 0
    """Sessions as convo keys them: top-level sessions plus sub-agent threads."""
    messages: int = 0
    """Lines written; each is a distinct record, so also the messages convo stores."""
    bytes: int = 0
    largest_session: tuple[str, int] = ("", 0)
    """(native id, lines) of the session with the most lines."""
    subagents: int = 0
    """Sub-agent threads among `sessions`."""

    def add_file(self, key: str, lines: int, size: int, *, subagent: bool) -> None:
        self.files += 1
        self.sessions += 1
        self.subagents += int(subagent)
        self.messages += lines
        self.bytes += size
        if lines > self.largest_session[1]:
            self.largest_session = (key, lines)


# ---------------------------------------------------------------------------------------------
# Plans


@dataclass(frozen=True, slots=True)
class Project:
    cwd: str
    lang: str
    """`py` or `ts`: picks file names, code and commands."""
    repo: str
    branches: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    agent: str
    budget: int
    start_ms: int
    project: Project
    branch: str
    spawns: int
    """How many sub-agents the session may spawn."""


# ---------------------------------------------------------------------------------------------
# Ids, times, output


_B62 = string.digits + string.ascii_letters


def uuid4(rng: random.Random) -> str:
    n = rng.getrandbits(128) & ~(0xF000 << 64) | (0x4000 << 64)
    n = n & ~(0xC000 << 48) | (0x8000 << 48)
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid7(rng: random.Random, ms: int) -> str:
    """A version-7 UUID (time-ordered), as Codex names its threads."""
    h = (
        f"{ms & (2**48 - 1):012x}7{rng.getrandbits(12):03x}{8 | rng.getrandbits(2):x}"
        + (f"{rng.getrandbits(62):016x}"[1:])
    )
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def token(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(_B62, k=n))


def iso(ms: int) -> str:
    secs, rest = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{rest:03d}Z"


class Clock:
    """A session's time: strictly increasing, so no two lines share a timestamp."""

    def __init__(self, rng: random.Random, ms: int) -> None:
        self.rng = rng
        self.ms = ms

    def tick(self, lo_ms: int, hi_ms: int) -> str:
        self.ms += max(1, int(lo_ms + self.rng.random() * (hi_ms - lo_ms)))
        return iso(self.ms)


class Spent(Exception):
    """A session's line budget is used up; it ends where it is."""


class Sink:
    """One log file being written, with its line budget."""

    def __init__(self, path: Path, budget: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.fh = path.open("wb", buffering=1 << 20)
        self.left = budget
        self.lines = 0
        self.size = 0

    def put(self, obj: dict[str, Any]) -> None:
        if self.left <= 0:
            raise Spent
        data = orjson.dumps(obj)
        self.fh.write(data)
        self.fh.write(b"\n")
        self.left -= 1
        self.lines += 1
        self.size += len(data) + 1

    def close(self, last_ms: int) -> None:
        self.fh.close()
        # The agents' files are last modified when their last line was written.
        os.utime(self.path, ns=(last_ms * 1_000_000, last_ms * 1_000_000))


@dataclass(slots=True)
class World:
    """What every session writer shares."""

    rng: random.Random
    vocab: Vocab
    root: Path
    stats: CorpusStats
