"""The sessions screen, driven by keyboard: keyset pages, filters, sort, folding, opening."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from store import pages
from store.pages import SessionFilter
from tests.tui.helpers import settle, table_keys
from tests.tui.scenarios import SIZE
from tui.app import ConvoApp
from tui.screens.modals import ProjectModal
from tui.screens.sessions import FIRST_PAGE, PAGE, SessionsScreen
from tui.screens.transcript import TranscriptScreen


def _screen(app: ConvoApp) -> SessionsScreen:
    assert isinstance(app.screen, SessionsScreen)
    return app.screen


async def test_lists_sessions_newest_first(fixture_store: Path) -> None:
    expected = [str(r.id) for r in pages.sessions(limit=500)]
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert table_keys(app) == expected
        summary = str(app.screen.query_one("#sessions-summary").render())
        assert summary.startswith(f"{len(expected)} sessions")


async def test_keyset_pages_load_as_the_cursor_nears_the_end(many_store: Path) -> None:
    total = pages.session_count()
    assert total > 2 * PAGE
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(table_keys(app)) == FIRST_PAGE  # no whole-table load
        for _ in range(4):
            await pilot.press("end")
            await settle(pilot)
        keys = table_keys(app)
        assert len(keys) == total and len(set(keys)) == total
        assert keys == [str(r.id) for r in pages.sessions(limit=total)]


async def test_filter_as_you_type(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"hello")
        await settle(pilot)
        keys = table_keys(app)
        assert keys and len(keys) < pages.session_count()
        assert keys == [str(r.id) for r in pages.sessions(flt=SessionFilter(text="hello"))]
        assert any("hello" in (_screen(app).rows[k].title or "").lower() for k in keys)
        await pilot.press("escape")  # clears the filter
        await settle(pilot)
        assert len(table_keys(app)) == pages.session_count()
        await pilot.press("escape")  # back to the list
        assert isinstance(app.focused, DataTable)


async def test_agent_filter_cycles_and_sort_by_size(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        screen = _screen(app)
        agent = screen.filter.agent
        assert agent == "claude"
        assert {screen.rows[k].agent for k in table_keys(app)} == {agent}
        await pilot.press("s")
        await settle(pilot)
        counts = [screen.rows[k].message_count for k in table_keys(app)]
        assert counts == sorted(counts, reverse=True)
        expected = pages.sessions(limit=500, flt=SessionFilter(agent="claude", sort="size"))
        assert table_keys(app) == [str(r.id) for r in expected]


async def test_project_picker_filters_by_project(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, ProjectModal)
        await pilot.press(*"/tmp", "down", "enter")
        await settle(pilot)
        screen = _screen(app)
        assert screen.filter.project == "/tmp"
        assert {screen.rows[k].project for k in table_keys(app)} == {"/tmp"}


async def test_sub_agent_threads_fold_under_their_parent(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = _screen(app)
        before = table_keys(app)
        assert all(screen.rows[k].parent_id is None for k in before)
        parent = next(k for k in before if screen.rows[k].child_count)
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=before.index(parent))
        await pilot.press("space")
        await settle(pilot)
        after = table_keys(app)
        at = after.index(parent)
        children = after[at + 1 : at + 1 + screen.rows[parent].child_count]
        assert all(screen.rows[k].parent_id == int(parent) for k in children)
        await pilot.press("space")
        await settle(pilot)
        assert table_keys(app) == before


async def test_enter_opens_the_highlighted_session(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = table_keys(app)[0]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TranscriptScreen)
        assert str(app.screen.session.id) == first


async def test_q_quits_from_the_list(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_a_tall_terminal_is_filled_without_moving(many_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=(120, 80)) as pilot:
        await settle(pilot)
        assert len(table_keys(app)) == FIRST_PAGE + PAGE
