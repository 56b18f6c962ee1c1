"""Help lists the current screen's keys; every binding is described; the palette reaches all."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.binding import Binding

from tests.tui.helpers import open_session, settle
from tests.tui.scenarios import SIZE
from tui.app import ConvoApp
from tui.errors import ErrorModal
from tui.screens.failures import FailuresScreen, FailureTable
from tui.screens.help import HelpScreen, key_rows
from tui.screens.modals import FailureModal, ProjectModal
from tui.screens.search import SearchScreen
from tui.screens.sessions import SessionsScreen, SessionTable
from tui.screens.transcript import TranscriptScreen
from tui.widgets.hit_list import HitList
from tui.widgets.tables import ListTable
from tui.widgets.transcript_view import TranscriptView

OWN = [
    ConvoApp,
    SessionsScreen,
    SessionTable,
    TranscriptScreen,
    TranscriptView,
    FailuresScreen,
    FailureTable,
    ListTable,
    HelpScreen,
    ErrorModal,
    FailureModal,
    ProjectModal,
    SearchScreen,
    HitList,
]


@pytest.mark.parametrize("owner", OWN, ids=[c.__name__ for c in OWN])
def test_every_binding_has_a_description_and_a_tooltip(owner: type) -> None:
    for binding in owner.BINDINGS:
        assert isinstance(binding, Binding)
        assert binding.description, f"{owner.__name__}: {binding.key}"
        assert binding.tooltip, f"{owner.__name__}: {binding.key}"


async def test_question_mark_lists_the_keys_of_the_transcript(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_session(pilot, "Timestamp-Based")
        transcript = app.screen
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        described = {description for _, description, _ in key_rows(transcript)}
        assert {
            "Next prompt",
            "Find",
            "Tools",
            "Thinking",
            "Copy",
            "Export",
            "Resume",
            "Next message",
            "Top",
            "End",
            "Failures",
            "Help",
        } <= described
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is transcript


async def test_palette_reaches_every_screen_and_action(fixture_store: Path) -> None:
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await open_session(pilot, "Timestamp-Based")
        names = {c.title for c in app.get_system_commands(app.screen)}
        assert {
            "Sessions",
            "Failures",
            "Help",
            "Find",
            "Export",
            "Resume",
            "Tools",
            "Next prompt",
            "Quit",
            "Theme",
        } <= names
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Tools")
        await command.callback()  # type: ignore[misc]
        await settle(pilot)
        assert app.screen.query_one(TranscriptView).show_tools
        go_back = next(c for c in app.get_system_commands(app.screen) if c.title == "Sessions")
        go_back.callback()
        await settle(pilot)
        assert isinstance(app.screen, SessionsScreen)
