"""Live following: lines appended to a log while the app is open appear, in seq order."""

from __future__ import annotations

import asyncio
from pathlib import Path

from store import pages
from tests.tui.scenarios import SIZE, settle
from tests.tui.stores import FIXTURES
from tui.app import ConvoApp
from tui.screens.sessions import SessionsScreen
from tui.screens.transcript import TranscriptScreen

SAMPLE = FIXTURES / (
    "claude-code/daaain__claude-code-log/test/test_data/representative_messages.jsonl"
)


async def _until(pilot, condition, seconds: float = 8.0) -> bool:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.1)):
        if condition():
            return True
        await asyncio.sleep(0.1)
        await pilot.pause()
    return bool(condition())


async def test_appended_line_appears_in_open_transcript(db_file: Path, tmp_path: Path) -> None:
    logs = tmp_path / "agent-logs" / "-tmp"
    logs.mkdir(parents=True)
    lines = SAMPLE.read_bytes().splitlines(keepends=True)
    log = logs / "live.jsonl"
    log.write_bytes(b"".join(lines[:6]))
    app = ConvoApp(backfill_roots=[tmp_path / "agent-logs"])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SessionsScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TranscriptScreen)
        screen = app.screen
        shown = lambda: [r.seq for r in screen.view.window.rows]  # noqa: E731
        before = shown()
        assert len(before) == 6
        with log.open("ab") as fh:  # the agent writes two more lines
            fh.write(b"".join(lines[6:8]))
        assert await _until(pilot, lambda: len(shown()) == 8), shown()
        after = shown()
        assert after[:6] == before and after == sorted(after)
        session = pages.session(screen.session.id)
        assert [m.seq for m in pages.messages_after(session.id)] == after  # as committed
        assert app.is_live(session.id)
        await pilot.press("escape")
        await settle(pilot)
        assert "live" in str(app.screen.query_one("DataTable").get_row_at(0))
