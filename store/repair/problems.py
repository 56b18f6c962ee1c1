"""`Findings` summarised as `Problem`s: one line per kind of damage (what a repair fixes) or of
state kept on purpose (notes), with a count, the sessions it touches, and the fix. `convo check`,
its JSON and the repair screen show these.
"""

from __future__ import annotations

from collections.abc import Iterable

from store.records import LogDrift
from store.repair.findings import Findings, Problem
from store.repair.plans import many


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
            *_search_problems(f),
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
            "; ".join(
                [
                    *(
                        [f"index entries disagree with their table ({', '.join(plain)})"]
                        if (plain := [n for n in f.drifted_indexes if n not in f.lying_indexes])
                        else []
                    ),
                    *(
                        f"{name} says UNIQUE but its table holds "
                        f"{many(n, 'row', 'rows')} sharing a key with another"
                        for name, n in sorted(f.lying_indexes.items())
                    ),
                ]
            )
            + "; fix: REINDEX (or drop and recreate)",
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
            f"{many(extra, 'extra copy', 'extra copies')} of "
            f"{many(len(f.duplicates), 'message')} (same session and stable id); fix: keep "
            "the copy that matches the log, else the earliest, delete the others by id",
        ),
        _problem(
            "duplicate_rows",
            sum(len(c.delete) for c in f.row_copies),
            (c.session_id for c in f.row_copies),
            f"{many(sum(len(c.delete) for c in f.row_copies), 'row')} copying another row of "
            "their session (same raw record and block, a stable id the record does not name); "
            "fix: keep the row the log line names, delete the copies by id with their parts",
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
            f"messages whose session row is gone ({many(len(gone_sessions), 'session')}); fix: "
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
            f"rows ingested from {many(len(short), 'log file')} are missing from the store; fix: "
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


def _search_problems(f: Findings) -> list[Problem]:
    return [
        _problem(
            "search_missing",
            int(f.search_missing),
            (),
            "the full-text search index is missing (its tables are gone); fix: make it again "
            "and index every message (a resumable job; search works meanwhile on what is done)",
        ),
        _problem(
            "search_drift",
            int(f.search_drift is not None),
            (),
            f"the full-text search index is out of step with the messages ({f.search_drift}); "
            "fix: rebuild it (a resumable job)",
        ),
        _problem(
            "search_backlog",
            f.search_waiting,
            (),
            f"{many(f.search_waiting, 'message')} not in the full-text search index yet; "
            "fix: index them (a resumable job, which the app also runs on its own)",
        ),
    ]


def _job_problems(f: Findings) -> list[Problem]:
    dead = ", ".join(
        f"#{j.id} {j.name} ({j.rows_done}/{j.rows_total}, pid {j.pid})" for j in f.dead_jobs
    )
    failed = "; ".join(f"#{j.id} {j.name}: {j.error or 'no error recorded'}" for j in f.failed_jobs)
    paused = ", ".join(
        f"#{j.id} {j.name} ({j.rows_done:,}/{j.rows_total:,} rows)" for j in f.paused_jobs
    )
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
        _problem(
            "paused_job",
            len(f.paused_jobs),
            (),
            f"repair jobs stopped before they finished: {paused}; "
            "fix: resume them from where they stopped",
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
