"""`make screenshots`: replay each scenario of tests/tui/scenarios.py into screenshots/<name>.svg.

Run as `python -m tests.tui.screenshots [NAME ...] [--out DIR]`. The stores are built fresh in a
temporary folder with the same seeded data, frozen clock and time zone as the snapshot tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from textual.widgets import Input

from store import db as store_db
from store import logs
from tests.tui import stores
from tests.tui.scenarios import SCENARIOS, SIZE, Scenario
from tui import formatting
from tui.app import ConvoApp

ROOT = Path(__file__).resolve().parents[2]


async def shoot(scenario: Scenario, store: Path, out: Path) -> Path:
    """Run one scenario on a copy of `store` and save its final screen as SVG."""
    copy = stores.copy_store(store, store.with_name(f"{scenario.name}.db"))
    store_db.open_store(copy)
    app = ConvoApp()
    app.index_pacing = dict(scenario.index_pacing)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await scenario.steps(pilot)
        path = app.save_screenshot(f"{scenario.name}.svg", path=str(out))
    store_db.close()
    return Path(path)


def _steady() -> None:
    formatting.clock = lambda: stores.FROZEN_NOW
    os.environ["TZ"] = "UTC"
    time.tzset()
    Input._toggle_cursor = lambda self: None  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="only these scenarios")
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args(argv)
    chosen = [s for s in SCENARIOS if not args.names or s.name in args.names]
    args.out.mkdir(parents=True, exist_ok=True)
    _steady()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        logs.setup(folder / "convo.log")
        fixture = stores.add_failures(
            stores.build_fixture_store(folder / "fixture.db"), folder / "logs"
        )
        built = {
            "fixture": fixture,
            "long": stores.build_long_store(folder / "long.db", folder / "long-logs"),
            "damaged": stores.damage_store(stores.copy_store(fixture, folder / "damaged.db")),
            "gapped": stores.gap_store(stores.copy_store(fixture, folder / "gapped.db")),
            "mixed": stores.gap_store(
                stores.damage_store(stores.copy_store(fixture, folder / "mixed.db"))
            ),
            "unindexed": stores.unindex_store(stores.copy_store(fixture, folder / "unindexed.db")),
        }
        for scenario in chosen:
            path = asyncio.run(shoot(scenario, built[scenario.store], args.out))
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
