"""Repair planning, pure: findings in, an ordered plan out. Applying it is
`store.repair.jobs.apply`.

Every step names what it changes: rows deleted by primary id, rows renumbered from which seq to
which, files re-read, indexes rebuilt. This module holds the order and the job, row, log, renumber
and tail steps; the index steps are in `store.repair.plan_indexes`. The order matters and is fixed
here:
1. indexes whose entries disagree with their table are rebuilt first (every later step reads
   through them; SQLite reports a missing index entry as a malformed file on DELETE/UPDATE);
2. interrupted and paused jobs are resumed (failed ones are retried last, after what made them
   fail);
3. duplicate copies, orphan parts and dangling references are removed (by primary key);
4. unique indexes that do not involve `seq` are recreated (ingest's upsert needs them);
5. files are re-read or ingested (appends need the indexes of step 4);
6. sessions are renumbered (also those whose rows steps 3 and 5 moved), then the `seq` index is
   recreated, counts are recounted, and log files that are gone are marked (never dropped);
7. an index that said UNIQUE over equal keys (rebuilt by the steps above) is verified last with
   `PRAGMA integrity_check` of its table.
A store whose pages are damaged gets one step: rebuild from the logs.
"""

from __future__ import annotations

from collections.abc import Sequence

from store.repair.findings import Findings, SeqRow
from store.repair.plan_indexes import create_steps, index_steps, verify_steps
from store.repair.plans import Deletion as Deletion
from store.repair.plans import Keeper as Keeper
from store.repair.plans import Plan as Plan
from store.repair.plans import SeqChange as SeqChange
from store.repair.plans import Step as Step
from store.repair.plans import choose_keeper as choose_keeper
from store.repair.plans import many
from store.repair.plans import renumber as renumber
from store.repair.plans import standin as standin

ALL_SESSIONS_SHARE = 0.5
"""Renumber every session (a cheap no-op for healthy ones) when more than this share is affected:
a list of ids would then cost more than it saves."""


# ------------------------------------------------------------------------------------------
# The plan


def plan_rebuild(reason: str) -> Plan:
    """The plan for a store that cannot be opened or read at all."""
    return Plan(
        (
            Step(
                "rebuild",
                ("unusable",),
                f"the store cannot be read ({reason}): rebuild it from the logs into a new "
                "file and swap it in; the old file is kept, and whatever of it can still "
                "be read is carried over",
            ),
        )
    )


def plan(f: Findings) -> Plan:
    """The ordered steps that fix everything in `f` (an empty plan when there is nothing)."""
    if f.corrupt:
        return Plan(
            (
                Step(
                    "rebuild",
                    ("corrupt",),
                    "rebuild the store from the logs into a new file and swap it in; "
                    "sessions whose logs are gone are carried over from the old file",
                ),
            )
        )
    steps: list[Step] = []
    steps += index_steps(f)
    steps += _job_steps(f)
    steps += _row_steps(f)
    steps += create_steps(f, late=False)
    steps += _log_steps(f)
    steps += _renumber_steps(f, steps)
    steps += create_steps(f, late=True)
    steps += _tail_steps(f, steps)
    steps += verify_steps(f)
    return Plan(tuple(steps))


def _job_steps(f: Findings) -> list[Step]:
    """Jobs that stopped before they finished (their process died, or the user stopped them) are
    resumed together, oldest first (the order of the plan that made them); those no runner knows
    are dismissed, and so are failed ones (known failed jobs are retried last, in `_tail_steps`)."""
    steps = []
    stopped = sorted((*f.dead_jobs, *f.paused_jobs), key=lambda j: j.id)
    for action, jobs in (
        ("resume", [j for j in stopped if j.known]),
        ("dismiss", [j for j in stopped if not j.known]),
    ):
        if not jobs:
            continue
        dead = any(j in f.dead_jobs for j in jobs)
        paused = any(j in f.paused_jobs for j in jobs)
        kinds = tuple(k for k, on in (("dead_job", dead), ("paused_job", paused)) if on)
        what = " or ".join(w for w, on in (("interrupted", dead), ("stopped", paused)) if on)
        ids = [j.id for j in jobs]
        names = ", ".join(f"#{i}" for i in ids)
        summary = (
            f"resume {what} jobs {names} from where they stopped"
            if action == "resume"
            else f"mark {what} jobs {names} that no runner knows as cancelled"
        )
        steps.append(Step(action, kinds, summary, {"jobs": ids}))
    unknown = [j.id for j in f.failed_jobs if not j.known]
    if unknown:
        steps.append(
            Step(
                "dismiss",
                ("failed_job",),
                "dismiss failed jobs no runner knows (their error stays recorded)",
                {"jobs": unknown},
            )
        )
    return steps


