"""One snapshot per screen and dialog: tests/tui/scenarios.py at a fixed size and clock."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.scenarios import SCENARIOS, SIZE, Scenario
from tui.app import ConvoApp


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_screen(scenario: Scenario, snap_compare: Any, request: pytest.FixtureRequest) -> None:
    """The screen each scenario ends on, with the store it names."""
    request.getfixturevalue(f"{scenario.store}_store")
    app = ConvoApp()
    app.index_pacing = dict(scenario.index_pacing)
    assert snap_compare(app, terminal_size=SIZE, run_before=scenario.steps)
