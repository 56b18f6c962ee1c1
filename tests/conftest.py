"""Fixtures shared by every test: a real store file in a temp folder, logs kept out of $HOME."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from store import db as store_db
from store import logs

FIXTURES = Path(__file__).parent / "fixtures"
CLAUDE = FIXTURES / "claude-code"
CODEX = FIXTURES / "codex"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test reads the developer's agent logs or writes to their store or log folder."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CONVO_LOG", str(tmp_path / "logs" / "convo.log"))
    monkeypatch.setenv("CONVO_DB", str(tmp_path / "default.db"))
    for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_DATA_HOME", "OPENCODE_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    logs.setup(tmp_path / "logs" / "convo.log")
    yield
    store_db.close()


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    """An open, empty store on disk."""
    path = tmp_path / "convo.db"
    store_db.open_store(path)
    return path


def copy_fixture(relative: str | Path, dest: Path) -> Path:
    """Copy one fixture file (path relative to tests/fixtures) into `dest`, keeping its name."""
    src = FIXTURES / relative
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / src.name
    shutil.copyfile(src, target)
    return target
