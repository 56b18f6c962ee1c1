"""The repair screen: checks on open, problems with their plan, apply after a confirmation."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from store import checks
from store.plans import Plan
from store.runner import JobStatus
from tests.tui.helpers import settle, table_keys
from tests.tui.scenarios import SIZE
from tests.tui.stores import damage_store
from tui.app import ConvoApp
from tui.screens.modals import ConfirmModal
from tui.screens.repair import RepairScreen
from tui.screens.sessions import SessionsScreen


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
    from store import jobs

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
