"""A store made by `convo ingest` from every agent's real samples is healthy at once: `convo check`
exits 0 right after the ingest and again after a second ingest of the same logs (no file reads as
changed, opencode's JSON trees and databases included)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.store.ingest.opencode_data import (
    T0,
    add_message,
    add_part,
    add_session,
    make_db,
    text,
    user,
)
from tests.store.repair.repair_support import cli, kinds

AGENTS = ("claude-code", "codex", "gemini", "opencode")
OPENCODE_TREES = (
    "opencode/iansherr__claude-code-log/test/fixtures/opencode",
    "opencode/git-ai-project__git-ai/tests/fixtures/opencode-storage",
)
"""opencode's legacy JSON trees, which opencode keeps in a folder named `storage/`."""


def every_fixture(tmp_path: Path) -> list[Path]:
    """Every agent's samples copied under `tmp_path`, as paths for `convo ingest`: the agents'
    folders (walked), opencode's trees in `storage/` folders, and Gemini's JSON documents, which
    sit outside a `chats/` folder here and so are named one by one."""
    logs = tmp_path / "logs"
    for agent in AGENTS:
        shutil.copytree(FIXTURES / agent, logs / agent)
    paths = [logs / agent for agent in AGENTS]
    for n, tree in enumerate(OPENCODE_TREES):
        storage = tmp_path / f"opencode-{n}" / "storage"
        shutil.copytree(FIXTURES / tree, storage)
        paths.append(storage.parent)
    paths += sorted((logs / "gemini").rglob("*.json"))
    return paths


def test_every_agents_fixtures_ingest_into_a_healthy_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    paths = [str(p) for p in every_fixture(tmp_path)]
    for attempt in ("first ingest", "second ingest"):
        code, out = cli(capsys, db, "ingest", *paths, "--json")
        assert code == 0, out
        if attempt == "second ingest":
            assert out["files_read"] == 0 and out["messages_added"] == 0, out
        code, report = cli(capsys, db, "check", "--json")
        assert (code, report["problems"]) == (0, []), (attempt, report)
    code, out = cli(capsys, db, "sessions", "--json", "--all")
    assert {s["agent"] for s in out} == {"claude", "codex", "gemini", "opencode"}


def test_opencode_database_with_its_wal_is_healthy_after_ingest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A running opencode keeps its database in WAL mode with a `-wal` beside it: the source
    row's size and mtime cover both files, and so does the check."""
    path = tmp_path / "opencode" / "opencode.db"
    conn = make_db(path, wal=True)
    try:
        conn.execute("PRAGMA wal_autocheckpoint = 0")  # the rows stay in the -wal
        add_session(conn, "ses_1")
        add_message(conn, "msg_1", "ses_1", user(T0))
        add_part(conn, "prt_1", "msg_1", "ses_1", text("hello"), T0)
        assert Path(f"{path}-wal").stat().st_size > 0
        db = tmp_path / "s.db"
        for _attempt in range(2):
            code, out = cli(capsys, db, "ingest", str(path), "--json")
            assert code == 0 and out["errors"] == [], out
            code, report = cli(capsys, db, "check", "--json")
            assert (code, report["problems"]) == (0, []), report
        add_message(conn, "msg_2", "ses_1", user(T0 + 1))  # opencode writes on: changed
        code, report = cli(capsys, db, "check", "--json")
        assert code == 1 and kinds(report) == {"log_changed"}, report
    finally:
        conn.close()
