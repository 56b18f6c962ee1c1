"""The repair screen: checks on open, problems with their plan, apply after a confirmation."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Label, Static

from store.repair import checks
from store.repair.job_types import JobStatus
from store.repair.plans import Plan
from tests.store.repair.repair_support import running_elsewhere
from tests.tui.helpers import messages, settle, table_keys
from tests.tui.scenarios import SIZE
from tests.tui.stores import damage_store
from tui.app import ConvoApp
from tui.screens.modals import ConfirmModal
from tui.screens.repair import RepairScreen
from tui.screens.sessions import SessionsScreen
from tui.widgets.banner import StatusBanner


def summary(app: ConvoApp) -> str:
    return str(app.screen.query_one("#repair-summary", Static).render())


async def test_healthy_store(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, RepairScreen)
        assert "healthy" in summary(app)
        assert table_keys(app) == []
        await pilot.press("a")  # nothing to apply: no dialog
        await settle(pilot)
        assert isinstance(app.screen, RepairScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SessionsScreen)


async def test_repair_fixes_a_damaged_store(fixture_store: Path) -> None:
    damage_store(fixture_store)
    assert not checks.run().ok
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, RepairScreen)
        assert "orphan_part" in table_keys(app)
        steps = str(app.screen.query_one("#repair-steps", Static).render())
        assert "dry run" in steps
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        await settle(pilot)
        assert isinstance(app.screen, RepairScreen)
        assert "healthy" in summary(app), summary(app)
        assert table_keys(app) == []
    assert checks.run().ok


async def test_confirm_no_changes_nothing(fixture_store: Path) -> None:
    damage_store(fixture_store)
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("enter")  # only `y` says yes
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, RepairScreen)
        assert "orphan_part" in table_keys(app)
    assert not checks.run().ok


def test_damage_is_real(fixture_store: Path) -> None:
    damage_store(fixture_store)
    conn = sqlite3.connect(fixture_store)
    try:
        missing = conn.execute(
            "SELECT count(*) FROM part WHERE message_id NOT IN (SELECT id FROM message)"
        ).fetchone()[0]
    finally:
        conn.close()
    assert missing == 1


async def test_cancelled_repair_stays_resumable(
    fixture_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from store.repair import jobs

    real_apply = jobs.apply

    def stopped_apply(plan: Plan, **kwargs: Any) -> list[JobStatus]:
        # As if `c` was pressed before the first batch.
        return real_apply(plan, **{**kwargs, "should_stop": lambda: True})

    monkeypatch.setattr(jobs, "apply", stopped_apply)
    damage_store(fixture_store)
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        await pilot.press("a", "y")
        await settle(pilot)
        await settle(pilot)
        assert isinstance(app.screen, RepairScreen)
        assert not app.screen.applying
        assert "orphan_part" in table_keys(app)  # nothing was changed: listed again
        assert any("Repair stopped" in n.message for n in app._notifications)
        monkeypatch.setattr(jobs, "apply", real_apply)
        await pilot.press("a", "y")
        await settle(pilot)
        await settle(pilot)
        assert "healthy" in summary(app), summary(app)
    assert checks.run().ok


PACED = {"batch_rows": 50, "batch_s": None, "pause_s": 0.1}
"""Repair pacing that makes the gapped store's repair (640 rows renumbered in 16 batches, then
35 sessions recounted one per batch) take ~5 s: time to leave the screen while it runs."""


async def start_paced_repair(pilot: Pilot[None], pacing: dict[str, Any]) -> ConvoApp:
    """R, a, y on a store that needs a multi-batch repair; returns once its first batch is in."""
    app = pilot.app
    assert isinstance(app, ConvoApp)
    app.repair_pacing = dict(pacing)
    await settle(pilot)
    await pilot.press("R")
    await settle(pilot)
    assert "seq_gap" in table_keys(app)
    await pilot.press("a", "y")
    for _ in range(500):
        if app.repair_job is not None:
            break
        await asyncio.sleep(0.01)
    assert app.repairing and app.repair_job is not None
    return app


def message_count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM message").fetchone()[0])
    finally:
        conn.close()


def sequences_intact(path: Path, total: int) -> None:
    """All `total` messages are there, and every session's seq runs 1..n in id order (the order
    the logs were ingested in)."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT session_id, id, seq FROM message ORDER BY session_id, id")
        by_session: dict[int, list[int]] = {}
        for session_id, _id, seq in rows:
            by_session.setdefault(session_id, []).append(seq)
    finally:
        conn.close()
    assert sum(len(seqs) for seqs in by_session.values()) == total
    for seqs in by_session.values():
        assert seqs == list(range(1, len(seqs) + 1))


