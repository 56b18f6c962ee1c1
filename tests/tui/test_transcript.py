"""The transcript screen, driven by keyboard: paging by seq, jumps, find, toggles, copy, export."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from store import pages
from store.records import SessionRow
from tests.tui.helpers import messages, open_session, settle
from tests.tui.scenarios import SIZE
from tests.tui.stores import LONG_SESSION, SHORT_SESSION
from tui.app import ConvoApp
from tui.screens.transcript import PAGE, TranscriptScreen, resume_command
from tui.widgets.transcript_view import TranscriptView
from tui.widgets.window import MAX_ROWS


def _store_seqs(session_id: int, after: int, count: int) -> list[int]:
    return [m.seq for m in pages.messages_after(session_id, after, count)]


async def test_open_20000_message_session_and_jump_to_end(long_store: Path) -> None:
    session = pages.session(LONG_SESSION)
    first, last, count = pages.seq_bounds(session.id)
    assert count == 20_000
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_session(pilot, "Long haul")
        assert view.current is not None and view.current.seq == first
        assert len(view.window) < 100  # one page, not the session
        await pilot.press("G")
        await settle(pilot)
        assert view.current is not None and view.current.seq == last
        assert not view.window.has_after
        assert round(view.scroll_y) == view.max_scroll_y
        await pilot.press("g")
        await settle(pilot)
        assert view.current is not None and view.current.seq == first
        assert round(view.scroll_y) == 0
        await pilot.press("end")
        await settle(pilot)
        assert view.current is not None and view.current.seq == last


async def test_scrolling_slides_a_bounded_window_in_store_order(long_store: Path) -> None:
    session = pages.session(LONG_SESSION)
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_session(pilot, "Long haul")
        view.window.max_rows = 100  # slide after a few pages instead of a few dozen
        for _ in range(4):
            await pilot.press(*["pagedown"] * 5)
            await settle(pilot)
            # Bounded: the cap, plus at most one page the reader is still close to.
            assert len(view.window) <= 100 + PAGE
        seqs = [r.seq for r in view.window.rows]
        assert seqs[0] > 1, "the window slid: early messages were dropped"
        # Exactly the store's rows, in the store's order, with none missing in between.
        assert seqs == _store_seqs(session.id, seqs[0] - 1, len(seqs))
        top = view.current
        await pilot.press(*["pageup"] * 12)
        await settle(pilot)
        seqs = [r.seq for r in view.window.rows]
        assert seqs == _store_seqs(session.id, seqs[0] - 1, len(seqs))
        assert view.current is not None and top is not None and view.current.seq < top.seq


async def test_cursor_keys_move_by_message(long_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_session(pilot, "Long haul")
        start = view.current
        await pilot.press("j", "j", "j")
        assert view.current is not None and start is not None
        assert view.current.seq > start.seq
        assert view.window.rows.index(view.current) == 3
        await pilot.press("k")
        assert view.window.rows.index(view.current) == 2


async def test_brackets_jump_between_prompts(long_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_session(pilot, "Long haul")
        await pilot.press("right_square_bracket")
        await settle(pilot)
        first = view.current
        assert first is not None and first.kind == "prompt"
        await pilot.press("right_square_bracket")
        await settle(pilot)
        second = view.current
        assert second is not None and second.kind == "prompt" and second.seq > first.seq
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert view.current is not None and view.current.seq == first.seq


async def test_find_within_session_with_next_and_previous(long_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_session(pilot, "Long haul")
        await pilot.press("slash", *"Prompt 3000:", "enter")
        await settle(pilot)
        found = view.current
        assert found is not None and "Prompt 3000:" in found.text
        assert len(view.window) <= MAX_ROWS
        await pilot.press("slash", *"module_42.py and", "enter")
        await settle(pilot)
        after = view.current
        assert after is not None and "module_42.py and" in after.text and after.seq > found.seq
        await pilot.press("n")
        await settle(pilot)
        later = view.current
        assert later is not None and "module_42.py and" in later.text and later.seq > after.seq
        await pilot.press("N")
        await settle(pilot)
        assert view.current is not None and view.current.seq == after.seq
        await pilot.press("slash", *"no such text anywhere", "enter")
        await settle(pilot)
        assert any("No “no such text anywhere” in this session" in m for m in messages(app))


def _status(app: ConvoApp) -> str:
    return str(app.screen.query_one("#transcript-status", Static).content)


async def test_find_says_which_match_of_how_many_and_wraps_with_a_notice(long_store: Path) -> None:
    """A large session's find comes from the index: 34 prompts name module_42.py."""
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_session(pilot, "Long haul")
        await pilot.press("slash", *"module_42.py and", "enter")
        await settle(pilot)
        first = view.current
        assert first is not None and "module_42.py and" in first.text
        assert "match 1 of 34 (n/N)" in _status(app)
        await pilot.press("n")
        await settle(pilot)
        assert "match 2 of 34" in _status(app)
        await pilot.press("N", "N")
        await settle(pilot)
        last = view.current
        assert last is not None and last.seq > first.seq and "module_42.py and" in last.text
        assert "match 34 of 34" in _status(app)
        assert "Wrapped to the last match." in messages(app)
        await pilot.press("n")
        await settle(pilot)
        assert view.current is not None and view.current.seq == first.seq
        assert "Wrapped to the first match." in messages(app)
        await pilot.press("k")  # off the match: the count stays, the position goes
        assert "34 matches (n/N)" in _status(app)


