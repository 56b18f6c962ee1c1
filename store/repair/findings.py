"""What `store.repair.checks` finds: plain, frozen facts (no database), summarised as problems.

The checks read the store and fill a `Findings`; `store.repair.planner.plan` turns it into a plan
without touching the database; `store.repair.problems.summarize` turns it into the one-line problems
`convo check` prints. Keeping the facts apart from both makes planning a pure function that tests
can feed by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from store.records import Copy, LogDrift

MAX_SESSIONS_SHOWN = 10
"""Session ids a human-readable line lists before it says `...`."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One kind of damage (or, in `notes`, of noteworthy state): how much, where, and why."""

    kind: str
    count: int
    sessions: tuple[int, ...]
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "count": self.count,
            "sessions": list(self.sessions),
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """An index as the models declare it (or as the file has it)."""

    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool

    def create_sql(self, name: str | None = None, *, unique: bool | None = None) -> str:
        kind = "UNIQUE INDEX" if (self.unique if unique is None else unique) else "INDEX"
        cols = ", ".join(f'"{c}"' for c in self.columns)
        return f'CREATE {kind} "{name or self.name}" ON "{self.table}" ({cols})'


@dataclass(frozen=True, slots=True)
class IndexMismatch:
    """An expected index that is missing, or present with other columns or without UNIQUE."""

    expected: IndexSpec
    actual: IndexSpec | None


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Rows sharing (session, stable id): one logical message stored several times."""

    session_id: int
    stable_id: str
    copies: tuple[Copy, ...]


@dataclass(frozen=True, slots=True)
class RowCopies:
    """Rows of one session holding the same raw record and block (see `store.repair.copies`):
    `keep` stays, `delete` are copies under fresh ids and stable ids."""

    session_id: int
    keep: int
    delete: tuple[int, ...]
    reason: str
    """Why `keep` is the one kept."""


@dataclass(frozen=True, slots=True)
class SeqIssue:
    """A session whose `seq` values are not exactly 1..n in ingest (id) order."""

    session_id: int
    rows: int
    zero: int = 0
    """Rows with seq <= 0."""
    repeated: int = 0
    """Rows sharing their seq with another row of the session."""
    disorder: int = 0
    """Places where the next seq belongs to an earlier-ingested row."""
    gap: bool = False
    """The distinct seq values do not run exactly 1..n."""


@dataclass(frozen=True, slots=True)
class SeqRow:
    """The part of a message row that renumbering reads."""

    id: int
    session_id: int
    seq: int


@dataclass(frozen=True, slots=True)
class OrphanMessage:
    """A message whose session row is gone."""

    id: int
    session_id: int
    source_id: int | None
    source_path: str | None
    log_exists: bool


@dataclass(frozen=True, slots=True)
class Dangling:
    """A nullable reference (`table.column` of row `row_id`) to a row that does not exist."""

    table: str
    row_id: int
    column: str
    target: int


@dataclass(frozen=True, slots=True)
class CountDrift:
    session_id: int
    stored: int
    actual: int


@dataclass(frozen=True, slots=True)
class JobFact:
    id: int
    name: str
    status: str
    rows_done: int
    rows_total: int
    pid: int | None
    error: str | None
    known: bool
    """The job runner knows how to run (resume) a job of this name."""


@dataclass(frozen=True)
class Findings:
    """Everything the checks found. Empty tuples mean: nothing of that kind."""

    corrupt: tuple[str, ...] = ()
    declared: tuple[IndexSpec, ...] = ()
    """The indexes the models declare."""
    indexes: Mapping[str, IndexSpec] = field(default_factory=dict)
    """The indexes the file has, by name."""
    drifted_indexes: tuple[str, ...] = ()
    lying_indexes: Mapping[str, int] = field(default_factory=dict)
    """Indexes (among `drifted_indexes`) that say UNIQUE over rows sharing a key, by name: the
    rows beyond the first of each key (never UPDATE or DELETE through them)."""
    index_mismatches: tuple[IndexMismatch, ...] = ()
    duplicates: tuple[DuplicateGroup, ...] = ()
    row_copies: tuple[RowCopies, ...] = ()
    seq_issues: tuple[SeqIssue, ...] = ()
    seq_rows: Mapping[int, tuple[SeqRow, ...]] = field(default_factory=dict)
    """Rows of the sessions in `seq_issues`, for the plan's preview (large sessions may be left
    out; they are renumbered all the same)."""
    orphan_parts: tuple[int, ...] = ()
    orphan_messages: tuple[OrphanMessage, ...] = ()
    dangling: tuple[Dangling, ...] = ()
    count_drift: tuple[CountDrift, ...] = ()
    logs: tuple[LogDrift, ...] = ()
    gone_marked: tuple[LogDrift, ...] = ()
    stale_rows: int = 0
    stale_sessions: tuple[int, ...] = ()
    dead_jobs: tuple[JobFact, ...] = ()
    failed_jobs: tuple[JobFact, ...] = ()
    paused_jobs: tuple[JobFact, ...] = ()
    """Jobs stopped by the user before they finished (resumable)."""
    sessions_total: int = 0
    search_missing: bool = False
    """The store should have a full-text index and has not (its tables are gone)."""
    search_drift: str | None = None
    """How the full-text index is out of step with its table (None: it is not)."""
    search_waiting: int = 0
    """Messages not in the full-text index yet (it is being built)."""

    def logs_by(self, reason: str) -> list[LogDrift]:
        return [d for d in self.logs if d.reason == reason]


def short_sessions(sessions: tuple[int, ...]) -> str:
    """`1, 2, 3 ... (+7)` for a human-readable line."""
    shown = ", ".join(str(s) for s in sessions[:MAX_SESSIONS_SHOWN])
    more = len(sessions) - MAX_SESSIONS_SHOWN
    return shown + (f" ... (+{more})" if more > 0 else "")
