"""The app's messages: facts that workers post back to the UI thread (past tense, plain data).

Workers never touch widgets; they post one of these (`post_message` is thread-safe) and a
handler on the UI thread applies it. A message carries the `generation` of the request that
produced it, so a result for a filter or a window the user has since left is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message
from textual.strip import Strip

from store.records import FailureRow, MessageRow, SessionRow

if TYPE_CHECKING:  # ingest and repair are imported by the work that needs them, not at start-up
    from pathlib import Path

    from store.ingest.writing import IngestReport
    from store.repair.checks import CheckReport
    from store.repair.job_types import JobStatus
    from store.repair.plans import Plan
    from store.search.engine import Results


@dataclass
class BackfillProgressed(Message):
    """One more log file was read by the background backfill."""

    done: int
    total: int
    messages_added: int
    """Messages added so far in this run."""

    def can_replace(self, message: Message) -> bool:
        # Only the latest progress matters: queued ones collapse instead of piling up.
        return isinstance(message, BackfillProgressed)


@dataclass
class BackfillFinished(Message):
    """The background backfill is over (report is None if it could not run at all)."""

    report: IngestReport | None
    error: str | None = None


@dataclass
class CommitFailed(Message):
    """The commit funnel recorded a failure (posted from the writing thread)."""

    row: FailureRow


@dataclass
class WaitingForRepair(Message):
    """A write waits for a repair in another process (its lease, `store.lease`); says why."""

    reason: str


@dataclass
class LiveIngested(Message):
    """The live follower stored new lines of log files that changed while the app runs."""

    report: IngestReport


@dataclass
class StoreChanged(Message):
    """New rows were committed (backfill finished): lists should reload what they show."""


@dataclass
class SessionsLoaded(Message):
    """A keyset page of sessions for the list."""

    generation: int
    rows: list[SessionRow]
    reset: bool
    """True for the first page of a (new) filter: the list is replaced."""
    has_more: bool
    total: int | None = None
    """How many sessions the filter shows (first page only)."""
    agents: list[str] = field(default_factory=list)


@dataclass
class ChildrenLoaded(Message):
    """The sub-agent threads of a session, to unfold under it."""

    parent_id: int
    rows: list[SessionRow]


@dataclass
class FailuresLoaded(Message):
    """A keyset page of recorded failures, newest first."""

    generation: int
    rows: list[FailureRow]
    reset: bool
    has_more: bool
    total: int | None = None


@dataclass
class WindowLoaded(Message):
    """Messages for the transcript, already rendered to lines off the UI thread.

    `placement` says where they go: `replace` the window, or extend it `before`/`after`.
    """

    generation: int
    placement: str
    rows: list[MessageRow]
    blocks: list[list[Strip]]
    keys: list[tuple[object, ...]]
    """The render key of each block (see `message_render.block_key`)."""
    has_before: bool
    has_after: bool
    focus_seq: int | None = None
    """Put the cursor on this message (jumps, finds)."""
    at_end: bool = False
    """Put the cursor on the last message and scroll to the end."""
    words: tuple[str, ...] = ()
    """Words of a find to highlight in the focused message."""
    expanded: int | None = None
    """The id of a folded message (tool call, thinking) rendered open to show a match."""


@dataclass
class BoundsLoaded(Message):
    """A session's (first seq, last seq, visible count), for the position gauge."""

    first: int
    last: int
    count: int


@dataclass
class RepairChecked(Message):
    """The repair screen's checks are done: the report and the plan that would fix it."""

    report: CheckReport
    plan: Plan


@dataclass
class RepairCheckProgressed(Message):
    """The repair screen's checks began one more step."""

    step: str
    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RepairCheckProgressed)


@dataclass
class RepairProgressed(Message):
    """One more batch of a repair job was written."""

    status: JobStatus

    def can_replace(self, message: Message) -> bool:
        # Only the latest progress matters: queued ones collapse instead of piling up.
        return isinstance(message, RepairProgressed)


@dataclass
class RepairFinished(Message):
    """The repair jobs are over (done, failed or cancelled); the checks run again next."""

    results: list[JobStatus]
    backup: Path | None
    failed: bool = False
    """The repair could not run (its error is reported with the worker's failure)."""


@dataclass
class IndexProgressed(Message):
    """One more batch of the background `search_index` job was written (None: it started)."""

    status: JobStatus | None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, IndexProgressed)


@dataclass
class IndexFinished(Message):
    """The background `search_index` job stopped: done, stopped or failed (status None when it
    did not run: nothing waiting, no index, or another process indexing)."""

    status: JobStatus | None


@dataclass
class SearchAnswered(Message):
    """A page of search hits for the query of `generation`."""

    generation: int
    results: Results
    reset: bool
    """True for a query's first page: the list is replaced."""


@dataclass
class SearchFailed(Message):
    """The query of `generation` could not run: a one-line reason for the user."""

    generation: int
    error: str
    unavailable: bool = False
    """The store has no usable index (rather than a query that means nothing)."""


@dataclass
class MatchesFound(Message):
    """Every matching message of a transcript's find (seqs in order), for "match 3 of 17"."""

    key: object
    """The find they answer (the screen drops matches of a find it has since replaced)."""
    seqs: tuple[int, ...]
    capped: bool
    """More matched than were counted."""
