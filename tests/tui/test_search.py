"""The search screen, driven by keyboard: typing to the opened message, states, filters, paging,
stale answers, the write lock, and the key that reaches it from every screen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from store.search import engine
from store.search.filters import Filters
from tests.tui.helpers import messages, open_session, settle
from tests.tui.scenarios import SIZE, search_for, searched
from tui.app import ConvoApp
from tui.messages import SearchAnswered
from tui.screens import search as search_module
from tui.screens.failures import FailuresScreen
from tui.screens.help import HelpScreen, key_rows
from tui.screens.search import SearchScreen
from tui.screens.sessions import SessionsScreen
from tui.screens.transcript import TranscriptScreen


def _screen(app: ConvoApp) -> SearchScreen:
    assert isinstance(app.screen, SearchScreen)
    return app.screen


def _text(app: ConvoApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


async def test_typing_a_query_opens_the_transcript_at_the_hit(fixture_store: Path) -> None:
    """The hit is inside a folded tool result: it opens, the match shows, n walks the matches."""
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await search_for(pilot, "WithException")
        screen = _screen(app)
        hits = screen.hit_list.hits
        assert [h.seq for h in hits] == [35, 42, 7]
        assert "Timestamp-Based" in hits[0].title
        assert "3 hits" in _text(app, "#search-status")
        await pilot.press("enter")  # to the results
        await settle(pilot)
        await pilot.press("enter")  # open the first
        await settle(pilot)
        transcript = app.screen
        assert isinstance(transcript, TranscriptScreen)
        view = transcript.view
        assert view.current is not None and view.current.seq == 35
        assert view.current.kind == "tool_result"
        start, end = view.window.span(view.cursor)
        shown = [view.window.line(i) for i in range(start, end)]
        assert end - start > 1 and any(s and "WithException" in s.text for s in shown)
        top = round(view.scroll_y)
        assert top <= start and end <= top + view.scrollable_content_region.height
        assert transcript.find is not None and transcript.find.text == "WithException"
        status = _text(app, "#transcript-status")
        assert "find “WithException” · match 2 of 3 (n/N)" in status
        await pilot.press("n")
        await settle(pilot)
        assert view.current is not None and view.current.seq == 42
        await pilot.press("n")
        await settle(pilot)
        assert view.current is not None and view.current.seq == 7
        assert "Wrapped to the first match." in messages(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen and screen.text == "WithException"


async def test_the_screen_answers_keys_while_another_connection_holds_the_write_lock(
    fixture_store: Path,
) -> None:
    writer = sqlite3.connect(fixture_store, timeout=0)
    writer.execute("BEGIN IMMEDIATE")
    try:
        app = ConvoApp()
        async with app.run_test(size=SIZE) as pilot:
            await search_for(pilot, "hello world")
            screen = _screen(app)
            assert screen.hit_list.hits and screen.error is None
            await pilot.press("enter", "r")  # to the results, then the role filter
            await searched(pilot)
            assert screen.filters.role == "user"
            assert screen.hit_list.hits and {h.role for h in screen.hit_list.hits} == {"user"}
            await pilot.press("j", "k", "enter")  # and a hit opens, read while the lock is held
            await settle(pilot)
            assert isinstance(app.screen, TranscriptScreen) and app.screen.view.current
            await pilot.press("escape", "escape")
            await pilot.pause()
            assert isinstance(app.screen, SessionsScreen)
            assert writer.in_transaction, "the other connection held the lock all along"
    finally:
        writer.rollback()
        writer.close()


async def test_hint_no_results_and_a_bad_query(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await search_for(pilot, "")
        assert "prefix*" in _text(app, "#search-hint") and "-word" in _text(app, "#search-hint")
        await pilot.press(*"xylophone")
        await searched(pilot)
        screen = _screen(app)
        assert not screen.hit_list.hits
        assert "No message matches “xylophone”." in _text(app, "#search-message")
        await pilot.press(*["backspace"] * 9, *"-hello")
        await searched(pilot)
        assert screen.error == "a query needs at least one word that is not excluded (-word)"
        assert screen.query_one("#search-message").has_class("-error")
        await pilot.press(*["backspace"] * 6, *'"unbalanced')  # answered, not an error
        await searched(pilot)
        assert screen.error is None and screen.results is not None
        assert any("lone" in note for note in screen.results.notes)


async def test_a_question_falls_back_to_its_words_and_says_so(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await search_for(pilot, "zebra crossing")
        screen = _screen(app)
        assert screen.results is not None and screen.results.fallback
        assert screen.hit_list.hits
        assert "no message has every word" in _text(app, "#search-status")


async def test_without_an_index_the_screen_says_so(
    fixture_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVO_FTS", "off")
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await search_for(pilot, "hello")
        screen = _screen(app)
        assert screen.error is not None and "unavailable" in screen.error
        assert "unavailable" in _text(app, "#search-message")
        assert not screen.query_one("#search-message").has_class("-error")


async def test_filters_from_the_keyboard(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await search_for(pilot, "hello")
        screen = _screen(app)
        await pilot.press("enter", "t")  # kind: text
        await searched(pilot)
        assert screen.filters.kind == "text"
        assert {h.kind for h in screen.hit_list.hits} <= {"prompt", "text"}
        await pilot.press("a")  # the first agent
        await searched(pilot)
        assert screen.filters.agent == screen.agents[0]
        assert {h.agent for h in screen.hit_list.hits} <= {screen.agents[0]}
        assert f"agent: {screen.agents[0]}" in _text(app, "#search-filters")
        await pilot.press("w")  # the last day: nothing in the fixtures is that recent
        await searched(pilot)
        assert screen.filters.since == "24h" and not screen.hit_list.hits
        assert "filters above narrow the search" in _text(app, "#search-message")
        await pilot.press("slash")
        await pilot.pause()
        assert screen.query_one("#search-query", Input).has_focus
        await pilot.press("down")
        await pilot.pause()
        assert screen.query_one("#search-query", Input).has_focus, "no hits: nothing to go to"
        screen.action_toggle_subagents()
        assert screen.filters.subagents and "sub-agents: included" in _text(app, "#search-filters")


async def test_results_page_in_as_the_cursor_nears_the_end(
    fixture_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "PAGE", 10)
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await search_for(pilot, "test")
        screen = _screen(app)
        assert len(screen.hit_list.hits) == 10 and "10+ hits" in _text(app, "#search-status")
        await pilot.press("enter", "end")
        await searched(pilot)
        hits = screen.hit_list.hits
        assert len(hits) == 20
        whole = engine.search("test", Filters(), limit=20).hits
        assert [h.message_id for h in hits] == [h.message_id for h in whole]


async def test_an_answer_to_an_older_query_is_never_shown(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await search_for(pilot, "caching")
        screen = _screen(app)
        shown = [h.message_id for h in screen.hit_list.hits]
        older = engine.search("hello world", Filters())
        screen.post_message(SearchAnswered(screen.generation - 1, older, reset=True))
        await settle(pilot)
        assert [h.message_id for h in screen.hit_list.hits] == shown
        assert screen.results is not None and screen.results.query == "caching"
        await pilot.press(*" world", "backspace")  # typed fast: only the last text runs
        await searched(pilot)
        assert screen.results is not None and screen.results.query == "caching worl"


async def test_S_reaches_search_from_every_screen_and_types_into_inputs(
    fixture_store: Path,
) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", "S")  # the session filter has the focus: S is a letter
        await settle(pilot)
        assert isinstance(app.screen, SessionsScreen)
        assert app.screen.query_one("#filter", Input).value == "S"
        await pilot.press("escape", "escape")
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, FailuresScreen)
        await pilot.press("S")
        await settle(pilot)
        assert isinstance(app.screen, SearchScreen)
        await pilot.press("escape", "escape")
        await settle(pilot)
        await open_session(pilot, "Timestamp-Based")
        await pilot.press("S")
        await settle(pilot)
        assert isinstance(app.screen, SearchScreen)
        names = {c.title for c in app.get_system_commands(app.screen)}
        assert "Search" in names


async def test_S_from_a_hit_goes_back_to_its_search(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await search_for(pilot, "WithException")
        screen = _screen(app)
        await pilot.press("enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, TranscriptScreen)
        await pilot.press("S")
        await settle(pilot)
        assert app.screen is screen and screen.query_one("#search-query", Input).has_focus


async def test_question_mark_lists_the_search_keys(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await search_for(pilot, "hello")
        screen = app.screen
        await pilot.press("enter", "question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        described = {description for _, description, _ in key_rows(screen)}
        assert {"Open", "Query", "Agent", "Project", "Role", "Kind", "When", "Sub-agents"} <= (
            described
        )
