"""`Plan.through(kind)`: fixing one problem applies its steps and every step planned before them."""

from __future__ import annotations

from store.records import Copy
from store.repair import planner
from store.repair.findings import DuplicateGroup, Findings, IndexSpec, SeqIssue

SEQ = IndexSpec("message_session_id_seq", "message", ("session_id", "seq"), True)
STABLE = IndexSpec("message_session_id_stable_id", "message", ("session_id", "stable_id"), True)


def damaged() -> Findings:
    """A drifted unique index over duplicates, and a session whose seq repeats."""
    copies = (Copy(1, 5, "/l/a.jsonl", 12, True), Copy(2, 5, "/l/a.jsonl", 12, True))
    return Findings(
        declared=(SEQ, STABLE),
        sessions_total=100,
        drifted_indexes=(STABLE.name,),
        duplicates=(DuplicateGroup(7, "uuid-1", copies),),
        seq_issues=(SeqIssue(7, 3, repeated=1),),
    )


def test_a_fix_takes_the_steps_planned_before_it() -> None:
    plan = planner.plan(damaged())
    assert [s.action for s in plan.steps] == [
        "drop_index",
        "dedupe",
        "create_index",
        "renumber",
        "recount",
    ]
    # The duplicates' fix needs the drifted index dropped first, not the renumbering after it;
    # the recount (housekeeping, no kind of its own) follows any fix.
    assert [s.action for s in plan.through("duplicate").steps] == [
        "drop_index",
        "dedupe",
        "recount",
    ]
    assert plan.through("seq_repeated") == plan


def test_a_note_has_no_steps() -> None:
    plan = planner.plan(damaged())
    assert plan.through("stale_rows").empty
    assert planner.plan(Findings()).through("duplicate").empty
