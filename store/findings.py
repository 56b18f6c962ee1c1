"""What `store.checks` finds: plain, frozen facts (no database), summarised as problems.

The checks read the store and fill a `Findings`; `store.repair.plan` turns it into a plan without
touching the database; `summarize` turns it into the one-line problems `convo check` prints. Keeping
the facts apart from both makes planning a pure function that tests can feed by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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
class Copy:
    """One stored copy of a message that is stored more than once."""

    id: int
    seq: int
    source_path: str | None
    line: int | None
    matches_log: bool | None
    """True: the stored raw record equals that line of the log; False: it differs; None: the log
    (or that line) cannot be read."""


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Rows sharing (session, stable id): one logical message stored several times."""

    session_id: int
    stable_id: str
    copies: tuple[Copy, ...]


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
class LogDrift:
    """A log file the store is out of step with.

    reason: `new` (on disk, never ingested), `changed` (grown or rewritten since), `short` (the
    store has fewer of its rows than were ingested from it), `gone` (no longer on disk).
    """

    path: str
    reason: str
    source_id: int | None = None
    sessions: tuple[int, ...] = ()
    expected: int = 0
    actual: int = 0


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
    index_mismatches: tuple[IndexMismatch, ...] = ()
    duplicates: tuple[DuplicateGroup, ...] = ()
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
    sessions_total: int = 0

    def logs_by(self, reason: str) -> list[LogDrift]:
        return [d for d in self.logs if d.reason == reason]


# ------------------------------------------------------------------------------------------
# Summaries


def _ids(values: Iterable[int]) -> tuple[int, ...]:
    return tuple(sorted(set(values)))


def _problem(kind: str, count: int, sessions: Iterable[int], detail: str) -> Problem:
    return Problem(kind, count, _ids(sessions), detail)


def summarize(f: Findings) -> tuple[list[Problem], list[Problem]]:
    """The problems (damage a repair fixes) and notes (kept on purpose) that `f` holds."""
    problems = [
        p
        for p in (
            *_file_problems(f),
            *_row_problems(f),
            *_seq_problems(f),
            *_log_problems(f),
            *_job_problems(f),
        )
        if p.count
    ]
    notes = [p for p in _notes(f) if p.count]
    return problems, notes


def _file_problems(f: Findings) -> list[Problem]:
    first = f.corrupt[0] if f.corrupt else ""
    mism = ", ".join(
        f"{m.expected.name} ({'missing' if m.actual is None else 'not as declared'})"
        for m in f.index_mismatches
    )
    return [
        _problem(
            "corrupt",
            len(f.corrupt),
            (),
            f"the file fails SQLite's page check (first: {first}); fix: rebuild from the "
            "logs into a new file, carrying over what the old file still holds",
        ),
        _problem(
            "index_drift",
            len(f.drifted_indexes),
            (),
            f"index entries disagree with their table ({', '.join(f.drifted_indexes)}); "
            "fix: REINDEX (or drop and recreate)",
        ),
        _problem(
            "index_schema",
            len(f.index_mismatches),
            (),
            f"indexes differ from the declared schema: {mism}; fix: recreate them once "
            "the rows they cover are unique",
        ),
    ]


def _row_problems(f: Findings) -> list[Problem]:
    extra = sum(len(g.copies) - 1 for g in f.duplicates)
    gone_sessions = {o.session_id for o in f.orphan_messages}
    return [
        _problem(
            "duplicate",
            extra,
            (g.session_id for g in f.duplicates),
            f"{extra} extra copies of {len(f.duplicates)} messages (same session and "
            "stable id); fix: keep the copy that matches the log, else the earliest, "
            "delete the others by id",
        ),
        _problem(
            "orphan_part",
            len(f.orphan_parts),
            (),
            "parts whose message is gone; fix: delete them by id",
        ),
        _problem(
            "orphan_message",
            len(f.orphan_messages),
            gone_sessions,
            f"messages whose session row is gone ({len(gone_sessions)} sessions); fix: "
            "re-read their log, keep what it no longer has under a recovered session",
        ),
        _problem(
            "dangling_ref",
            len(f.dangling),
            (d.row_id for d in f.dangling if d.table == "session"),
            "references to a session or log file row that does not exist; fix: clear them",
        ),
        _problem(
            "count_drift",
            len(f.count_drift),
            (c.session_id for c in f.count_drift),
            "stored message counts differ from the messages; fix: recount",
        ),
    ]


