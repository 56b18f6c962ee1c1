"""Whatever the store does (locked, full, corrupt, gone), no traceback reaches the terminal."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from store import pages
from store.errors import StoreUnusable
from tests.tui.helpers import settle
from tests.tui.scenarios import SIZE
from tui.app import ConvoApp
from tui.errors import ErrorModal

ROOT = Path(__file__).resolve().parents[2]


def _raise(error: BaseException) -> Any:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise error

    return fail


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("database is locked"),
        sqlite3.OperationalError("database or disk is full"),
        sqlite3.DatabaseError("database disk image is malformed"),
        StoreUnusable("cannot open the store at /x: gone"),
    ],
    ids=["locked", "full", "corrupt", "unusable"],
)
async def test_store_errors_in_workers_become_notifications(
    fixture_store: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    monkeypatch.setattr(pages, "sessions", _raise(error))
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notes = [n for n in app._notifications if n.severity == "error"]
        assert len(notes) == 1 and str(error) in notes[0].message
        assert not notes[0].markup
        assert app.is_running
        await pilot.press("f")  # the app still works
        await settle(pilot)
        assert app.screen.query("FailureTable")


async def test_a_damaged_store_names_the_command_that_repairs_it(
    fixture_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        pages, "sessions", _raise(sqlite3.DatabaseError("database disk image is malformed"))
    )
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notes = [n for n in app._notifications if n.severity == "error"]
        assert len(notes) == 1 and notes[0].title == "Store damaged"
        assert "\n" not in notes[0].message and "`convo repair`" in notes[0].message
        assert app.is_running


async def test_unexpected_errors_show_an_error_modal(
    fixture_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "failures", _raise(RuntimeError("[bold]not markup[/]")))
    app = ConvoApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, ErrorModal)
        assert "RuntimeError: [bold]not markup[/]" in app.screen.detail
        await pilot.press("c")
        assert app.clipboard.endswith(app.screen.detail)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ErrorModal)


def test_corrupt_store_ends_with_one_line(tmp_path: Path) -> None:
    """`convo browse` on a file that is not a database: one line and a non-zero exit."""
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    result = subprocess.run(
        [sys.executable, "-m", "tui", "browse", "--db", str(bad), "--no-backfill"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={"HOME": str(tmp_path), "CONVO_LOG": str(tmp_path / "log"), "PATH": "/usr/bin"},
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "convo: error" in result.stderr


async def test_a_session_whose_raw_records_are_damaged_opens_and_exports(
    fixture_store: Path, tmp_path: Path
) -> None:
    """The transcript and its Markdown export read no raw record: damaged ones change nothing."""
    from store import db as store_db
    from tests.tui.helpers import open_session

    store_db.close()
    with closing(sqlite3.connect(fixture_store, isolation_level=None)) as conn:
        conn.execute(
            "UPDATE message SET raw = CAST(substr(raw, 1, 4) || zeroblob(16) AS BLOB) "
            "WHERE raw IS NOT NULL"
        )
    store_db.open_store(fixture_store)
    app = ConvoApp(export_dir=tmp_path / "out")
    async with app.run_test(size=SIZE) as pilot:
        shown = await open_session(pilot, "Timestamp-Based")
        assert shown.current is not None
        await pilot.press("e")
        await settle(pilot)
        assert not [n for n in app._notifications if n.severity == "error"]
        assert app.is_running and not isinstance(app.screen, ErrorModal)
    assert [p.suffix for p in (tmp_path / "out").iterdir()] == [".md"]