def _row_steps(f: Findings) -> list[Step]:
    steps = []
    if f.duplicates:
        keepers = sorted(
            ((choose_keeper(g), g.session_id) for g in f.duplicates), key=lambda pair: pair[0].place
        )
        extra = sum(len(k.delete) for k, _ in keepers)
        steps.append(
            Step(
                "dedupe",
                ("duplicate",),
                f"keep one copy of {many(len(keepers), 'duplicated message')}, delete "
                f"{many(extra, 'extra copy', 'extra copies')} by id",
                {"groups": [[k.place, k.keep, list(k.delete)] for k, _ in keepers]},
                sessions=tuple(sorted({s for _, s in keepers})),
                deletes=tuple(
                    Deletion("message", i, k.reason) for k, _ in keepers for i in k.delete
                ),
            )
        )
    if f.row_copies:
        steps.append(_copies_step(f))
    if f.orphan_parts:
        steps.append(
            Step(
                "delete_parts",
                ("orphan_part",),
                f"delete {many(len(f.orphan_parts), 'part')} whose message is gone",
                {"ids": list(f.orphan_parts)},
                deletes=tuple(Deletion("part", i, "its message is gone") for i in f.orphan_parts),
            )
        )
    if f.dangling:
        steps.append(
            Step(
                "clear_refs",
                ("dangling_ref",),
                f"clear {many(len(f.dangling), 'reference')} to rows that do not exist",
                {"refs": [[d.table, d.row_id, d.column] for d in f.dangling]},
            )
        )
    return steps


def _copies_step(f: Findings) -> Step:
    """Copies of rows are deleted by id, with their parts; the kept row stays where it is."""
    extra = sum(len(c.delete) for c in f.row_copies)
    said = "; ".join(
        f"keeps #{c.keep}, {c.reason}; deletes {', '.join(f'#{i}' for i in c.delete)}"
        for c in f.row_copies[:3]
    )
    more = f"; ... (+{len(f.row_copies) - 3})" if len(f.row_copies) > 3 else ""
    return Step(
        "dedupe",
        ("duplicate_rows",),
        f"delete {many(extra, 'copied row')} by id with their parts: {said}{more}",
        {"groups": [[c.keep, c.keep, list(c.delete)] for c in f.row_copies]},
        sessions=tuple(sorted({c.session_id for c in f.row_copies})),
        deletes=tuple(
            Deletion("message", i, f"a copy of #{c.keep} ({c.reason})")
            for c in f.row_copies
            for i in c.delete
        ),
    )


def _log_steps(f: Findings) -> list[Step]:
    steps = []
    short = f.logs_by("short")
    with_log = [o for o in f.orphan_messages if o.log_exists and o.source_id is not None]
    sources = sorted(
        {d.source_id for d in short if d.source_id} | {o.source_id for o in with_log if o.source_id}
    )
    if sources:
        paths = tuple(sorted({d.path for d in short} | {o.source_path or "" for o in with_log}))
        steps.append(
            Step(
                "reread",
                tuple(k for k, on in (("log_short", short), ("orphan_message", with_log)) if on),
                f"re-read {many(len(sources), 'log file')} from the start (their rows are "
                "cleared by id and come back from the log; rows the log no longer has are "
                "kept, marked stale)",
                {"sources": sources, "orphans": [o.id for o in with_log]},
                sessions=tuple(
                    sorted(
                        {s for d in short for s in d.sessions} | {o.session_id for o in with_log}
                    )
                ),
                files=paths,
            )
        )
    lost = [o for o in f.orphan_messages if not (o.log_exists and o.source_id is not None)]
    if lost:
        sessions = sorted({o.session_id for o in lost})
        steps.append(
            Step(
                "adopt",
                ("orphan_message",),
                f"keep {many(len(lost), 'message')} whose session and log are gone under "
                f"{many(len(sessions), 'recovered session')}",
                {
                    "sessions": [
                        [o.session_id, o.source_id]
                        for o in sorted(lost, key=lambda o: o.session_id)
                    ]
                },
                sessions=tuple(sessions),
            )
        )
    changed = sorted(d.path for d in f.logs if d.reason in ("new", "changed"))
    if changed:
        steps.append(
            Step(
                "ingest",
                ("log_new", "log_changed"),
                f"ingest {many(len(changed), 'new or changed log file')}",
                {"paths": changed},
                files=tuple(changed),
            )
        )
    return steps


