"""The failures screen, and commit failures during the background backfill."""

from __future__ import annotations

import shutil
from pathlib import Path

from store import db as store_db
from store import pages
from tests.tui.helpers import messages, open_session, settle, table_keys
from tests.tui.scenarios import SIZE
from tests.tui.stores import BOOM_TRIGGER, FIXTURES
from tui.app import ConvoApp
from tui.screens.failures import FailuresScreen
from tui.screens.modals import FailureModal
from tui.screens.sessions import SessionsScreen

SAMPLE = FIXTURES / "claude-code/simonw__claude-code-transcripts/tests/sample_session.jsonl"


async def test_failures_listed_newest_first_with_details(fixture_store: Path) -> None:
    recorded = pages.failures()
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, FailuresScreen)
        assert table_keys(app) == [str(f.id) for f in recorded]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FailureModal)
        assert app.screen.row == recorded[0]
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SessionsScreen)


async def test_failures_reachable_from_the_transcript(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_session(pilot, "Timestamp-Based")
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, FailuresScreen)


async def test_commit_failure_during_backfill(db_file: Path, tmp_path: Path) -> None:
    """A real database error in the middle of the backfill: a toast, a failures row, and the
    rest of the file is still stored while the app keeps running."""
    logs = tmp_path / "agent-logs"
    logs.mkdir()
    shutil.copyfile(SAMPLE, logs / SAMPLE.name)
    with store_db.reading() as conn:
        conn.execute(BOOM_TRIGGER)
    app = ConvoApp(backfill_roots=[logs])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and all(n.title == "Commit failed" for n in errors)
        assert any("boom" in n.message and "sample_session.jsonl:3" in n.message for n in errors)
        assert app.backfill_status == ""  # the banner is gone: the backfill finished
        assert table_keys(app), "the list updated with the backfilled session"
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, FailuresScreen)
        rows = [app.screen.rows[k] for k in table_keys(app)]
        assert any(r.error.endswith("boom") and r.line == 3 for r in rows)
        assert app.is_running
    session = pages.session("test-session-id")
    lines = SAMPLE.read_text().splitlines()
    # Every line but the one that failed is stored.
    assert session.message_count == len(lines) - 1
    texts = [m.text for m in pages.messages_after(session.id, 0, 100)]
    assert not any("I'll create that function" in t for t in texts)
    assert any("Now add a goodbye function" in t for t in texts)


async def test_backfill_fills_an_empty_store_and_shows_progress(db_file: Path) -> None:
    progress: list[str] = []
    app = ConvoApp(backfill_roots=[FIXTURES / "codex"])
    async with app.run_test(size=SIZE) as pilot:
        app.watch(app, "backfill_status", lambda status: progress.append(status), init=True)
        await settle(pilot)
        assert any(p.startswith("Backfill: ") and "log files" in p for p in progress)
        assert progress[-1] == ""
        assert len(table_keys(app)) == pages.session_count() > 0
        assert any("Backfill added" in m for m in messages(app))


async def test_a_write_waiting_for_a_repair_says_why(fixture_store: Path) -> None:
    """A write held off by another process's repair lease (`store.lease`) is a notification
    naming the repair, not a failure."""
    import threading

    from store import funnel

    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        writer = threading.Thread(
            target=funnel._tell_waiting, args=("the store is being repaired by process 7",)
        )
        writer.start()
        writer.join()
        await settle(pilot)
        assert any("being repaired by process 7" in m for m in messages(app))
        assert not [n for n in app._notifications if n.severity == "error"]