async def test_repair_goes_on_after_leaving_the_screen(gapped_store: Path) -> None:
    total = message_count(gapped_store)
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await start_paced_repair(pilot, PACED)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SessionsScreen)
        assert app.repairing  # leaving the screen did not stop it
        assert any("goes on in the background" in m for m in messages(app))
        banner = app.screen.query_one(StatusBanner)
        assert banner.display and re.search(
            r"Repair: \w+ #\d: [\d,]+/[\d,]+ rows", str(banner.render())
        )
        done_before = app.repair_job.rows_done if app.repair_job else 0
        await settle(pilot)  # the job runs to its end
        assert not app.repairing
        assert not banner.display
        assert any("Repair finished" in m for m in messages(app))
        assert done_before < 640
    assert checks.run().ok
    sequences_intact(gapped_store, total)


async def test_reopening_the_screen_shows_the_job_and_c_stops_it(gapped_store: Path) -> None:
    total = message_count(gapped_store)
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await start_paced_repair(pilot, {**PACED, "pause_s": 30.0})
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, RepairScreen)
        assert app.screen.query_one("#repair-progress").display
        assert "Repairing" in summary(app)
        rate = str(app.screen.query_one("#repair-rate", Label).render())
        assert re.match(r"renumber #1: \d+/[\d,]+ rows · measuring the rate…$", rate), rate
        await pilot.press("c")  # wakes the 30 s pause: the job stops at once
        await settle(pilot)
        assert not app.repairing
        assert any("Repair stopped" in m for m in messages(app))
        keys = table_keys(app)
        assert "seq_gap" in keys and "paused_job" in keys
        app.repair_pacing = {}
        await pilot.press("a", "y")
        await settle(pilot)
        assert "healthy" in summary(app), summary(app)
    assert checks.run().ok
    sequences_intact(gapped_store, total)


async def test_quitting_stops_the_repair_resumably(gapped_store: Path) -> None:
    from store.repair import jobs, planner

    total = message_count(gapped_store)
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await start_paced_repair(pilot, {**PACED, "pause_s": 30.0})
        done = app.repair_job.rows_done if app.repair_job else 0
        app.exit()
    assert app.repair_interrupted
    job, recount = sorted(jobs.recent(), key=lambda j: j.id)
    assert (job.name, job.status, job.rows_done) == ("renumber", "cancelled", done)
    assert (recount.status, recount.rows_done) == ("pending", 0)  # never started
    report = checks.run()
    assert {"seq_gap", "paused_job", "dead_job"} <= {p.kind for p in report.problems}
    results = jobs.apply(planner.plan(report.findings))
    assert results[0].id == job.id and results[0].status == "done"
    assert checks.run().ok
    sequences_intact(gapped_store, total)


async def test_enter_fixes_only_the_highlighted_problem(fixture_store: Path) -> None:
    from tests.tui.stores import gap_store

    gap_store(damage_store(fixture_store))
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        keys = table_keys(app)
        assert {"orphan_part", "seq_gap"} <= set(keys)
        while table_keys(app)[app.screen.query_one(DataTable).cursor_row] != "orphan_part":
            await pilot.press("j")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        assert "fix orphan_part" in str(app.screen.question)
        await pilot.press("y")
        await settle(pilot)
        await settle(pilot)
        assert table_keys(app) == ["seq_gap"]  # the other problem is left as it was
        await pilot.press("enter", "y")
        await settle(pilot)
        await settle(pilot)
        assert "healthy" in summary(app), summary(app)
    assert checks.run().ok


@pytest.fixture
def other_repairer(damaged_store: Path) -> Iterator[int]:
    """A repair job that another live process is running: its pid."""
    with running_elsewhere() as (_job_id, pid):
        yield pid


async def test_a_repair_running_elsewhere_is_not_joined(other_repairer: int) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        await pilot.press("a", "y")
        await settle(pilot)
        assert not app.repairing
        assert any(f"is running in process {other_repairer}" in m for m in messages(app))
        assert "orphan_part" in table_keys(app)  # nothing was changed
    assert not checks.run().ok