async def test_find_in_a_small_session_counts_by_a_substring_walk(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_session(pilot, "Timestamp-Based")
        await pilot.press("slash", *"withexception", "enter")  # LIKE: any case
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TranscriptScreen) and screen.find is not None
        assert not screen.find.indexed and screen.matches is not None
        assert screen.matches.seqs == (7, 35, 42)
        assert view.current is not None and view.current.seq == 7
        assert "match 1 of 3" in _status(app)


def _block_text(view: TranscriptView) -> str:
    start, end = view.window.span(view.cursor)
    return "\n".join(view.window.line(i).text for i in range(start, end))  # type: ignore[union-attr]


def _on_screen(view: TranscriptView, text: str) -> bool:
    top = round(view.scroll_y)
    lines = [view.window.line(top + i) for i in range(view.scrollable_content_region.height)]
    return any(line is not None and text in line.text for line in lines)


async def test_find_opens_the_folded_block_that_holds_the_match(long_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_session(pilot, "Quick fix")  # loaded whole: the match is in the window
        await pilot.press("slash", *"hoist it", "enter")
        await settle(pilot)
        row = view.current
        assert row is not None and row.kind == "thinking"
        assert "hoist it" in _block_text(view) and _on_screen(view, "hoist it")
        start, end = view.window.span(view.cursor)
        assert end - start > 1, "the thinking block is open"
        # A match deep in a long tool result: the open block starts near it.
        await pilot.press("slash", *"line 37 of", "enter")
        await settle(pilot)
        assert view.current is not None and view.current.kind == "tool_result"
        assert "lines above" in _block_text(view) and _on_screen(view, "line 37 of")


async def test_find_far_away_opens_its_fold_in_the_new_window(long_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_session(pilot, "Long haul")
        await pilot.press("slash", *"Turn 3000:", "enter")
        await settle(pilot)
        row = view.current
        assert row is not None and row.kind == "thinking" and "Turn 3000:" in row.text
        assert _on_screen(view, "Turn 3000:")


async def test_tools_and_thinking_toggle_and_expand_one(long_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_session(pilot, "Quick fix")
        tools = [i for i, r in enumerate(view.window.rows) if r.kind == "tool_result"]
        thinking = [i for i, r in enumerate(view.window.rows) if r.kind == "thinking"]

        def height(i: int) -> int:
            start, end = view.window.span(i)
            return end - start

        assert all(height(i) == 1 for i in tools + thinking)
        await pilot.press("t")
        await settle(pilot)
        assert all(height(i) > 10 for i in tools)
        assert all(height(i) == 1 for i in thinking)
        await pilot.press("T")
        await settle(pilot)
        assert all(height(i) > 1 for i in thinking)
        await pilot.press("t")
        await settle(pilot)
        view.move_cursor(tools[0])
        await pilot.press("enter")
        await settle(pilot)
        assert height(tools[0]) > 10 and all(height(i) == 1 for i in tools[1:])


async def test_copy_message_and_resume_command(long_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_session(pilot, "Quick fix")
        await pilot.press("j")
        row = view.current
        assert row is not None
        await pilot.press("y")
        assert app.clipboard == row.text
        assert any(m.startswith(f"Copied message #{row.seq}") for m in messages(app))
        await pilot.press("r")
        assert app.clipboard == f"cd /home/dev/src/longhaul && claude --resume {SHORT_SESSION}"


async def test_export_streams_the_session_to_markdown(long_store: Path, tmp_path: Path) -> None:
    app = ConvoApp(export_dir=tmp_path / "out")
    async with app.run_test(size=SIZE) as pilot:
        await open_session(pilot, "Quick fix")
        await pilot.press("e")
        await settle(pilot)
    target = tmp_path / "out" / f"claude-{SHORT_SESSION}.md"
    assert target.exists()
    text = target.read_text()
    assert text.startswith("# Quick fix: a 20-message session")
    assert "Prompt 0: look at module_0.py" in text and "Done with step 2" in text
    assert any(str(target) in m for m in messages(app))


async def test_resize_and_theme_rerender_the_window(long_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_session(pilot, "Quick fix")
        seen = view.current
        wide = max(s.cell_length for block in view.window.blocks for s in block)
        await pilot.resize_terminal(70, 30)
        await settle(pilot)
        narrow = max(s.cell_length for block in view.window.blocks for s in block)
        assert wide > 70 >= narrow
        assert view.current == seen
        keys = list(view.window.keys)
        app.theme = "textual-light"
        await settle(pilot)
        assert view.window.keys != keys and view.render_options().palette.dark is False


async def test_escape_goes_back_to_the_list(long_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_session(pilot, "Quick fix")
        assert isinstance(app.screen, TranscriptScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TranscriptScreen)


def _session(agent: str, native: str, project: str | None) -> SessionRow:
    return SessionRow(
        id=1,
        agent=agent,
        native_id=native,
        parent_id=None,
        project=project,
        title=None,
        git_branch=None,
        model=None,
        started_at=None,
        updated_at=None,
        message_count=0,
        child_count=0,
        source_path=None,
        gone_since=None,
    )


def test_resume_commands_per_agent() -> None:
    assert resume_command(_session("codex", "abc", None)) == "codex resume abc"
    assert (
        resume_command(_session("claude", "p#agent-1", "/w d")) == "cd '/w d' && claude --resume p"
    )
    assert resume_command(_session("gemini", "x", None)) is None


async def test_a_large_session_finds_without_the_index_too(
    long_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No full-text index (switched off here): the find walks the session by LIKE instead."""
    monkeypatch.setenv("CONVO_FTS", "off")
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        view = await open_session(pilot, "Long haul")
        await pilot.press("slash", *"module_42.py and", "enter")
        await settle(pilot)
        assert view.current is not None and "module_42.py and" in view.current.text
        assert "match 1 of 34 (n/N)" in _status(app)
