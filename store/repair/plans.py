"""What a repair plan is made of (steps naming every row, file and index they change), and the
two rules behind it: which copy of a duplicated message is kept, and what renumbering gives.

Pure: no database. `store.repair.planner` builds plans from findings; `store.repair.jobs.apply` runs
them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from store.records import Copy
from store.repair.findings import DuplicateGroup, IndexSpec, SeqRow

STANDIN_SUFFIX = "_repair"


@dataclass(frozen=True, slots=True)
class Deletion:
    table: str
    id: int
    reason: str


@dataclass(frozen=True, slots=True)
class SeqChange:
    session_id: int
    id: int
    old: int
    new: int


@dataclass(frozen=True, slots=True)
class Keeper:
    """Which copy of a duplicated message survives, and in whose place."""

    keep: int
    """The copy whose content is kept."""
    place: int
    """The earliest copy: the kept content takes its id and seq, so the order is unchanged."""
    delete: tuple[int, ...]
    reason: str


@dataclass(frozen=True)
class Step:
    """One step of a plan; `action` and `params` are what the job runner executes."""

    action: str
    kinds: tuple[str, ...]
    summary: str
    params: Mapping[str, Any] = field(default_factory=dict)
    sessions: tuple[int, ...] = ()
    deletes: tuple[Deletion, ...] = ()
    renumbers: tuple[SeqChange, ...] = ()
    files: tuple[str, ...] = ()
    indexes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "kinds": list(self.kinds),
            "summary": self.summary,
            "sessions": list(self.sessions),
            "params": dict(self.params),
            "deletes": [{"table": d.table, "id": d.id, "reason": d.reason} for d in self.deletes],
            "renumbers": [
                {"session": c.session_id, "id": c.id, "from": c.old, "to": c.new}
                for c in self.renumbers
            ],
            "files": list(self.files),
            "indexes": list(self.indexes),
        }


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.steps

    @property
    def rebuild(self) -> bool:
        return any(s.action == "rebuild" for s in self.steps)

    def through(self, kind: str) -> Plan:
        """The steps that fix `kind`, with every step the plan runs before them, and the
        housekeeping steps (no kind of their own, such as the recount) it runs after them.

        The planner orders steps so that each one's preconditions come first (duplicates go
        before the unique index is rebuilt, rows are deleted before sessions are renumbered),
        so a prefix of the plan is always safe to apply on its own; an arbitrary subset is not.
        Empty when no step fixes `kind` (a note).
        """
        last = max((i for i, s in enumerate(self.steps) if kind in s.kinds), default=-1)
        if last < 0:
            return Plan()
        tidy = tuple(s for s in self.steps[last + 1 :] if not s.kinds)
        return Plan(self.steps[: last + 1] + tidy)

    def to_json(self) -> dict[str, Any]:
        return {"steps": [s.to_json() for s in self.steps]}


def choose_keeper(group: DuplicateGroup) -> Keeper:
    """The copy that matches the log is kept (the earliest such), else the earliest copy.

    The kept content moves into the earliest copy's place (id and seq) so the session's order is
    the order in which the message first arrived.
    """
    copies = sorted(group.copies, key=lambda c: c.id)
    place = copies[0]
    matching = [c for c in copies if c.matches_log]
    keep = matching[0] if matching else place
    others = tuple(c.id for c in copies if c.id not in (keep.id, place.id))
    delete = others if keep is place else (place.id, *others)
    return Keeper(keep.id, place.id, tuple(sorted(delete)), _keep_reason(keep, place, copies))


def _keep_reason(keep: Copy, place: Copy, copies: Sequence[Copy]) -> str:
    where = f"{keep.source_path}:{keep.line}"
    if keep.matches_log and keep is place:
        return f"#{keep.id} kept: the earliest copy, and it matches {where}"
    if keep.matches_log:
        return f"#{keep.id} kept (matches {where}), in the place of #{place.id}, the earliest"
    if all(c.matches_log is None for c in copies):
        return f"#{keep.id} kept: the earliest copy (the log cannot be read to compare)"
    return f"#{keep.id} kept: the earliest copy (no copy matches the log)"


def renumber(rows: Iterable[SeqRow]) -> list[SeqChange]:
    """New seq values: 1..n per session in id (ingest) order; only rows that change are listed.

    This is what `ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY id)` gives in the job.
    """
    by_session: dict[int, list[SeqRow]] = {}
    for row in rows:
        by_session.setdefault(row.session_id, []).append(row)
    changes = []
    for sid in sorted(by_session):
        for new, row in enumerate(sorted(by_session[sid], key=lambda r: r.id), 1):
            if row.seq != new:
                changes.append(SeqChange(sid, row.id, row.seq, new))
    return changes


def standin(spec: IndexSpec) -> IndexSpec:
    """A non-unique twin that keeps reads and appends fast while the real index cannot exist."""
    return IndexSpec(spec.name + STANDIN_SUFFIX, spec.table, spec.columns, False)


def many(n: int, noun: str, nouns: str | None = None) -> str:
    """`1 part`, `3 parts`, `2 extra copies`: a count with its noun, for plan and problem texts."""
    return f"{n:,} {noun if n == 1 else (nouns or noun + 's')}"
