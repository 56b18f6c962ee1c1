"""All checks of one run read one snapshot of the store (one read transaction): an ingest that
commits in another process meanwhile never makes the check report damage that is not there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from store.demo import corpus as demo
from tests.store.repair.repair_support import cli, kinds

TRUE_WHILE_INGESTING = {"log_new", "log_changed", "search_backlog"}
"""What a check may rightly report while files are still being ingested."""


def test_check_during_an_ingest_in_another_process_finds_nothing_false(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = tmp_path / "logs"
    demo.generate(logs, preset="small", seed=3, scale=0.3)
    db = tmp_path / "s.db"
    code, out = cli(capsys, db, "ingest", str(logs / "codex"), "--json")
    assert code == 0, out
    writer = subprocess.Popen(
        [sys.executable, "-m", "tui.cli.main", "--db", str(db), "ingest", str(logs / "claude")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).parents[3],
    )
    try:
        seen = []
        while writer.poll() is None or len(seen) < 5:
            code, report = cli(capsys, db, "check", "--json", "--no-logs")
            assert code in (0, 1), report
            seen.append(writer.poll() is None)
            assert kinds(report) <= TRUE_WHILE_INGESTING, report
        assert any(seen), "the ingest ended before a check ran beside it"
    finally:
        writer.kill()
        writer.wait()