def _renumber_steps(f: Findings, before: Sequence[Step]) -> list[Step]:
    sessions = {i.session_id for i in f.seq_issues}
    for step in before:
        if step.action in ("dedupe", "adopt"):
            sessions |= set(step.sessions)
    sources = [s for step in before if step.action == "reread" for s in step.params["sources"]]
    if not sessions and not sources:
        return []
    every = bool(f.sessions_total) and len(sessions) > ALL_SESSIONS_SHARE * f.sessions_total
    changes = renumber(
        _after_dedupe([row for sid in sorted(sessions) for row in f.seq_rows.get(sid, ())], before)
    )
    kinds = tuple(
        k
        for k, n in (
            ("seq_zero", any(i.zero for i in f.seq_issues)),
            ("seq_repeated", any(i.repeated for i in f.seq_issues)),
            ("seq_order", any(i.disorder for i in f.seq_issues)),
            ("seq_gap", any(i.gap for i in f.seq_issues)),
        )
        if n
    )
    scope = "every session" if every else many(len(sessions), "session")
    extra = f" and those of {many(len(sources), 're-read file')}" if sources else ""
    return [
        Step(
            "renumber",
            kinds or ("duplicate",),
            f"renumber {scope}{extra}: seq = ROW_NUMBER() OVER (PARTITION BY session "
            "ORDER BY id), in batches",
            {"sessions": None if every else sorted(sessions), "sources": sources},
            sessions=tuple(sorted(sessions)),
            renumbers=tuple(changes),
        )
    ]


def _after_dedupe(rows: list[SeqRow], before: Sequence[Step]) -> list[SeqRow]:
    """The rows as the dedupe step leaves them: copies gone, kept content in the earliest place."""
    gone: set[int] = set()
    moved: dict[int, int] = {}
    for step in before:
        if step.action == "dedupe":
            for place, keep, delete in step.params["groups"]:
                gone |= set(delete)
                if keep != place:
                    moved[keep] = place
    seq_of = {r.id: r.seq for r in rows}
    out = [r for r in rows if r.id not in gone and r.id not in moved]
    out += [
        SeqRow(place, r.session_id, seq_of.get(place, r.seq))
        for r in rows
        if (place := moved.get(r.id)) is not None
    ]
    return out


def _tail_steps(f: Findings, before: Sequence[Step]) -> list[Step]:
    steps = []
    renum = next((s for s in before if s.action == "renumber"), None)
    drift = {c.session_id for c in f.count_drift}
    if renum is not None or drift:
        every = renum is not None and renum.params["sessions"] is None
        sessions = None if every else sorted(drift | set(renum.sessions if renum else ()))
        sources = list(renum.params["sources"]) if renum is not None else []
        steps.append(
            Step(
                "recount",
                ("count_drift",) if drift else (),
                "recount the stored message count of the sessions touched",
                {"sessions": sessions, "sources": sources},
                sessions=tuple(sorted(drift)),
            )
        )
    known = [j.id for j in f.failed_jobs if j.known]
    if known:  # last: what made them fail is most likely fixed by the steps before
        steps.append(
            Step(
                "retry",
                ("failed_job",),
                f"retry failed jobs {', '.join(f'#{i}' for i in known)} from their last batch",
                {"jobs": known},
            )
        )
    rebuild = f.search_missing or f.search_drift is not None
    if rebuild or f.search_waiting:
        kinds = tuple(
            k
            for k, on in (
                ("search_missing", f.search_missing),
                ("search_drift", f.search_drift is not None),
                ("search_backlog", bool(f.search_waiting)),
            )
            if on
        )
        steps.append(
            Step(
                "search_index",
                kinds,
                "rebuild the full-text search index from the messages, in resumable batches"
                if rebuild
                else f"index the {many(f.search_waiting, 'message')} the search index lacks, "
                "in resumable batches",
                {"rebuild": rebuild},
            )
        )
    gone = f.logs_by("gone")
    if gone:
        steps.append(
            Step(
                "mark_gone",
                ("log_gone",),
                f"mark {many(len(gone), 'log file')} gone (their sessions are kept)",
                {"sources": [d.source_id for d in gone]},
                sessions=tuple(sorted({s for d in gone for s in d.sessions})),
                files=tuple(d.path for d in gone),
            )
        )
    return steps
