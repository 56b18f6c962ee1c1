"""Small helpers for the Pilot tests: waiting for workers, reading what the app shows."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.tui.scenarios import settle
from tui.app import ConvoApp
from tui.screens.transcript import TranscriptScreen
from tui.widgets.transcript_view import TranscriptView

__all__ = ["messages", "open_session", "settle", "table_keys", "view"]


def table_keys(app: ConvoApp) -> list[str]:
    """Row keys of the active screen's table, top to bottom."""
    table = app.screen.query_one(DataTable)
    return [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]


def view(app: ConvoApp) -> TranscriptView:
    assert isinstance(app.screen, TranscriptScreen)
    return app.screen.query_one(TranscriptView)


def messages(app: ConvoApp) -> list[str]:
    """(Notification message) texts the app has shown, oldest first."""
    return [n.message for n in app._notifications]


async def open_session(pilot: Pilot[None], text: str) -> TranscriptView:
    """Filter the list by `text`, open the first match, and wait for its first page."""
    await settle(pilot)
    await pilot.press("slash", *text, "enter")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    app = pilot.app
    assert isinstance(app, ConvoApp)
    return view(app)