def _seq_problems(f: Findings) -> list[Problem]:
    issues = f.seq_issues
    return [
        _problem(
            "seq_zero",
            sum(i.zero for i in issues),
            (i.session_id for i in issues if i.zero),
            "messages with seq <= 0; fix: renumber the session",
        ),
        _problem(
            "seq_repeated",
            sum(i.repeated for i in issues),
            (i.session_id for i in issues if i.repeated),
            "messages sharing a seq with another message of their session; fix: renumber",
        ),
        _problem(
            "seq_order",
            sum(i.disorder for i in issues),
            (i.session_id for i in issues if i.disorder),
            "places where seq order differs from the order the messages were stored in; "
            "fix: renumber",
        ),
        _problem(
            "seq_gap",
            sum(1 for i in issues if i.gap),
            (i.session_id for i in issues if i.gap),
            "sessions whose seq values do not run 1..n (gaps, or an offset); fix: renumber",
        ),
    ]


def _log_problems(f: Findings) -> list[Problem]:
    def of(reason: str) -> list[LogDrift]:
        return f.logs_by(reason)

    short = of("short")
    return [
        _problem(
            "log_new",
            len(of("new")),
            (),
            "log files on disk that were never ingested; fix: ingest them",
        ),
        _problem(
            "log_changed",
            len(of("changed")),
            (s for d in of("changed") for s in d.sessions),
            "log files that grew or were rewritten since they were ingested; fix: re-ingest",
        ),
        _problem(
            "log_short",
            sum(d.expected - d.actual for d in short),
            (s for d in short for s in d.sessions),
            f"rows ingested from {len(short)} log files are missing from the store; fix: "
            "re-read those files from the start (rows they no longer hold are kept)",
        ),
        _problem(
            "log_gone",
            len(of("gone")),
            (s for d in of("gone") for s in d.sessions),
            "log files that disappeared from disk are not marked; fix: mark them gone "
            "(their sessions are kept)",
        ),
    ]


def _job_problems(f: Findings) -> list[Problem]:
    dead = ", ".join(
        f"#{j.id} {j.name} ({j.rows_done}/{j.rows_total}, pid {j.pid})" for j in f.dead_jobs
    )
    failed = "; ".join(f"#{j.id} {j.name}: {j.error or 'no error recorded'}" for j in f.failed_jobs)
    return [
        _problem(
            "dead_job",
            len(f.dead_jobs),
            (),
            f"jobs left running by a process that died: {dead}; fix: resume them",
        ),
        _problem(
            "failed_job",
            len(f.failed_jobs),
            (),
            f"failed jobs: {failed}; fix: retry (or dismiss a job no runner knows)",
        ),
    ]


def _notes(f: Findings) -> list[Problem]:
    return [
        _problem(
            "stale_rows",
            f.stale_rows,
            f.stale_sessions,
            "rows their rewritten log no longer contains: kept and hidden, never deleted",
        ),
        _problem(
            "log_gone_marked",
            len(f.gone_marked),
            (s for d in f.gone_marked for s in d.sessions),
            "sessions whose log file is gone: kept, and kept across a rebuild",
        ),
    ]


def short_sessions(sessions: tuple[int, ...]) -> str:
    """`1, 2, 3 ... (+7)` for a human-readable line."""
    shown = ", ".join(str(s) for s in sessions[:MAX_SESSIONS_SHOWN])
    more = len(sessions) - MAX_SESSIONS_SHOWN
    return shown + (f" ... (+{more})" if more > 0 else "")
