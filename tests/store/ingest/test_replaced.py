"""A log file renamed over by another session's log: the session the file held before is not
hidden (as the rows of a rewritten log are) but kept like a session whose log is gone: still
listed, marked gone, every message still shown, also after a rebuild, and `check` is healthy."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CLAUDE, CODEX
from tests.store.repair.repair_support import cli

REAL = CLAUDE / "daaain__claude-code-log/test/test_data/real_projects"
CASES = {
    "claude": (
        ".claude/projects/-work-app",
        REAL / "-experiments-ideas/03eb5929-52b3-4b13-ada3-b93ae35806b8.jsonl",
        REAL / "-src-experiments-claude_p/29ccd257-68b1-427f-ae5f-6524b7cb6f20.jsonl",
    ),
    "codex": (
        ".codex/sessions/2026/01/02",
        CODEX / "yoavf__ai-sessions/examples/codex-pomodor-timer.jsonl",
        CODEX / "daaain__claude-code-log/test/test_data/codex/sessions/2026/01/02/"
        "rollout-2026-01-02T03-04-05-11111111-1111-4111-8111-111111111111.jsonl",
    ),
}


def _listed(capsys: pytest.CaptureFixture[str], db: Path) -> dict[str, dict[str, Any]]:
    code, rows = cli(capsys, db, "sessions", "--json")
    assert code == 0, rows
    return {r["native_id"]: r for r in rows}


def _messages(capsys: pytest.CaptureFixture[str], db: Path, native: str) -> list[Any]:
    code, out = cli(capsys, db, "show", native, "--json")
    assert code == 0, out
    return [(m["seq"], m["role"], m["kind"], m["text"]) for m in out["messages"]]


@pytest.mark.parametrize("agent", sorted(CASES))
def test_log_renamed_over_by_another_sessions_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], agent: str
) -> None:
    folder, first, second = CASES[agent]
    logs = Path.home() / folder
    logs.mkdir(parents=True)
    old_log, new_log = logs / "a.jsonl", logs / "b.jsonl"
    shutil.copyfile(first, old_log)
    shutil.copyfile(second, new_log)
    db = tmp_path / "s.db"
    assert cli(capsys, db, "ingest", str(logs))[0] == 0
    before = _listed(capsys, db)
    assert len(before) == 2
    (old,) = [n for n, r in before.items() if r["source_path"] == str(old_log)]
    shown = _messages(capsys, db, old)
    assert shown

    new_log.replace(old_log)  # `mv b.jsonl a.jsonl`: the old session's log is gone
    code, out = cli(capsys, db, "ingest", str(logs), "--json")
    assert code == 0 and out["files_rewritten"] == 1, out

    after = _listed(capsys, db)  # no --all, no --stale: listed like any session
    assert old in after, f"the old session is hidden: {sorted(after)}"
    assert after[old]["gone_since"] is not None
    assert after[old]["message_count"] == before[old]["message_count"]
    assert _messages(capsys, db, old) == shown
    code, report = cli(capsys, db, "check", "--json")
    assert (code, report["problems"]) == (0, []), report
    assert "log_gone_marked" in {n["kind"] for n in report["notes"]}

    assert cli(capsys, db, "ingest", str(logs))[0] == 0  # nothing changes on the next pass
    assert _listed(capsys, db)[old] == after[old]
    code, out = cli(capsys, db, "rebuild-index", str(logs))
    assert code == 0, out
    rebuilt = _listed(capsys, db)
    assert rebuilt[old]["gone_since"] is not None
    assert rebuilt[old]["message_count"] == before[old]["message_count"]
    assert _messages(capsys, db, old) == shown
    code, report = cli(capsys, db, "check", "--json")
    assert (code, report["problems"]) == (0, []), report
