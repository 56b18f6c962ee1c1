"""The app's benchmark measurements, for `tests/bench/run.py` (and runnable alone).

Each measurement runs the real `ConvoApp` headless on a store file, in a child process when its
start-up time or memory matters, and returns plain numbers; run.py turns them into ratio rows:

- `first_frame(db)`: seconds from process launch to the first frame with sessions shown, and the
  same for an empty Textual app (the baseline). Target: under 2x.
- `last_page(db, big, small)`: seconds to open a session and show its last page (`G`), for the
  largest session and for a small one (the baseline). Target: within 2x.
- `scroll_memory(db, big)`: RSS after opening the largest session, and the peak while paging
  through it from the first message to the last. Target: peak under 1.5x.

    .venv/bin/python -m tests.bench.tui_metrics first-frame DB
    .venv/bin/python -m tests.bench.tui_metrics last-page DB BIG_NATIVE_ID SMALL_NATIVE_ID
    .venv/bin/python -m tests.bench.tui_metrics scroll-memory DB BIG_NATIVE_ID
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SIZE = (120, 36)


def _child(*args: str) -> dict[str, Any]:
    """Run this module in a fresh process with `args`; returns the JSON line it prints."""
    cmd = [sys.executable, "-m", "tests.bench.tui_metrics", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} child failed: {done.stderr[-800:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def first_frame(db: Path, repeats: int = 3) -> tuple[float, float]:
    """(median seconds to sessions shown, median seconds to an empty app's first frame)."""
    app = [_child("frame", str(db), repr(time.time()))["seconds"] for _ in range(repeats)]
    empty = [_child("frame", "-", repr(time.time()))["seconds"] for _ in range(repeats)]
    return statistics.median(app), statistics.median(empty)


def last_page(db: Path, big: str, small: str) -> tuple[float, float]:
    """(median seconds to open `big` and show its end, the same for `small`)."""
    data = _child("last-page", str(db), big, small)
    return data["big"], data["small"]


def scroll_memory(db: Path, big: str) -> dict[str, Any]:
    """RSS (KB) after opening `big`, peak RSS while paging to its end, and how many pages."""
    return _child("scroll-memory", str(db), big)


# ---------------------------------------------------------------------------------------------
# Child bodies


def _rss_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def _until(predicate: Any, limit_s: float = 120.0) -> None:
    """Yield to the app's loop until `predicate()` holds (a bench may poll; tests may not)."""
    deadline = time.perf_counter() + limit_s
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(0.001)


def _first_frame_clock(app: Any, shown: Any) -> list[float]:
    """Record when the app first writes a frame for which `shown()` holds."""
    stamps: list[float] = []
    display = app._display

    def timed(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if renderable is not None and not stamps and shown():
            stamps.append(time.time())

    app._display = timed
    return stamps


async def _frame(db: str, launched: float) -> dict[str, float]:
    from textual.app import App

    if db == "-":
        app: App[Any] = App()
        stamps = _first_frame_clock(app, lambda: True)
    else:
        from textual.widgets import DataTable

        from store import db as store_db
        from tui.app import ConvoApp

        store_db.open_store(db, migrate=False)
        app = ConvoApp()

        def shown() -> bool:
            tables = app.screen.query(DataTable)
            return bool(tables) and tables.first().row_count > 0

        stamps = _first_frame_clock(app, shown)
    async with app.run_test(size=SIZE):
        await _until(lambda: bool(stamps))
    return {"seconds": stamps[0] - launched}


async def _open(app: Any, native: str, at_end: bool) -> Any:
    from store import pages
    from tui.screens.transcript import TranscriptScreen
    from tui.widgets.transcript_view import TranscriptView

    row = pages.session(native)
    last = pages.seq_bounds(row.id)[1]
    await app.push_screen(TranscriptScreen(row))
    await _until(lambda: isinstance(app.screen, TranscriptScreen))
    view = app.screen.query_one(TranscriptView)
    await _until(lambda: bool(view.window.rows))
    if at_end:
        view.action_jump_end()
        await _until(lambda: view.current is not None and view.current.seq == last)
    return view


async def _last_page(db: str, big: str, small: str, repeats: int = 7) -> dict[str, float]:
    from store import db as store_db
    from tui.app import ConvoApp

    store_db.open_store(db, migrate=False)
    app = ConvoApp()
    times: dict[str, list[float]] = {"big": [], "small": []}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for _ in range(repeats):
            for name, native in (("small", small), ("big", big)):
                start = time.perf_counter()
                await _open(app, native, at_end=True)
                times[name].append(time.perf_counter() - start)
                app.pop_screen()
                await pilot.pause()
    return {k: statistics.median(v[1:]) for k, v in times.items()}


async def _scroll_memory(db: str, big: str) -> dict[str, Any]:
    from store import db as store_db
    from tui.app import ConvoApp

    store_db.open_store(db, migrate=False)
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = await _open(app, big, at_end=False)
        await pilot.pause()
        gc.collect()
        opened = peak = _rss_kb()
        pages = 0
        start = time.perf_counter()
        while view.window.has_after or round(view.scroll_y) < view.max_scroll_y:
            view.action_page_down()
            pages += 1
            await asyncio.sleep(0)
            await _until(lambda: not view.fetching)
            if pages % 20 == 0:
                peak = max(peak, _rss_kb())
        peak = max(peak, _rss_kb())
        return {
            "opened_kb": opened,
            "peak_kb": peak,
            "pages": pages,
            "seconds": time.perf_counter() - start,
            "last_seq": view.current.seq,
        }


def small_session(db: Path, near: int = 20) -> str:
    """The native id of the top-level session whose size is closest to `near` messages."""
    from store import db as store_db

    store_db.open_store(db, migrate=False)
    try:
        with store_db.reading() as conn:
            row = conn.execute(
                "SELECT native_id FROM session WHERE parent_id IS NULL AND message_count > 0 "
                "ORDER BY ABS(message_count - ?), id LIMIT 1",
                (near,),
            ).fetchone()
    finally:
        store_db.close()
    return str(row[0])


def main(argv: list[str]) -> int:
    command, *args = argv
    bodies = {
        "frame": lambda: _frame(args[0], float(args[1])),
        "last-page": lambda: _last_page(*args),
        "scroll-memory": lambda: _scroll_memory(*args),
    }
    if command == "first-frame":
        app_s, empty_s = first_frame(Path(args[0]))
        print(json.dumps({"sessions_shown_s": app_s, "empty_app_s": empty_s}))
        return 0
    print(json.dumps(asyncio.run(bodies[command]())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
