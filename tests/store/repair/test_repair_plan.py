"""Repair planning is pure: findings in, an ordered plan out, no database anywhere."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from store.records import Copy, LogDrift
from store.repair import plan_indexes, planner, plans
from store.repair.findings import (
    CountDrift,
    DuplicateGroup,
    Findings,
    IndexMismatch,
    IndexSpec,
    JobFact,
    OrphanMessage,
    SeqIssue,
    SeqRow,
)
from store.repair.problems import summarize

SEQ = IndexSpec("message_session_id_seq", "message", ("session_id", "seq"), True)
STABLE = IndexSpec("message_session_id_stable_id", "message", ("session_id", "stable_id"), True)
PART = IndexSpec("part_message_id_idx", "part", ("message_id", "idx"), False)
DECLARED = (SEQ, STABLE, PART)


def findings(**kwargs: Any) -> Findings:
    return Findings(declared=DECLARED, sessions_total=kwargs.pop("sessions_total", 100), **kwargs)


def actions(plan: planner.Plan) -> list[str]:
    return [s.action for s in plan.steps]


def group(*copies: tuple[int, bool | None]) -> DuplicateGroup:
    return DuplicateGroup(7, "uuid-1", tuple(Copy(i, 5, "/l/a.jsonl", 12, m) for i, m in copies))


# -- which copy is kept ----------------------------------------------------------------------


def test_keeper_is_the_earliest_copy_that_matches_the_log() -> None:
    k = planner.choose_keeper(group((30, True), (10, True), (20, False)))
    assert (k.keep, k.place, k.delete) == (10, 10, (20, 30))
    assert "earliest" in k.reason and "/l/a.jsonl:12" in k.reason


def test_a_later_copy_that_matches_takes_the_earliest_place() -> None:
    k = planner.choose_keeper(group((10, False), (20, True), (30, True)))
    assert (k.keep, k.place, k.delete) == (20, 10, (10, 30))
    assert "in the place of #10" in k.reason


@pytest.mark.parametrize(("matches", "why"), [(False, "no copy matches"), (None, "cannot be read")])
def test_without_a_matching_copy_the_earliest_is_kept(matches: bool | None, why: str) -> None:
    k = planner.choose_keeper(group((20, matches), (10, matches)))
    assert (k.keep, k.place, k.delete) == (10, 10, (20,))
    assert why in k.reason


# -- renumbering -----------------------------------------------------------------------------


def test_renumber_follows_id_order_per_session() -> None:
    rows = [SeqRow(5, 1, 0), SeqRow(3, 1, 7), SeqRow(9, 1, 7), SeqRow(4, 2, 1), SeqRow(8, 2, 2)]
    changes = planner.renumber(rows)
    assert [(c.id, c.old, c.new) for c in changes] == [(3, 7, 1), (5, 0, 2), (9, 7, 3)]


def test_renumber_leaves_a_healthy_session_alone() -> None:
    assert planner.renumber([SeqRow(i, 1, i) for i in range(1, 50)]) == []


# -- plans -----------------------------------------------------------------------------------


def test_healthy_findings_give_an_empty_plan() -> None:
    plan = planner.plan(findings())
    assert plan.empty and not plan.rebuild
    assert summarize(findings()) == ([], [])


def test_corrupt_pages_give_a_rebuild_and_nothing_else() -> None:
    f = findings(
        corrupt=("Page 7: btreeInitPage() returns error code 11",),
        duplicates=(group((1, True), (2, True)),),
    )
    assert actions(planner.plan(f)) == ["rebuild"]
    assert planner.plan_rebuild("file is not a database").rebuild


def test_drifted_index_is_reindexed_first() -> None:
    f = findings(drifted_indexes=("part_message_id_idx",), orphan_parts=(4, 8))
    plan = planner.plan(f)
    assert actions(plan) == ["reindex", "delete_parts"]
    assert plan.steps[0].indexes == ("part_message_id_idx",)
    assert [d.id for d in plan.steps[1].deletes] == [4, 8]


def test_drifted_unique_index_with_duplicates_is_dropped_then_recreated() -> None:
    f = findings(
        drifted_indexes=("message_session_id_stable_id",),
        duplicates=(group((1, True), (2, True)),),
        seq_issues=(SeqIssue(7, 3, repeated=1),),
    )
    plan = planner.plan(f)
    assert actions(plan) == ["drop_index", "dedupe", "create_index", "renumber", "recount"]
    drop = plan.steps[0]
    assert drop.params["standin"]["name"] == "message_session_id_stable_id_repair"
    assert drop.params["standin"]["unique"] is False
    assert plan.steps[2].params["spec"]["unique"] is True


def test_non_unique_indexes_are_recreated_around_the_renumbering() -> None:
    f = findings(
        index_mismatches=(
            IndexMismatch(SEQ, IndexSpec(SEQ.name, "message", SEQ.columns, False)),
            IndexMismatch(STABLE, IndexSpec(STABLE.name, "message", STABLE.columns, False)),
        ),
        duplicates=(group((1, True), (2, True)),),
        seq_issues=(SeqIssue(7, 3, repeated=1),),
    )
    plan = planner.plan(f)
    assert actions(plan) == ["dedupe", "create_index", "renumber", "create_index", "recount"]
    assert plan.steps[1].indexes == (STABLE.name,) and plan.steps[3].indexes == (SEQ.name,)


def test_missing_seq_index_gets_a_standin_until_it_can_be_unique() -> None:
    f = findings(
        index_mismatches=(IndexMismatch(SEQ, None),), seq_issues=(SeqIssue(7, 3, zero=1, gap=True),)
    )
    plan = planner.plan(f)
    assert actions(plan) == ["create_index", "renumber", "create_index", "recount"]
    assert plan.steps[0].params["spec"]["name"] == SEQ.name + "_repair"
    assert SEQ.name + "_repair" in plan.steps[2].params["drop"]


def test_jobs_are_resumed_first_and_retried_last() -> None:
    dead = JobFact(3, "renumber", "running", 40, 100, 999, None, known=True)
    alien = JobFact(4, "backfill", "pending", 0, 10, 999, None, known=False)
    failed = JobFact(5, "create_index", "failed", 0, 1, None, "UNIQUE constraint failed", True)
    f = findings(dead_jobs=(dead, alien), failed_jobs=(failed,), count_drift=(CountDrift(7, 3, 4),))
    plan = planner.plan(f)
    assert actions(plan) == ["resume", "dismiss", "recount", "retry"]
    assert plan.steps[0].params == {"jobs": [3]} and plan.steps[-1].params == {"jobs": [5]}


def test_log_drift_steps() -> None:
    f = findings(
        logs=(
            LogDrift("/l/new.jsonl", "new"),
            LogDrift("/l/grew.jsonl", "changed", 2, (5,)),
            LogDrift("/l/short.jsonl", "short", 3, (6,), expected=10, actual=8),
            LogDrift("/l/gone.jsonl", "gone", 4, (8,)),
        ),
        orphan_messages=(
            OrphanMessage(70, 9, 3, "/l/short.jsonl", True),
            OrphanMessage(71, 10, None, None, False),
        ),
    )
    plan = planner.plan(f)
    assert actions(plan) == ["reread", "adopt", "ingest", "renumber", "recount", "mark_gone"]
    reread, adopt, ingest, renumber, _recount, gone = plan.steps
    assert reread.params == {"sources": [3], "orphans": [70]}
    assert adopt.params == {"sessions": [[10, None]]}
    assert ingest.files == ("/l/grew.jsonl", "/l/new.jsonl")
    assert renumber.params["sources"] == [3] and 10 in renumber.params["sessions"]
    assert gone.params == {"sources": [4]} and gone.sessions == (8,)


def test_many_damaged_sessions_renumber_them_all() -> None:
    f = findings(sessions_total=10, seq_issues=tuple(SeqIssue(i, 2, gap=True) for i in range(8)))
    plan = planner.plan(f)
    assert plan.steps[0].params["sessions"] is None
    assert plan.steps[1].params["sessions"] is None
    assert "every session" in plan.steps[0].summary


def test_preview_follows_the_dedupe() -> None:
    rows = (SeqRow(10, 7, 5), SeqRow(11, 7, 6), SeqRow(20, 7, 7))
    f = findings(
        duplicates=(
            DuplicateGroup(7, "u", (Copy(10, 5, "/a", 1, False), Copy(20, 7, "/a", 1, True))),
        ),
        seq_issues=(SeqIssue(7, 3, gap=True),),
        seq_rows={7: rows},
    )
    renumber = next(s for s in planner.plan(f).steps if s.action == "renumber")
    assert [(c.id, c.old, c.new) for c in renumber.renumbers] == [(10, 5, 1), (11, 6, 2)]


def test_problems_name_count_sessions_and_why() -> None:
    f = findings(
        seq_issues=(SeqIssue(3, 10, zero=2, gap=True), SeqIssue(4, 5, disorder=1)),
        orphan_parts=(1, 2, 3),
        stale_rows=4,
        stale_sessions=(9,),
    )
    problems, notes = summarize(f)
    by_kind = {p.kind: p for p in problems}
    assert set(by_kind) == {"seq_zero", "seq_gap", "seq_order", "orphan_part"}
    assert (by_kind["seq_zero"].count, by_kind["seq_zero"].sessions) == (2, (3,))
    assert by_kind["orphan_part"].to_json()["detail"].startswith("parts whose message is gone")
    assert [(n.kind, n.count, n.sessions) for n in notes] == [("stale_rows", 4, (9,))]


def test_plan_json_lists_what_changes() -> None:
    f = findings(duplicates=(group((1, True), (2, True)),))
    step = planner.plan(f).to_json()["steps"][0]
    assert step["deletes"] == [
        {"table": "message", "id": 2, "reason": step["deletes"][0]["reason"]}
    ]
    assert set(step) >= {"action", "kinds", "summary", "renumbers", "files", "indexes"}


def test_planning_needs_no_database() -> None:
    for module in (planner, plan_indexes, plans):
        tree = ast.parse(Path(module.__file__ or "").read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert imported <= {
            "__future__",
            "collections.abc",
            "dataclasses",
            "typing",
            "store.records",
            "store.repair.findings",
            "store.repair.plans",
            "store.repair.plan_indexes",
        }, (module.__name__, imported)
