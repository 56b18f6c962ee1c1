"""Fixtures for the app's tests: seeded stores on disk (built once per run, copied per test),
a frozen clock and time zone, and no blinking cursor, so pictures are the same on every run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input

from store import db as store_db
from tests.tui import stores
from tui import formatting


@pytest.fixture(autouse=True)
def _steady(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Frozen clock, UTC, no cursor blink, no theme from the environment."""
    monkeypatch.setattr(formatting, "clock", lambda: stores.FROZEN_NOW)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
    monkeypatch.delenv("CONVO_THEME", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    yield
    time.tzset()


@pytest.fixture(scope="session")
def fixture_store_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real samples of tests/fixtures, ingested once per test run (per xdist worker)."""
    folder = tmp_path_factory.mktemp("fixture-store")
    path = stores.build_fixture_store(folder / "convo.db")
    return stores.add_failures(path, folder / "logs")


@pytest.fixture(scope="session")
def long_store_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20,000-message session (and a 20-message one), ingested once per test run."""
    folder = tmp_path_factory.mktemp("long-store")
    return stores.build_long_store(folder / "convo.db", folder / "logs")


@pytest.fixture
def fixture_store(fixture_store_master: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the fixture store, open."""
    path = stores.copy_store(fixture_store_master, tmp_path / "store.db")
    store_db.open_store(path)
    yield path
    store_db.close()


@pytest.fixture
def damaged_store(fixture_store: Path) -> Path:
    """A private copy of the fixture store, open, with one orphan part row (see damage_store)."""
    return stores.damage_store(fixture_store)


@pytest.fixture
def gapped_store(fixture_store: Path) -> Path:
    """A private copy of the fixture store, open, with a gap in every session (see gap_store)."""
    return stores.gap_store(fixture_store)


@pytest.fixture
def mixed_store(fixture_store: Path) -> Path:
    """A private copy of the fixture store, open, with an orphan part and a gap in every session."""
    return stores.gap_store(stores.damage_store(fixture_store))


@pytest.fixture
def unindexed_store(fixture_store: Path) -> Path:
    """A private copy of the fixture store, open, with 37% of its messages waiting to be indexed
    for search (see unindex_store)."""
    store_db.close()
    stores.unindex_store(fixture_store)
    store_db.open_store(fixture_store)
    return fixture_store


@pytest.fixture
def long_store(long_store_master: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the 20,000-message store, open."""
    path = stores.copy_store(long_store_master, tmp_path / "store.db")
    store_db.open_store(path)
    yield path
    store_db.close()


@pytest.fixture(scope="session")
def many_store_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """450 small sessions: more than two keyset pages of the session list."""
    folder = tmp_path_factory.mktemp("many-store")
    return stores.build_many_store(folder / "convo.db", folder / "logs")


@pytest.fixture
def many_store(many_store_master: Path, tmp_path: Path) -> Iterator[Path]:
    path = stores.copy_store(many_store_master, tmp_path / "store.db")
    store_db.open_store(path)
    yield path
    store_db.close()
