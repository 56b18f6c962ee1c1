"""The app fills the search index of an existing store in the background: progress in the banner,
stopped after its batch on quit, resumed (the same job) on the next start."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static

from store import textindex
from store.db import reading
from store.repair import jobs
from tests.tui.helpers import settle
from tests.tui.scenarios import HELD_INDEX, SIZE, search_for
from tui.app import ConvoApp
from tui.widgets.banner import StatusBanner


def _waiting() -> int:
    with reading() as conn:
        return textindex.waiting_rows(conn)


async def _first_batch(pilot: Pilot[None]) -> None:
    for _ in range(500):
        if getattr(pilot.app, "index_status", "").startswith("Indexing for search: "):
            return
        await pilot.pause(0.02)
    raise AssertionError("the index job never reported a batch")


async def test_the_app_indexes_waiting_rows_and_shows_it_in_the_banner(
    unindexed_store: Path,
) -> None:
    waiting = _waiting()
    assert waiting > 100
    app = ConvoApp()
    app.index_pacing = dict(HELD_INDEX)
    async with app.run_test(size=SIZE) as pilot:
        await _first_batch(pilot)
        await settle(pilot, skip=("search-index",))
        banner = app.screen.query_one(StatusBanner)
        assert str(banner.content) == f"Indexing for search: 5/{waiting:,}"
        assert banner.has_class("-active")
        # Search works meanwhile, on what is indexed, and says how much that is.
        await search_for(pilot, "hello", skip=("search-index",))
        note = app.screen.query_one("#search-note", Static)
        assert note.has_class("-shown")
        assert str(note.content).startswith("search covers 6")
        assert str(note.content).endswith("% of messages while the index is built")
    # Quitting stopped the job after its batch: paused, resumable, the rest still waiting.
    (job,) = [j for j in jobs.recent() if j.name == "search_index"]
    assert job.paused and job.rows_done == 5
    assert _waiting() == waiting - 5

    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)  # the index job is a worker: settle waits for it to finish
        assert app.index_status == ""
        assert not app.screen.query_one(StatusBanner).has_class("-active")
    (again,) = [j for j in jobs.recent() if j.name == "search_index"]
    assert again.id == job.id and again.status == "done", "the same job resumed"
    assert _waiting() == 0


async def test_a_complete_index_starts_no_job(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.index_status == ""
    assert not [j for j in jobs.recent() if j.name == "search_index"]


async def test_a_repair_pauses_indexing_and_it_goes_on_after(unindexed_store: Path) -> None:
    """One writer job at a time: a repair stops the index job after its batch, and the app
    resumes it when the repair ends (`_repair_finished` calls `start_indexing`)."""
    app = ConvoApp()
    app.index_pacing = dict(HELD_INDEX)
    async with app.run_test(size=SIZE) as pilot:
        await _first_batch(pilot)
        app.repairing = True
        await settle(pilot)  # the held job wakes, sees the repair, and stops
        assert app.index_status == ""
        (job,) = [j for j in jobs.recent() if j.name == "search_index"]
        assert job.paused
        app.repairing = False
        app.index_pacing = {}
        app.start_indexing()
        await settle(pilot)
    (job,) = [j for j in jobs.recent() if j.name == "search_index"]
    assert job.status == "done" and _waiting() == 0
