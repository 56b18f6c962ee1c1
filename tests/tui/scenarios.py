"""The app's pictures as keyboard scenarios: the snapshot tests and `make screenshots` replay them.

Each scenario names the seeded store it needs (`fixture`: the real samples plus recorded
failures; `long`: a 20,000-message session) and drives the app by keys from the session list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from textual.pilot import Pilot

SIZE = (120, 36)
"""Terminal size of every picture."""

Steps = Callable[[Pilot[None]], Awaitable[None]]


async def settle(pilot: Pilot[None], *, skip: tuple[str, ...] = ()) -> None:
    """Wait until every worker is done and the screen has caught up (twice: results start
    follow-up work, such as a page rendered at a new width). Workers of the groups in `skip`
    (a repair held between batches, say) are not waited for."""
    for _ in range(3):
        # The live follower runs for the app's whole life: everything else must finish.
        # (An empty list would mean "all workers" to wait_for_complete.)
        others = [w for w in pilot.app.workers if w.group not in ("follow", *skip)]
        if others:
            await pilot.app.workers.wait_for_complete(others)
        await pilot.pause()


async def open_matching(pilot: Pilot[None], text: str) -> None:
    """Filter the list by `text` and open the first session it shows."""
    await settle(pilot)
    await pilot.press("slash", *text, "enter")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


async def sessions(pilot: Pilot[None]) -> None:
    await settle(pilot)


async def sessions_filtered(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("slash", *"team", "enter")
    await settle(pilot)
    await pilot.press("space")
    await settle(pilot)


async def projects(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("p")
    await settle(pilot)


async def transcript(pilot: Pilot[None]) -> None:
    await open_matching(pilot, "Timestamp-Based")
    await pilot.press(*"jjjjjjjj", "enter")
    await settle(pilot)


async def transcript_long_end(pilot: Pilot[None]) -> None:
    await open_matching(pilot, "Long haul")
    await pilot.press("G")
    await settle(pilot)


async def transcript_find(pilot: Pilot[None]) -> None:
    await open_matching(pilot, "Long haul")
    await pilot.press("slash", *"module_42.py and", "enter")
    await settle(pilot)
    await pilot.press("n")
    await settle(pilot)


async def failures(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("f")
    await settle(pilot)


async def failure_detail(pilot: Pilot[None]) -> None:
    await failures(pilot)
    await pilot.press("enter")
    await settle(pilot)


async def help_transcript(pilot: Pilot[None]) -> None:
    await open_matching(pilot, "Timestamp-Based")
    await pilot.press("question_mark")
    await settle(pilot)


async def repair(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("R")
    await settle(pilot)


async def repair_plan(pilot: Pilot[None]) -> None:
    """Two problems; the second one's plan: seq values before → after."""
    await repair(pilot)
    await pilot.press("j")
    await settle(pilot)


async def repair_confirm(pilot: Pilot[None]) -> None:
    await repair(pilot)
    await pilot.press("a")
    await settle(pilot)


async def repair_healthy(pilot: Pilot[None]) -> None:
    await repair(pilot)


HELD = {"batch_rows": 50, "batch_s": None, "pause_s": 3600.0}
"""Repair pacing that holds the job after its first batch (the pause wakes on stop and exit),
so a running job can be photographed."""


async def start_held_repair(pilot: Pilot[None]) -> None:
    """Open the repair screen, apply every fix, and wait for the job's first batch."""
    app = pilot.app
    app.repair_pacing = dict(HELD)  # type: ignore[attr-defined]
    await repair(pilot)
    await pilot.press("a", "y")
    for _ in range(500):
        if getattr(app, "repair_job", None) is not None:
            break
        await asyncio.sleep(0.01)
    await settle(pilot, skip=("repair",))


async def repair_running(pilot: Pilot[None]) -> None:
    await start_held_repair(pilot)


async def repair_background(pilot: Pilot[None]) -> None:
    await start_held_repair(pilot)
    await pilot.press("escape")
    await settle(pilot, skip=("repair",))


async def searched(pilot: Pilot[None], *, skip: tuple[str, ...] = ()) -> None:
    """Wait until the search screen's query has run (its debounce timer, then its worker)."""
    for _ in range(500):
        if not getattr(pilot.app.screen, "pending", False):
            break
        await pilot.pause(0.02)
    await settle(pilot, skip=skip)


async def search_for(pilot: Pilot[None], text: str, *, skip: tuple[str, ...] = ()) -> None:
    """Open the search screen from the session list and type `text` into its query."""
    await settle(pilot, skip=skip)
    await pilot.press("S")
    await settle(pilot, skip=skip)
    await pilot.press(*text)
    await searched(pilot, skip=skip)


async def search(pilot: Pilot[None]) -> None:
    """Hits for two words, the cursor on the first (the filter keys in the footer)."""
    await search_for(pilot, "hello world")
    await pilot.press("enter")
    await settle(pilot)


async def search_none(pilot: Pilot[None]) -> None:
    await search_for(pilot, "xylophone")


async def search_bad(pilot: Pilot[None]) -> None:
    await search_for(pilot, "-hello")


HELD_INDEX = {"batch_rows": 5, "batch_s": None, "pause_s": 3600.0}
"""`search_index` pacing that holds the job after its first batch (the pause wakes on exit)."""


async def search_building(pilot: Pilot[None]) -> None:
    """A query while the search index is still being filled (the job held after a batch)."""
    for _ in range(500):
        if getattr(pilot.app, "index_status", "").startswith("Indexing for search: "):
            break
        await pilot.pause(0.02)
    await search_for(pilot, "hello", skip=("search-index",))


@dataclass(frozen=True)
class Scenario:
    name: str
    """File name of the picture (`screenshots/<name>.svg`) and the test id."""
    store: str
    """`fixture`, `long`, `damaged` (the fixture store with an orphan part row), `gapped` (a gap
    in every session's seq), `mixed` (both kinds of damage) or `unindexed` (37% of the messages
    waiting for the search index): which seeded store the app opens."""
    steps: Steps
    index_pacing: dict[str, Any] = field(default_factory=dict)
    """Pacing of the app's background `search_index` job (empty: the measured defaults)."""


SCENARIOS = (
    Scenario("sessions", "fixture", sessions),
    Scenario("sessions-filtered", "fixture", sessions_filtered),
    Scenario("projects", "fixture", projects),
    Scenario("transcript", "fixture", transcript),
    Scenario("transcript-long-end", "long", transcript_long_end),
    Scenario("transcript-find", "long", transcript_find),
    Scenario("search", "fixture", search),
    Scenario("search-none", "fixture", search_none),
    Scenario("search-bad-query", "fixture", search_bad),
    Scenario("search-building", "unindexed", search_building, HELD_INDEX),
    Scenario("failures", "fixture", failures),
    Scenario("failure-detail", "fixture", failure_detail),
    Scenario("help", "fixture", help_transcript),
    Scenario("repair", "damaged", repair),
    Scenario("repair-plan", "mixed", repair_plan),
    Scenario("repair-confirm", "damaged", repair_confirm),
    Scenario("repair-healthy", "fixture", repair_healthy),
    Scenario("repair-running", "gapped", repair_running),
    Scenario("repair-background", "gapped", repair_background),
)
